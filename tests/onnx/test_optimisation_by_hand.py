"""The variants' helpers on graphs built by hand, with answers worked out in each test.

Tiny graphs (a MatMul, a Gemm, an LSTM of 2 units) instead of an exported forecaster: each
test runs in milliseconds, so mutation testing reaches every helper directly.
"""

from __future__ import annotations

import logging
import os

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from lstm_forecast.onnx import optimisation

FLOAT = TensorProto.FLOAT


def _model(nodes, inputs, outputs, initializers=(), opsets=(("", 18),), **props) -> onnx.ModelProto:
    graph = helper.make_graph(nodes, "by_hand", inputs, outputs, list(initializers))
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid(d, v) for d, v in opsets])
    helper.set_model_props(model, props)
    return model


def _matmul(columns: int = 3) -> onnx.ModelProto:
    """``y = x @ W`` with ``W[4, columns]`` an initializer; values -1.27 … 1.27 by 0.01s."""
    weights = np.linspace(-1.27, 1.27, 4 * columns, dtype=np.float32).reshape(4, columns)
    return _model(
        [helper.make_node("MatMul", ["x", "W"], ["y"], name="head")],
        [helper.make_tensor_value_info("x", FLOAT, ["n", 4])],
        [helper.make_tensor_value_info("y", FLOAT, ["n", columns])],
        [numpy_helper.from_array(weights, "W")],
        contract='{"made": "by hand"}',
    )


def _lstm(recurrence_from_input: bool = False) -> onnx.ModelProto:
    """One LSTM of 2 units over 3 features; W and R initializers (R a graph input if asked)."""
    rng = np.random.default_rng(0)
    w = numpy_helper.from_array(rng.standard_normal((1, 8, 3)).astype(np.float32), "W")
    r = numpy_helper.from_array(rng.standard_normal((1, 8, 2)).astype(np.float32), "R")
    inputs = [helper.make_tensor_value_info("X", FLOAT, [5, "n", 3])]
    if recurrence_from_input:
        inputs.append(helper.make_tensor_value_info("R", FLOAT, [1, 8, 2]))
    return _model(
        [helper.make_node("LSTM", ["X", "W", "R"], ["Y"], name="lstm", hidden_size=2)],
        inputs,
        [helper.make_tensor_value_info("Y", FLOAT, [5, 1, "n", 2])],
        [w] if recurrence_from_input else [w, r],
        contract='{"made": "by hand"}',
    )


def test_weight_ops_sees_initializers_constants_and_what_is_computed_from_them():
    x = helper.make_tensor_value_info("x", FLOAT, ["n", 2])
    out = [helper.make_tensor_value_info(name, FLOAT, None) for name in ("a", "b", "c", "d")]
    half = numpy_helper.from_array(np.ones((1, 2), np.float32), "half")
    constant = helper.make_tensor("k", FLOAT, [2, 2], [1.0] * 4)
    model = _model(
        [
            helper.make_node("MatMul", ["x", "w"], ["a"], name="from_initializer"),
            helper.make_node("Constant", [], ["k"], value=constant),
            helper.make_node("MatMul", ["x", "k"], ["b"], name="from_constant"),
            # The dynamo exporter's form: weights concatenated from constants.
            helper.make_node("Concat", ["half", "half"], ["joined"], axis=0),
            helper.make_node("MatMul", ["x", "joined"], ["c"], name=""),
            # Weights that depend on the input are not constant, nor is what follows them.
            helper.make_node("Relu", ["x"], ["live"]),
            helper.make_node("Gemm", ["x", "live"], ["d"], name="from_input"),
        ],
        [x],
        out,
        [numpy_helper.from_array(np.eye(2, dtype=np.float32), "w"), half],
    )
    assert optimisation.weight_ops(model, ("MatMul", "Gemm")) == [
        ("from_initializer", "MatMul"),
        ("from_constant", "MatMul"),
        ("c", "MatMul"),  # a node with no name is named by its output
    ]
    assert optimisation.weight_ops(model, ("Gemm",)) == []
    assert optimisation.weight_ops(model, ("Relu",)) == []  # no weight input at all


def test_an_lstm_counts_only_when_both_w_and_r_are_constant():
    assert optimisation.weight_ops(_lstm(), ("LSTM",)) == [("lstm", "LSTM")]
    assert optimisation.weight_ops(_lstm(recurrence_from_input=True), ("LSTM",)) == []
    assert optimisation.weight_ops(_lstm(), ("MatMul",)) == []


