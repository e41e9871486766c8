"""The variant tools: int8 really quantises the LSTM and the head, or says which op it did not."""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch
from onnx import TensorProto, helper
from onnxruntime.quantization import quantize_dynamic

from lstm_forecast.models.lstm_export import export_checkpoint
from lstm_forecast.models.lstm_network import LSTMForecaster
from lstm_forecast.onnx import optimisation as variants

EXPORT = {"exporter": "dynamo", "opset": 18, "dynamic_window": True, "isolate_process": True}
WINDOW, N_FEATURES = 12, 6


def _export(hidden: int) -> onnx.ModelProto:
    torch.manual_seed(0)
    model = LSTMForecaster(
        n_features=N_FEATURES,
        horizon=4,
        quantiles=(0.1, 0.5, 0.9),
        hidden_size=hidden,
        window_length=WINDOW,
    )
    checkpoint = {"state_dict": model.state_dict(), "hyper_parameters": dict(model.hparams)}
    exported = export_checkpoint(checkpoint, EXPORT)
    onnx.helper.set_model_props(exported, {"contract": '{"made": "here"}'})
    return exported


@pytest.fixture(scope="module", params=[32, 64])
def exported(request) -> tuple[int, onnx.ModelProto]:
    return request.param, _export(request.param)


def _run(model: onnx.ModelProto, windows: np.ndarray) -> np.ndarray:
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return session.run(None, {"window": windows})[0]


def _initializers(model: onnx.ModelProto) -> set[str]:
    return {tensor.name for tensor in model.graph.initializer}


def test_int8_quantises_the_lstm_and_the_head_at_hidden_32_and_64(exported):
    hidden, fp32 = exported
    lstm = next(node for node in fp32.graph.node if node.op_type == "LSTM")
    if hidden == 64:
        # The trap: at this size the exporter builds R with Slice/Concat, not as a constant.
        assert lstm.input[2] not in _initializers(fp32)
    int8 = variants.quantise_int8(fp32)
    ops = variants.quantised_ops(int8)
    assert ops.get("DynamicQuantizeLSTM") == 1
    assert ops.get("MatMulInteger", 0) + ops.get("DynamicQuantizeMatMul", 0) == 1
    assert not any(node.op_type in {"LSTM", "Gemm"} for node in int8.graph.node)
    # The weights shrink 4x; the graph's own bytes do not. Measured with torch 2.13: 0.42 of
    # the fp32 file at hidden 32, lower at 64 (more of the file is weights).
    assert variants.size_bytes(int8) <= variants.size_bytes(fp32) / (2 if hidden == 32 else 3)
    windows = np.random.default_rng(0).standard_normal((5, WINDOW, N_FEATURES)).astype(np.float32)
    np.testing.assert_allclose(_run(int8, windows), _run(fp32, windows), atol=0.05)
    assert {p.key: p.value for p in int8.metadata_props}["contract"] == '{"made": "here"}'


def test_an_lstm_left_in_float32_is_named(exported):
    _, fp32 = exported
    prepared = variants._single_opsets(fp32)
    # Quantise the head only, as quantize_dynamic does silently when W/R are not constants.
    with tempfile.TemporaryDirectory() as folder:
        source, target = Path(folder) / "in.onnx", Path(folder) / "out.onnx"
        onnx.save(prepared, source)
        quantize_dynamic(str(source), str(target), op_types_to_quantize=["Gemm", "MatMul"])
        head_only = onnx.load(target)
    with pytest.raises(variants.QuantisationError, match=r"left LSTM node .* in float32"):
        variants.require_quantised(fp32, head_only, variants.DEFAULT_OP_TYPES)


def test_quantisation_of_no_weight_op_is_refused(exported):
    _, fp32 = exported
    with pytest.raises(variants.QuantisationError, match=r"Nothing to quantise: .* no Conv op"):
        variants.quantise_int8(fp32, op_types=("Conv",))
    with pytest.raises(variants.QuantisationError, match="op_types is empty"):
        variants.quantise_int8(fp32, op_types=())


def test_a_graph_without_weights_has_nothing_to_quantise():
    graph = helper.make_graph(
        [helper.make_node("Relu", ["x"], ["y"])],
        "no_weights",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["n", 3])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["n", 3])],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    with pytest.raises(variants.QuantisationError, match="Nothing to quantise"):
        variants.quantise_int8(model)


def test_optimise_keeps_the_outputs_and_the_metadata(exported):
    _, fp32 = exported
    optimised = variants.optimise(fp32, "extended")
    windows = np.random.default_rng(1).standard_normal((3, WINDOW, N_FEATURES)).astype(np.float32)
    np.testing.assert_allclose(_run(optimised, windows), _run(fp32, windows), rtol=1e-5, atol=1e-6)
    assert {p.key: p.value for p in optimised.metadata_props}["contract"] == '{"made": "here"}'
    with pytest.raises(ValueError, match="level must be one of"):
        variants.optimise(fp32, "fastest")


def test_metadata_a_tool_dropped_is_stamped_back(exported):
    _, fp32 = exported
    stripped = onnx.ModelProto()
    stripped.CopyFrom(fp32)
    del stripped.metadata_props[:]
    restored = variants.carry_metadata(fp32, stripped)
    assert {p.key: p.value for p in restored.metadata_props} == {
        p.key: p.value for p in fp32.metadata_props
    }


def test_price_parity_figures():
    reference = np.full((2, 3, 3), 100.0)
    reference[..., 0], reference[..., 2] = 90.0, 110.0
    candidate = reference + 1.0
    actual = np.full((2, 3), 100.0)
    parity = variants.price_parity(reference, candidate, actual, (0.05, 0.5, 0.95))
    assert parity["max_abs_price_diff"] == pytest.approx(1.0)
    assert parity["mean_abs_price_diff"] == pytest.approx(1.0)
    assert parity["max_rel_price_diff"] == pytest.approx(1 / 90)
    assert parity["coverage_90_fp32"] == parity["coverage_90"] == 1.0
    assert parity["crps_change"] > 0
