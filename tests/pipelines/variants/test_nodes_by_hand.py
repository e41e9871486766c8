"""The variants stage's nodes on a hand-built model whose prices are known in advance.

The model ignores its window (zero weights) and adds a bias per quantile: scaled forecast
``[-0.1, 0, 0.1]`` at each of 2 steps. With target mean 0, scale 1 and simple returns,
its prices are ``close * (0.9, 1, 1.1)`` of the window's last close. The "variant" adds
``delta`` to every bias: prices ``close * (0.9 + delta, 1 + delta, 1.1 + delta)``, so its
price differences are ``delta * close`` exactly. Closes are 100, 101, … one per hour.
"""

from __future__ import annotations

import dataclasses
import json
import logging

import numpy as np
import onnx
import onnxruntime as ort
import pandas as pd
import pytest
from onnx import TensorProto, helper, numpy_helper

from lstm_forecast.datasets.onnx_variant_dataset import DroppedVariant
from lstm_forecast.errors import LineageError, ValidationFailedError
from lstm_forecast.lineage import fingerprint_bytes, fingerprint_json
from lstm_forecast.onnx import optimisation
from lstm_forecast.onnx.contract import OnnxContract, Scaler, stamp
from lstm_forecast.params import OnnxRuntimeParams
from lstm_forecast.pipelines.variants import nodes
from lstm_forecast.pipelines.variants.params import VariantsParams
from lstm_forecast.timeseries.features import FEATURE_FORMULAS

FEATURES = tuple(FEATURE_FORMULAS)[:2]
WINDOW, HORIZON, LEVELS = 3, 2, (0.05, 0.5, 0.95)
ROWS = 12
ENDS = np.array([4, 7, 10])  # window 10's second step (row 12) is not known yet
RUNTIME = OnnxRuntimeParams()
NO_OPENVINO = {"openvino": False}