def test_an_op_with_too_few_inputs_has_no_constant_weights():
    model = _lstm()
    del model.graph.node[0].input[2:]  # W only: R is missing, not constant
    assert optimisation.weight_ops(model, ("LSTM",)) == []


def test_quantised_ops_counts_each_quantised_type_and_nothing_else():
    nodes = [
        helper.make_node(op, [], [f"o{i}"])
        for i, op in enumerate(
            ["MatMulInteger", "MatMulInteger", "DynamicQuantizeLSTM", "MatMul", "Relu"]
        )
    ]
    model = _model(nodes, [], [helper.make_tensor_value_info("o0", FLOAT, None)])
    assert optimisation.quantised_ops(model) == {"MatMulInteger": 2, "DynamicQuantizeLSTM": 1}


def test_one_opset_per_domain_at_its_highest_version():
    model = _matmul()
    opsets = [("", 17), ("ai.onnx", 18), ("com.microsoft", 1), ("", 16)]
    del model.opset_import[:]
    model.opset_import.extend(helper.make_opsetid(d, v) for d, v in opsets)
    single = optimisation._single_opsets(model)
    assert sorted((o.domain, o.version) for o in single.opset_import) == [
        ("", 18),
        ("com.microsoft", 1),
    ]
    assert len(model.opset_import) == 4  # the source is left as it was
    assert single.graph == model.graph


def test_carry_metadata_gives_exactly_the_sources_props_producer_and_doc(caplog):
    source = _matmul()
    source.producer_name, source.producer_version, source.doc_string = "me", "1.2", "why"
    result = _matmul()
    del result.metadata_props[:]
    helper.set_model_props(result, {"onnx.quant.pre_process": "onnxruntime.quant"})
    result.producer_name, result.producer_version = "onnx.quantize", "0.1.0"
    with caplog.at_level(logging.INFO, logger=optimisation.__name__):
        carried = optimisation.carry_metadata(source, result)
    assert carried is result
    assert {p.key: p.value for p in carried.metadata_props} == {"contract": '{"made": "by hand"}'}
    assert (carried.producer_name, carried.producer_version, carried.doc_string) == (
        "me",
        "1.2",
        "why",
    )
    assert caplog.messages == ["Re-stamped metadata_props ['contract'] lost by onnxruntime's tool."]
    caplog.clear()
    with caplog.at_level(logging.INFO, logger=optimisation.__name__):
        optimisation.carry_metadata(source, _matmul())  # nothing lost: nothing to say
    assert caplog.text == ""


def test_require_quantised_names_what_is_missing():
    source = _matmul()
    with pytest.raises(
        optimisation.QuantisationError,
        match=r"^Nothing to quantise: the graph has no LSTM/Gemm op with constant weights, so",
    ):
        optimisation.require_quantised(source, source, ("LSTM", "Gemm"))
    with pytest.raises(
        optimisation.QuantisationError,
        match=r"^int8 quantisation left MatMul node 'head' in float32 \(found quantised: none\)",
    ):
        optimisation.require_quantised(source, source, ("MatMul",))
    nothing = _model([], [], [])
    with pytest.raises(
        optimisation.QuantisationError,
        match=r"^Nothing was quantised: \['MatMul'\] did not become "
        r"\['DynamicQuantizeMatMul', 'MatMulInteger', 'MatMulIntegerToFloat'\]\.$",
    ):
        # Conv has no quantised form listed: it adds nothing to the names, and no error.
        optimisation.require_quantised(source, nothing, ("MatMul", "Conv"))


def test_every_op_left_in_float_is_named_with_the_fix():
    two = _both()
    with pytest.raises(optimisation.QuantisationError) as raised:
        optimisation.require_quantised(two, two, ("MatMul", "LSTM"))
    assert str(raised.value) == (
        "int8 quantisation left MatMul node 'head', LSTM node 'lstm' in float32 (found "
        "quantised: none). An LSTM is only quantised when its W and R are graph constants; "
        "check that quant_pre_process folded them, or drop the op from variants.int8.op_types."
    )


def _both() -> onnx.ModelProto:
    """The MatMul and the LSTM side by side in one graph."""
    matmul, lstm = _matmul(), _lstm()
    graph = matmul.graph
    graph.node.extend(lstm.graph.node)
    graph.input.extend(lstm.graph.input)
    graph.output.extend(lstm.graph.output)
    graph.initializer.extend(t for t in lstm.graph.initializer if t.name != "W")
    renamed = numpy_helper.to_array(next(t for t in lstm.graph.initializer if t.name == "W"))
    graph.initializer.append(numpy_helper.from_array(renamed, "W_lstm"))
    graph.node[-1].input[1] = "W_lstm"
    return matmul


