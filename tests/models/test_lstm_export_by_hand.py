"""The LSTM's export guards, each reached directly: the exporter's arguments are recorded
(names, symbolic axes, opset, example batch, eval mode, no gradients), the process rule of
pitfall (b) is checked with a recording pool, and one real export per exporter runs here.

``_STATE`` remembers whether this process exported an LSTM already; mutmut forks every
mutant's tests from a process that did, so each test starts from a known state.
"""

from __future__ import annotations

import io
from types import SimpleNamespace
from typing import ClassVar

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch
from onnx import TensorProto, helper

from lstm_forecast.errors import ArtifactError
from lstm_forecast.models import fresh_process, lstm_export
from lstm_forecast.models.lstm_export import export_checkpoint, export_module
from lstm_forecast.models.lstm_network import LSTMForecaster, model_from_checkpoint
from lstm_forecast.onnx.contract import INPUT_NAME, OUTPUT_NAME, shape_of

WINDOW, FEATURES = 4, 3


@pytest.fixture(autouse=True)
def _fresh_process_state():
    before = dict(lstm_export._STATE)
    lstm_export._STATE["lstm_exported_here"] = False
    yield
    lstm_export._STATE.update(before)


def _checkpoint() -> dict:
    torch.manual_seed(0)
    model = LSTMForecaster(
        n_features=FEATURES, horizon=2, quantiles=(0.1, 0.5, 0.9), hidden_size=3, dropout=0.5,
        window_length=WINDOW,
    )  # fmt: skip
    return {"state_dict": model.state_dict(), "hyper_parameters": dict(model.hparams)}


def _onnx_bytes(opset: int = 18, *, traced: bool = False) -> bytes:
    """A one-node graph; ``traced`` adds the debugging metadata the exporter writes."""
    node = helper.make_node("Identity", [INPUT_NAME], [OUTPUT_NAME])
    if traced:
        node.doc_string = "stack_trace"
        node.metadata_props.add(key="pkg.torch.onnx.stack_trace", value="/home/x.py")
    graph = helper.make_graph(
        [node],
        "g",
        [helper.make_tensor_value_info(INPUT_NAME, TensorProto.FLOAT, ["b", 2])],
        [helper.make_tensor_value_info(OUTPUT_NAME, TensorProto.FLOAT, ["b", 2])],
    )
    imports = [helper.make_opsetid("com.microsoft", 1), helper.make_opsetid("", opset)]
    return helper.make_model(graph, opset_imports=imports).SerializeToString()


def test_an_unknown_exporter_is_refused_by_name():
    assert lstm_export.EXPORTERS == ("dynamo", "torchscript")
    with pytest.raises(ValueError) as err:
        export_checkpoint({}, {"exporter": "tf", "opset": 18})
    assert str(err.value) == ("export.exporter must be one of ('dynamo', 'torchscript'), not 'tf'.")


def test_a_process_claims_its_one_export_once():
    assert lstm_export._claim_this_process()
    assert lstm_export._STATE["lstm_exported_here"]
    assert not lstm_export._claim_this_process()


_adopted: list = []


class _Pool:
    """Runs the submitted call inline and records how the pool was made."""

    made: ClassVar[list[dict]] = []

    def __init__(self, **kwargs) -> None:
        _Pool.made.append(kwargs)

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        return None

    def submit(self, fn, *args):
        return SimpleNamespace(result=lambda: fn(*args))


@pytest.fixture
def recorded(monkeypatch):
    calls = []
    _Pool.made = []
    _adopted.clear()
    monkeypatch.setattr(lstm_export, "ProcessPoolExecutor", _Pool)
    # The child's first step; inline here, it would reset this worker's logging.
    monkeypatch.setattr(fresh_process, "adopt", _adopted.append)

    def export_bytes(checkpoint, export):
        calls.append((checkpoint, export))
        return _onnx_bytes(export["opset"])

    monkeypatch.setattr(lstm_export, "_export_bytes", export_bytes)
    return calls


def test_the_first_export_of_a_process_runs_in_it_and_later_ones_in_a_fresh_one(recorded):
    export = {"exporter": "dynamo", "opset": 18}
    model = export_checkpoint({"c": 1}, export)
    assert recorded == [({"c": 1}, export)] and _Pool.made == [] and _adopted == []
    assert {op.domain: op.version for op in model.opset_import}[""] == 18
    export_checkpoint({"c": 2}, export)  # isolate_process defaults to on
    assert recorded[1] == ({"c": 2}, export)
    assert len(_Pool.made) == 1
    assert _Pool.made[0]["max_workers"] == 1
    assert _Pool.made[0]["mp_context"].get_start_method() == "forkserver"
    assert _adopted == [fresh_process.caller_state()]  # the child runs as this process would
    export_checkpoint({"c": 3}, export | {"isolate_process": False})
    assert len(_Pool.made) == 1 and len(recorded) == 3


def test_without_isolation_the_first_export_does_not_claim_the_process(recorded):
    export_checkpoint({}, {"exporter": "torchscript", "opset": 17, "isolate_process": False})
    assert not lstm_export._STATE["lstm_exported_here"]