def _model(delta: float = 0.0) -> onnx.ModelProto:
    bias = np.array([[-0.1, 0.0, 0.1]] * HORIZON, dtype=np.float32) + np.float32(delta)
    graph = helper.make_graph(
        [
            helper.make_node("MatMul", ["window", "weight"], ["projected"]),
            helper.make_node("Gather", ["projected", "steps"], ["picked"], axis=1),
            helper.make_node("Add", ["picked", "bias"], ["forecast"]),
        ],
        "by_hand",
        [helper.make_tensor_value_info("window", TensorProto.FLOAT, ["b", WINDOW, len(FEATURES)])],
        [helper.make_tensor_value_info("forecast", TensorProto.FLOAT, ["b", HORIZON, 3])],
        [
            numpy_helper.from_array(np.zeros((len(FEATURES), 3), np.float32), "weight"),
            numpy_helper.from_array(np.arange(HORIZON, dtype=np.int64), "steps"),
            numpy_helper.from_array(bias, "bias"),
        ],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    contract = OnnxContract(
        model_kind="tiny",
        feature_names=FEATURES,
        window_length=WINDOW,
        interval="1h",
        horizon=HORIZON,
        quantiles=LEVELS,
        target_kind="simple_return",
        scaler=Scaler((0.0,) * len(FEATURES), (1.0,) * len(FEATURES), (0.0, 0.0), (1.0, 1.0)),
        training_range={"start": "2024-01-01T00:00:00+00:00", "end_before": "2024-01-01T04:00"},
    )
    return stamp(model, contract, "hand-built")


def _table() -> tuple[pd.DataFrame, pd.DataFrame]:
    stamps = pd.Timestamp("2024-01-01", tz="UTC") + pd.to_timedelta(range(ROWS), unit="h")
    table = pd.DataFrame({"timestamp": stamps, "close": 100.0 + np.arange(ROWS)})
    for name in FEATURES:
        table[name] = 1.0
    return table, pd.DataFrame({"end_row": ENDS, "origin_time": stamps[ENDS]})


def _hand_prices(delta: float) -> np.ndarray:
    close = (100.0 + ENDS)[:, None, None]
    return close * (np.array([0.9, 1.0, 1.1]) + delta)[None, None, :].repeat(HORIZON, axis=1)


ACTUAL = np.array([[105.0, 106.0], [108.0, 109.0], [111.0, np.nan]])


def _check(opt, int8, **settings) -> dict:
    table, windows = _table()
    params = VariantsParams.model_validate(NO_OPENVINO | settings)
    return nodes.check_model_variants(
        _model(), opt, int8, table, windows, params, RUNTIME, kind="tiny"
    )


def test_the_actual_closes_of_each_window_nan_past_the_end():
    close = np.array([10.0, 11.0, 12.0, 13.0, 14.0])
    np.testing.assert_array_equal(
        nodes._actual(close, np.array([1, 3]), 2), [[12.0, 13.0], [14.0, np.nan]]
    )
    np.testing.assert_array_equal(nodes._actual(close, np.array([0]), 1), [[11.0]])


def test_the_report_compares_each_variant_in_prices():
    fp32 = _model()
    shifted = _model(delta=0.001)  # prices 0.001 * close higher: 0.104 … 0.110 USD
    report = _check(_model(), shifted)
    assert report["passed"] and report["model_kind"] == "tiny" and report["artifact"] == "model"
    assert report["windows_compared"] == 3
    assert report["on_failure"] == "fail"
    opt, int8 = report["variants"]["opt"], report["variants"]["int8"]
    assert opt["verdict"] == "passed" and opt["failures"] == []
    assert opt["parity"]["max_abs_price_diff"] == 0.0
    expected = optimisation.price_parity(_hand_prices(0.0), _hand_prices(0.001), ACTUAL, LEVELS)
    assert int8["parity"] == pytest.approx(expected, rel=1e-5)  # float32 biases
    assert int8["parity"]["max_abs_price_diff"] == pytest.approx(0.110, rel=1e-5)
    assert int8["verdict"] == "passed"
    assert int8["size_bytes"] == shifted.ByteSize()
    assert int8["size_ratio"] == shifted.ByteSize() / fp32.ByteSize()
    assert int8["quantised_ops"] == {}
    assert int8["tolerance"] == VariantsParams().tolerance.int8.model_dump()
    assert opt["tolerance"] == VariantsParams().tolerance.opt.model_dump()
    assert report["fp32"] == {
        "size_bytes": fp32.ByteSize(),
        "sha256": fingerprint_bytes(fp32.SerializeToString()),
    }
    assert report["settings"] == VariantsParams(openvino=False).model_dump(exclude={"tolerance"})
    assert report["runtimes"]["openvino"]["verdict"] == "skipped"
    assert set(report["size_breakdown"]) == {"fp32", "opt", "int8"}
    assert report["size_breakdown"]["int8"]["total_bytes"] == shifted.ByteSize()
    assert report["onnxruntime"] == {"version": ort.__version__, "session": RUNTIME.as_dict()}
    assert report["cpu_flags"] == optimisation.cpu_flags()


def test_a_variant_past_its_tolerance_fails_or_is_dropped(caplog):
    # Prices 0.01 * close higher: relative to the float's lowest quantile 0.9 * close that
    # is 0.01 / 0.9 = 0.0111, past int8's max_rel_price_diff 0.002 (the only bound crossed).
    with caplog.at_level(logging.INFO, logger=nodes.__name__):
        failed = _check(_model(), _model(delta=0.01))
    assert not failed["passed"]
    entry = failed["variants"]["int8"]
    assert entry["verdict"] == "failed"
    assert entry["failures"] == ["max_rel_price_diff 0.01111 > 0.002"]
    assert caplog.messages[:2] == [
        "model opt variant of tiny: PASSED (max |price diff| 0, mean 0, CRPS change +0, "
        "90% coverage change 0.0).",
        "model int8 variant of tiny: FAILED (max_rel_price_diff 0.01111 > 0.002).",
    ]
    dropped = _check(_model(), _model(delta=0.01), on_failure="drop")
    assert dropped["passed"] and dropped["variants"]["int8"]["verdict"] == "dropped"
    # The opt tolerance is the one the opt variant meets: 0.01 USD at most.
    caplog.clear()
    with caplog.at_level(logging.INFO, logger=nodes.__name__):
        opt_off = _check(_model(delta=0.001), _model())
    assert caplog.messages[0].startswith(
        "model opt variant of tiny: FAILED (max_abs_price_diff 0.11 > 0.01; mean_abs_price_diff"
    )
    assert opt_off["variants"]["opt"]["failures"][0] == "max_abs_price_diff 0.11 > 0.01"
    assert not opt_off["passed"]


def test_a_dropped_candidate_is_reported_without_figures():
    report = _check(DroppedVariant("opt", "could not be built: boom"), _model())
    assert report["passed"]
    assert report["variants"]["opt"] == {
        "verdict": "dropped",
        "failures": ["could not be built: boom"],
        "parity": None,
        "tolerance": VariantsParams().tolerance.opt.model_dump(),
    }
    assert set(report["size_breakdown"]) == {"fp32", "int8"}
    assert report["variants"]["int8"]["verdict"] == "passed"  # the one after it still checked


def test_windows_from_another_table_are_refused():
    table, windows = _table()
    windows["origin_time"] = windows["origin_time"] + pd.Timedelta(hours=1)
    with pytest.raises(LineageError, match="test_windows does not index the feature table"):
        nodes.check_model_variants(
            _model(), _model(), _model(), table, windows, VariantsParams(), RUNTIME, kind="x"
        )


def test_the_summary_in_words():
    assert nodes._summary(None) == "no figures"
    parity = {
        "max_abs_price_diff": 1.23456,
        "mean_abs_price_diff": 0.5,
        "crps_change": -0.25,
        "coverage_90_change": None,
    }
    assert nodes._summary(parity) == (
        "max |price diff| 1.235, mean 0.5, CRPS change -0.25, 90% coverage change None"
    )


def _report(passed: bool = True, verdict: str = "passed", opt: str = "passed") -> dict:
    opt_failures = ["c > 3"] if opt == "failed" else []
    return {
        "passed": passed,
        "artifact": "model",
        "model_kind": "tiny",
        "fp32": {"sha256": "f" * 64},
        "variants": {
            "opt": {
                "verdict": opt,
                "failures": opt_failures,
                "parity": {"max_abs_price_diff": 0.0},
            },
            "int8": {"verdict": verdict, "failures": ["a > 1", "b > 2"], "parity": None},
        },
    }


def test_a_published_variant_records_its_source_and_parity():
    candidate = _model(delta=0.001)
    report = _report()
    published = nodes.publish_variant(candidate, report, variant="opt")
    props = {p.key: p.value for p in published.metadata_props}
    assert json.loads(props.pop("variant")) == {
        "name": "opt",
        "source_sha256": "f" * 64,
        "report_sha256": fingerprint_json(report),
        "parity": {"max_abs_price_diff": 0.0},
    }
    assert props == {p.key: p.value for p in candidate.metadata_props}  # contract kept
    assert "variant" not in {p.key for p in candidate.metadata_props}  # a copy was stamped
    assert published.graph == candidate.graph


def test_a_failed_report_publishes_nothing_and_says_why():
    with pytest.raises(ValidationFailedError) as raised:
        nodes.publish_variant(_model(), _report(passed=False, verdict="failed"), variant="opt")
    assert str(raised.value) == (
        "model variants of the tiny model are outside their tolerance (variants.tolerance), "
        "so none was published; loosen the tolerance, change the variant's settings, or set "
        "variants.on_failure: drop:\n- int8: a > 1; b > 2"
    )
    both = _report(passed=False, verdict="failed", opt="failed")
    with pytest.raises(ValidationFailedError, match=r"drop:\n- opt: c > 3\n- int8: a > 1; b > 2$"):
        nodes.publish_variant(_model(), both, variant="int8")


def test_a_dropped_variant_stays_dropped(caplog):
    report = _report(verdict="dropped")
    with caplog.at_level(logging.WARNING, logger=nodes.__name__):
        dropped = nodes.publish_variant(_model(), report, variant="int8")
    assert dropped == DroppedVariant("int8", "a > 1; b > 2")
    assert caplog.messages == ["The int8 variant was dropped: ['a > 1', 'b > 2']"]
    already = DroppedVariant("int8", "could not be built: boom")
    assert nodes.publish_variant(already, report, variant="int8") is already


def test_a_variant_that_cannot_be_built_fails_or_is_dropped(caplog):
    def broken() -> onnx.ModelProto:
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        nodes._build("int8", VariantsParams(), broken)
    with caplog.at_level(logging.WARNING, logger=nodes.__name__):
        dropped = nodes._build("int8", VariantsParams(on_failure="drop"), broken)
    assert dropped == DroppedVariant("int8", "could not be built: boom")
    assert caplog.messages == ["Could not build the int8 variant, dropped: boom"]


def _weights(model: onnx.ModelProto) -> np.ndarray:
    (tensor,) = [t for t in model.graph.initializer if t.name.endswith("_quantized")]
    return numpy_helper.to_array(tensor)


def test_the_int8_settings_reach_the_quantiser():
    fp32 = _model(delta=0.001)
    fp32.graph.initializer[0].CopyFrom(
        numpy_helper.from_array(
            np.linspace(-1.27, 1.27, 6, dtype=np.float32).reshape(2, 3), "weight"
        )
    )

    def int8(**settings) -> onnx.ModelProto:
        return nodes.quantise_variant(fp32, VariantsParams.model_validate({"int8": settings}))

    default = int8()
    assert optimisation.quantised_ops(default) == {"MatMulInteger": 1}
    assert _weights(default).dtype == np.int8 and np.abs(_weights(default)).max() == 127
    assert _weights(int8(weight_type="quint8")).dtype == np.uint8
    assert np.abs(_weights(int8(reduce_range=True))).max() == 64  # onnxruntime's 7-bit range
    per_channel = int8(per_channel=True)
    (scale,) = [t for t in per_channel.graph.initializer if t.name.endswith("_scale")]
    assert numpy_helper.to_array(scale).shape == (3,)
    # An op type the graph lacks: refused, or dropped with the reason.
    with pytest.raises(optimisation.QuantisationError, match="no LSTM op"):
        int8(op_types=["LSTM"])
    params = VariantsParams.model_validate({"int8": {"op_types": ["LSTM"]}, "on_failure": "drop"})
    dropped = nodes.quantise_variant(fp32, params)
    assert dropped.variant == "int8" and "Nothing to quantise" in dropped.reason


def test_the_optimisation_level_reaches_onnxruntime():
    fp32 = _model()
    assert [n.op_type for n in nodes.optimise_variant(fp32, VariantsParams()).graph.node]
    with pytest.raises(ValueError, match="level must be one of"):
        nodes.optimise_variant(fp32, VariantsParams.model_construct(optimisation_level="fast"))
    dropped = nodes.optimise_variant(
        fp32, VariantsParams.model_construct(optimisation_level="fast", on_failure="drop")
    )
    assert dropped.variant == "opt" and "level must be one of" in dropped.reason


def _forecaster(factor: float = 1.0) -> onnx.ModelProto:
    """Raw candles in, ``close_quantiles`` out: the window's last close times
    ``factor * (0.9, 1, 1.1)`` at each step (``open_time`` is taken and not used)."""
    levels = np.array([[[0.9, 1.0, 1.1]] * HORIZON]) * factor
    graph = helper.make_graph(
        [
            helper.make_node("Gather", ["candles", "last"], ["bar"], axis=1),
            helper.make_node("Gather", ["bar", "close_column"], ["close"], axis=1),
            helper.make_node("Unsqueeze", ["close", "axes"], ["close_3d"]),
            helper.make_node("Mul", ["close_3d", "levels"], ["close_quantiles"]),
        ],
        "forecaster_by_hand",
        [
            helper.make_tensor_value_info("candles", TensorProto.DOUBLE, ["b", WINDOW + 1, 5]),
            helper.make_tensor_value_info("open_time", TensorProto.INT64, ["b", WINDOW + 1]),
        ],
        [
            # Another output first, as the real forecaster has: only close_quantiles is read.
            helper.make_tensor_value_info("bar", TensorProto.DOUBLE, ["b", 5]),
            helper.make_tensor_value_info("close_quantiles", TensorProto.DOUBLE, ["b", HORIZON, 3]),
        ],
        [
            numpy_helper.from_array(np.array(WINDOW, dtype=np.int64), "last"),
            numpy_helper.from_array(np.array(3, dtype=np.int64), "close_column"),
            numpy_helper.from_array(np.array([1, 2], dtype=np.int64), "axes"),
            numpy_helper.from_array(levels.astype(np.float64), "levels"),
        ],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    contract = OnnxContract.from_model(_model())
    forecaster = dataclasses.replace(
        contract, artifact="forecaster", input_name="candles", output_name="close_quantiles"
    )
    return stamp(model, forecaster, "hand-built forecaster")


def test_the_forecasters_variants_are_compared_on_raw_candles():
    table, windows = _table()
    candles = table[["timestamp", "close"]].assign(
        open=table["close"], high=table["close"], low=table["close"], volume=1.0
    )
    # 1.001 times the float's prices: 0.001 * 0.9 * close … 0.001 * 1.1 * close apart.
    report = nodes.check_forecaster_variants(
        _forecaster(),
        _forecaster(),
        _forecaster(factor=1.001),
        candles,
        windows,
        VariantsParams(openvino=False),
        RUNTIME,
        kind="tiny",
    )
    assert report["artifact"] == "forecaster" and report["windows_compared"] == 3
    assert report["model_kind"] == "tiny"
    assert report["variants"]["opt"]["parity"]["max_abs_price_diff"] == 0.0
    expected = optimisation.price_parity(
        _hand_prices(0.0), _hand_prices(0.0) * 1.001, ACTUAL, LEVELS
    )
    assert report["variants"]["int8"]["parity"] == pytest.approx(expected, rel=1e-9)
    assert report["passed"]


def test_the_forecasters_windows_go_by_in_batches(monkeypatch):
    monkeypatch.setattr(nodes, "_BATCH", 2)  # 3 windows: a batch of 2, then 1
    test_the_forecasters_variants_are_compared_on_raw_candles()