def test_only_the_op_types_asked_for_are_quantised():
    int8 = optimisation.quantise_int8(_both(), op_types=("MatMul",))
    assert optimisation.quantised_ops(int8) == {"MatMulInteger": 1}
    assert [n.op_type for n in int8.graph.node if n.op_type == "LSTM"] == ["LSTM"]
    with pytest.raises(
        optimisation.QuantisationError, match=r"^op_types is empty: nothing would be quantised\.$"
    ):
        optimisation.quantise_int8(_both(), op_types=())


def test_scratch_files_live_in_a_folder_the_cleanup_recognises(tmp_path, monkeypatch):
    """A killed run's scratch folder is removed by name (``datasets._stale``); nothing is
    written to the working folder."""
    from lstm_forecast.datasets import _stale

    prefixes = []  # ours: onnxruntime's quantiser makes its own (pre.quant., ort.quant.)
    real = optimisation.tempfile.TemporaryDirectory

    def recording(*args, **kwargs):
        if (kwargs.get("prefix") or "").startswith(_stale.SCRATCH_PREFIX) or not kwargs:
            prefixes.append(kwargs.get("prefix") or "unnamed")
        return real(*args, **kwargs)

    monkeypatch.setattr(optimisation.tempfile, "TemporaryDirectory", recording)
    monkeypatch.chdir(tmp_path)
    optimisation.optimise(_matmul())
    optimisation.quantise_int8(_matmul())
    assert [prefix.rsplit("-", 2)[0] for prefix in prefixes] == [
        "lstm-forecast-opt",
        "lstm-forecast-int8",
    ]
    for prefix in prefixes:  # the cleanup's own pattern, with this process's pid
        match = _stale._SCRATCH.match(prefix + "abcd1234")
        assert match and int(match["pid"]) == os.getpid()
    assert list(tmp_path.iterdir()) == []


def _int8_weights(model: onnx.ModelProto) -> np.ndarray:
    (tensor,) = [t for t in model.graph.initializer if t.name.endswith("_quantized")]
    return numpy_helper.to_array(tensor)


def _scales(model: onnx.ModelProto) -> np.ndarray:
    (tensor,) = [t for t in model.graph.initializer if t.name.endswith("_scale")]
    return numpy_helper.to_array(tensor)


def test_int8_weights_by_type_range_and_channel():
    fp32 = _matmul()
    int8 = optimisation.quantise_int8(fp32, op_types=("MatMul",))
    assert optimisation.quantised_ops(int8) == {"MatMulInteger": 1}
    assert {p.key: p.value for p in int8.metadata_props} == {"contract": '{"made": "by hand"}'}
    weights = _int8_weights(int8)
    # Symmetric int8: the largest |weight| 1.27 maps to 127, so the scale is 0.01.
    assert weights.dtype == np.int8 and int(np.abs(weights).max()) == 127
    assert _scales(int8).size == 1 and float(_scales(int8)) == pytest.approx(0.01)
    assert _int8_weights(optimisation.quantise_int8(fp32, weight_type="quint8")).dtype == np.uint8
    # 7-bit weights: onnxruntime's reduced symmetric int8 range is [-64, 64].
    narrow = optimisation.quantise_int8(fp32, reduce_range=True)
    assert int(np.abs(_int8_weights(narrow)).max()) == 64
    # One scale per output column: column j's largest |weight| / 127.
    per_column = optimisation.quantise_int8(fp32, per_channel=True)
    expected = np.abs(numpy_helper.to_array(fp32.graph.initializer[0])).max(axis=0) / 127
    np.testing.assert_allclose(_scales(per_column), expected, rtol=1e-6)
    with pytest.raises(ValueError, match=r"weight_type must be one of \['qint8', 'quint8'\]"):
        optimisation.quantise_int8(fp32, weight_type="int4")


def test_int8_quantises_a_constant_lstm_and_refuses_one_it_cannot():
    int8 = optimisation.quantise_int8(_lstm(), op_types=("LSTM",))
    assert optimisation.quantised_ops(int8) == {"DynamicQuantizeLSTM": 1}
    with pytest.raises(optimisation.QuantisationError, match="Nothing to quantise"):
        optimisation.quantise_int8(_lstm(recurrence_from_input=True))