def test_an_opset_other_than_asked_is_refused(monkeypatch, recorded):
    monkeypatch.setattr(lstm_export, "_export_bytes", lambda c, e: _onnx_bytes(17))
    with pytest.raises(ArtifactError) as err:
        export_checkpoint({}, {"exporter": "dynamo", "opset": 11})
    assert str(err.value) == (
        "Asked for ONNX opset 11 but the dynamo exporter produced opset 17. Set "
        "export.opset=17, or use export.exporter=torchscript for opsets below 18."
    )


@pytest.fixture
def exporter(monkeypatch):
    """torch.onnx.export replaced by a recorder of its arguments and of the call's context."""
    calls = []

    def export(model, args, *rest, **kwargs):
        calls.append(
            {
                "args": args,
                "rest": rest,
                "kwargs": kwargs,
                "training": model.training,
                "grad": torch.is_grad_enabled(),
            }
        )
        if kwargs["dynamo"]:
            return SimpleNamespace(
                model_proto=onnx.load_model_from_string(_onnx_bytes(traced=True))
            )
        rest[0].write(_onnx_bytes(traced=True))
        return None

    monkeypatch.setattr(torch.onnx, "export", export)
    return calls


def _traced_nothing(payload: bytes) -> None:
    model = onnx.load_model_from_string(payload)
    assert not [n for n in model.graph.node if n.doc_string or n.metadata_props]


@pytest.mark.parametrize("dynamic_window", [True, False, None])
def test_dynamo_gets_names_symbolic_axes_the_opset_and_a_batch_of_two(exporter, dynamic_window):
    model = model_from_checkpoint(_checkpoint()).train()
    export = {"exporter": "dynamo", "opset": 19}
    if dynamic_window is not None:
        export["dynamic_window"] = dynamic_window
    _traced_nothing(export_module(model, export))
    assert lstm_export._STATE["lstm_exported_here"]
    (call,) = exporter
    assert not call["training"] and not call["grad"]
    (example,) = call["args"]
    assert example.shape == (2, WINDOW, FEATURES) and not example.any()
    kwargs = call["kwargs"]
    axes = kwargs.pop("dynamic_shapes")[INPUT_NAME]
    assert kwargs == {
        "dynamo": True,
        "input_names": [INPUT_NAME],
        "output_names": [OUTPUT_NAME],
        "opset_version": 19,
        "verbose": False,
    }
    assert (axes[0].__name__, axes[0].min) == ("batch", 1)
    if dynamic_window is False:
        assert set(axes) == {0}
    else:
        assert set(axes) == {0, 1}
        assert (axes[1].__name__, axes[1].min) == ("window", 2)


@pytest.mark.parametrize("dynamic_window", [True, False])
def test_torchscript_gets_names_dynamic_axes_and_the_opset(exporter, dynamic_window):
    model = model_from_checkpoint(_checkpoint())
    export = {"exporter": "torchscript", "opset": 17, "dynamic_window": dynamic_window}
    _traced_nothing(export_module(model, export))
    (call,) = exporter
    assert not call["training"] and not call["grad"]
    assert isinstance(call["rest"][0], io.BytesIO)
    window_axes = {0: "batch", 1: "window"} if dynamic_window else {0: "batch"}
    assert call["kwargs"] == {
        "dynamo": False,
        "input_names": [INPUT_NAME],
        "output_names": [OUTPUT_NAME],
        "opset_version": 17,
        "dynamic_axes": {INPUT_NAME: window_axes, OUTPUT_NAME: {0: "batch"}},
    }


def _run(model: onnx.ModelProto, windows: np.ndarray) -> np.ndarray:
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return session.run([OUTPUT_NAME], {INPUT_NAME: windows})[0]


# The legacy exporter's own notices (deprecated, traced): about torch, not this project.
@pytest.mark.filterwarnings("ignore:You are using the legacy TorchScript:DeprecationWarning")
@pytest.mark.filterwarnings("ignore:The feature will be removed:DeprecationWarning")
@pytest.mark.filterwarnings("ignore::torch.jit.TracerWarning")
@pytest.mark.filterwarnings("ignore:Exporting a model to ONNX with a batch_size:UserWarning")
def test_a_real_export_in_this_process_agrees_with_torch():
    # torchscript: a dynamo export takes 3-15 s per mutant (tests/models/test_lstm_export.py
    # exports with dynamo, in the suite).
    checkpoint = _checkpoint()
    export = {"exporter": "torchscript", "opset": 17, "isolate_process": False}
    model = export_checkpoint(checkpoint, export)
    assert [i.name for i in model.graph.input] == [INPUT_NAME]
    assert [o.name for o in model.graph.output] == [OUTPUT_NAME]
    batch, _, features = shape_of(model.graph.input[0])
    assert isinstance(batch, str) and features == FEATURES
    assert "Dropout" not in {node.op_type for node in model.graph.node}
    windows = np.random.default_rng(1).normal(size=(5, WINDOW, FEATURES)).astype(np.float32)
    with torch.inference_mode():
        expected = model_from_checkpoint(checkpoint)(torch.from_numpy(windows)).numpy()
    np.testing.assert_allclose(_run(model, windows), expected, rtol=1e-4, atol=1e-6)
