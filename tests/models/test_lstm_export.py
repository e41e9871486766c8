"""The exporter's silent failures (a)-(e), each caught by a guard that this file would miss."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch

from lstm_forecast.errors import ArtifactError
from lstm_forecast.models import lstm_export
from lstm_forecast.models.lstm_export import export_checkpoint, export_module
from lstm_forecast.models.lstm_network import LSTMForecaster, model_from_checkpoint
from lstm_forecast.onnx.contract import INPUT_NAME, OUTPUT_NAME, shape_of
from tests.conftest import run_python
from tests.models.conftest import DYNAMO, HORIZON, N_FEATURES, QUANTILES, WINDOW, make_checkpoint


def _run(model: onnx.ModelProto, windows: np.ndarray) -> np.ndarray:
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return session.run([OUTPUT_NAME], {INPUT_NAME: windows})[0]


def _torch(checkpoint: dict, windows: np.ndarray) -> np.ndarray:
    with torch.inference_mode():
        return model_from_checkpoint(checkpoint)(torch.from_numpy(windows)).numpy()


def test_names_and_symbolic_axes(dynamo_export):
    assert shape_of(dynamo_export.graph.input[0])[0] != 1
    assert dynamo_export.graph.input[0].name == INPUT_NAME
    assert dynamo_export.graph.output[0].name == OUTPUT_NAME
    batch, window, features = shape_of(dynamo_export.graph.input[0])
    assert isinstance(batch, str) and isinstance(window, str) and features == N_FEATURES


@pytest.mark.parametrize("batch_size", [1, 7, 64])
def test_a_batch_axis_is_not_fixed_by_the_example(dynamo_export, checkpoint, batch_size):
    # (a): an example of batch 1 would pin the batch axis to 1 and batch 7 would fail.
    windows = np.random.default_rng(batch_size).normal(size=(batch_size, WINDOW, N_FEATURES))
    windows = windows.astype(np.float32)
    np.testing.assert_allclose(
        _run(dynamo_export, windows), _torch(checkpoint, windows), rtol=1e-3, atol=1e-5
    )


@pytest.mark.e2e  # exports in a freshly spawned process
def test_b_a_second_export_in_this_process_keeps_the_window_axis_symbolic(dynamo_export):
    # (b): a second in-process dynamo export of an nn.LSTM pins the sequence length.
    second = export_checkpoint(make_checkpoint(window_length=24, seed=1), DYNAMO)
    for model in (dynamo_export, second):
        assert isinstance(shape_of(model.graph.input[0])[1], str)
    windows = np.zeros((3, 5, N_FEATURES), dtype=np.float32)
    assert _run(second, windows).shape == (3, HORIZON, len(QUANTILES))


def test_c_an_opset_the_exporter_does_not_honour_is_refused(checkpoint):
    # (c): the dynamo exporter silently raises opset 11 to 18.
    with pytest.raises(ArtifactError, match="opset 11 but the dynamo exporter produced opset 18"):
        export_checkpoint(checkpoint, {**DYNAMO, "opset": 11})


def test_c_torchscript_exporter_honours_an_older_opset(checkpoint):
    model = export_checkpoint(checkpoint, {**DYNAMO, "exporter": "torchscript", "opset": 17})
    assert {op.domain: op.version for op in model.opset_import}[""] == 17


def test_d_export_of_a_train_mode_model_has_dropout_off(checkpoint):
    # (d): dropout=0.5 in the checkpoint; exported in train mode it would drop half the units.
    model = LSTMForecaster(**checkpoint["hyper_parameters"])
    model.load_state_dict(checkpoint["state_dict"])
    assert model.training  # what loading a checkpoint gives: train mode
    exported = onnx.load_model_from_string(export_module(model, DYNAMO))
    # onnxruntime runs a Dropout node as the identity, so the outputs below cannot tell;
    # a train-mode export keeps the node in the graph, where another runtime may apply it.
    assert "Dropout" not in {node.op_type for node in exported.graph.node}
    assert not model.training
    windows = np.random.default_rng(0).normal(size=(256, WINDOW, N_FEATURES)).astype(np.float32)
    np.testing.assert_allclose(
        _run(exported, windows), _torch(checkpoint, windows), rtol=1e-3, atol=1e-5
    )
    np.testing.assert_array_equal(_run(exported, windows), _run(exported, windows))


# The legacy exporter's own notices (deprecated, traced): about torch, not this project.
@pytest.mark.filterwarnings("ignore:You are using the legacy TorchScript:DeprecationWarning")
@pytest.mark.filterwarnings("ignore:The feature will be removed:DeprecationWarning")
@pytest.mark.filterwarnings("ignore::torch.jit.TracerWarning")
@pytest.mark.filterwarnings("ignore:Exporting a model to ONNX with a batch_size:UserWarning")
@pytest.mark.parametrize("exporter", ["dynamo", "torchscript"])
def test_e_an_export_carries_no_debugging_metadata_or_local_paths(
    dynamo_export, checkpoint, exporter
):
    # (e): stack traces with this checkout's paths made the file depend on where it was made.
    if exporter == "dynamo":
        model = dynamo_export
    else:  # in this process: pitfall (b) is the dynamo exporter's only
        payload = export_module(model_from_checkpoint(checkpoint), {**DYNAMO, "exporter": exporter})
        model = onnx.load_model_from_string(payload)
    values = [*model.graph.input, *model.graph.output, *model.graph.value_info]
    assert not [n.name for n in model.graph.node if n.metadata_props or n.doc_string]
    assert not [v.name for v in values if v.metadata_props]
    assert not model.graph.metadata_props
    source_root = str(Path(lstm_export.__file__).resolve().parents[2]).encode()
    assert source_root not in model.SerializeToString()
    assert b"stack_trace" not in model.SerializeToString()


def test_unknown_exporter_is_refused(checkpoint):
    with pytest.raises(ValueError, match=r"export\.exporter"):
        export_checkpoint(checkpoint, {**DYNAMO, "exporter": "tensorflow"})


_TWO_EXPORTS = """
import json, sys
sys.path.insert(0, {root!r})
from lstm_forecast.models import lstm_export as te
from lstm_forecast.onnx.contract import shape_of
from tests.models.conftest import DYNAMO, make_checkpoint
spawned = []
class Counting(te.ProcessPoolExecutor):
    def __init__(self, *args, **kwargs):
        spawned.append(1)
        super().__init__(*args, **kwargs)
te.ProcessPoolExecutor = Counting
first = te.export_checkpoint(make_checkpoint(), DYNAMO)
after_first = len(spawned)
second = te.export_checkpoint(make_checkpoint(window_length=24, seed=1), DYNAMO)
symbolic = [isinstance(shape_of(m.graph.input[0])[1], str) for m in (first, second)]
print(json.dumps([after_first, len(spawned), symbolic]))
"""


@pytest.mark.e2e  # exports in a freshly spawned process
def test_b_a_process_exports_its_first_lstm_itself_and_later_ones_in_a_fresh_process():
    # A default run exports one LSTM: no process to spawn, torch imported once. The second
    # export of a process must not run in it (b), so it goes to a spawned one.
    # A fork of the tests' pre-imported process: it has exported nothing, as a new one.
    root = Path(__file__).resolve().parents[2]
    result = run_python(_TWO_EXPORTS.format(root=str(root)), root)
    assert json.loads(result.stdout.strip().splitlines()[-1]) == [0, 1, [True, True]]