def test_optimise_defaults_to_the_portable_level_and_keeps_the_contract():
    fp32 = _matmul()
    optimised = optimisation.optimise(fp32)
    assert {p.key: p.value for p in optimised.metadata_props} == {"contract": '{"made": "by hand"}'}
    assert [node.op_type for node in optimised.graph.node] == ["MatMul"]
    for level in ("basic", "all"):
        assert optimisation.optimise(fp32, level).graph.node[0].op_type == "MatMul"
    with pytest.raises(
        ValueError, match=r"^level must be one of \['all', 'basic', 'extended'\], not 'fastest'\.$"
    ):
        optimisation.optimise(fp32, "fastest")


def test_price_parity_in_prices_crps_and_coverage_points():
    """Worked by hand, levels 0.05/0.5/0.95; window 2's actual is not known yet.

    fp32 puts every quantile on the actual (100): CRPS 0, coverage 1. The variant is 1 above
    it in window 0 and 1 below in window 1: CRPS = 2/3 * (0.95 + 0.5 + 0.05) * 1 = 1 (above)
    and 2/3 * (0.05 + 0.5 + 0.95) * 1 = 1 (below); the actual lies outside [q05, q95] both
    times: coverage 0, a change of -1 (100 points). Window 2 (unknown actual) counts in the
    price differences only: 50 on each of its 6 values, so mean (12 * 1 + 6 * 50) / 18.
    """
    reference = np.full((3, 2, 3), 100.0)
    candidate = reference.copy()
    candidate[0] += 1.0
    candidate[1] -= 1.0
    candidate[2] += 50.0
    actual = np.array([[100.0, 100.0], [100.0, 100.0], [100.0, np.nan]])
    parity = optimisation.price_parity(reference, candidate, actual, (0.05, 0.5, 0.95))
    assert parity == {
        "windows": 3,
        "max_abs_price_diff": 50.0,
        "mean_abs_price_diff": pytest.approx(312 / 18),
        "max_rel_price_diff": pytest.approx(0.5),
        "crps_fp32": pytest.approx(0.0),
        "crps": pytest.approx(1.0),
        "crps_change": pytest.approx(1.0),
        "coverage_90_fp32": 1.0,
        "coverage_90": 0.0,
        "coverage_90_change": -1.0,
    }
    # Relative to the fp32 price: 50 on 100 is 0.5 whichever side, so |reference| is used.
    negative = optimisation.price_parity(-reference, -candidate, actual, (0.05, 0.5, 0.95))
    assert negative["max_rel_price_diff"] == pytest.approx(0.5)


def test_price_parity_without_a_90_interval_has_no_coverage():
    prices = np.full((1, 2, 2), 100.0)
    parity = optimisation.price_parity(prices, prices + 3.0, np.full((1, 2), 101.0), (0.25, 0.75))
    assert parity["coverage_90_fp32"] is None
    assert parity["coverage_90"] is None
    assert parity["coverage_90_change"] is None
    # Actual 101. fp32 (100) is 1 below: 2/2 * (0.25 + 0.75) * 1 = 1. The variant (103) is
    # 2 above: 2/2 * (0.75 + 0.25) * 2 = 2. A change of +1.
    assert parity["crps_fp32"] == pytest.approx(1.0)
    assert parity["crps"] == pytest.approx(2.0)
    assert parity["crps_change"] == pytest.approx(1.0)


class _FakeCpuInfo:
    text: str | None = None

    def __init__(self, path: str) -> None:
        assert path == "/proc/cpuinfo"

    def read_text(self) -> str:
        if self.text is None:
            raise OSError("no /proc here")
        return self.text


def test_cpu_flags_reads_the_first_flags_line(monkeypatch):
    monkeypatch.setattr(optimisation, "Path", _FakeCpuInfo)
    _FakeCpuInfo.text = (
        "processor\t: 0\nflags\t\t: fpu avx512f sse avx2 amx_int8\n"
        "bogomips\t: 4000\nflags\t\t: avx_vnni\n"
    )
    assert optimisation.cpu_flags() == ["avx2", "avx512f", "amx_int8"]  # in _CPU_FLAGS' order
    # The flags are everything after the line's first colon, however it is spaced.
    _FakeCpuInfo.text = "flags:avx2 x:y fma\n"
    assert optimisation.cpu_flags() == ["avx2", "fma"]
    _FakeCpuInfo.text = "processor\t: 0\n"
    assert optimisation.cpu_flags() == []
    _FakeCpuInfo.text = None
    assert optimisation.cpu_flags() == []
