"""The forecaster's feature and price graphs checked in torch, with answers worked out by hand.

The candles: 170 hourly bars from epoch 0 with close_k = exp(0.01 k), so every log return
after the first is 0.01; high = close and low = close / e (log(high / low) = 1); open =
close / e^0.5 (log(close / open) = 0.5); volume 2 (no change). So Parkinson's variance is
1 / (4 ln 2) and Garman-Klass's 0.5 - (2 ln 2 - 1) / 4 on every bar. The last two bars open
at hours 168 and 169: 00:00 and 01:00 on day 7, a Thursday + 7 days = weekday (7 + 3) % 7 = 3.
"""

from __future__ import annotations

import math

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch
from onnx import helper, numpy_helper

from lstm_forecast.onnx import forecaster_graph
from lstm_forecast.onnx.contract import CANDLES, EXTRAPOLATING, OPEN_TIME, OnnxContract, Scaler
from lstm_forecast.onnx.feature_graph import (
    CandleFeatures,
    _log_variance,
    _relative_volume,
    _volume_change,
    bar_features,
    trailing_mean,
)
from lstm_forecast.onnx.forecaster_graph import (
    QuantilePrices,
    _interval_seconds,
    _rename,
    build_forecaster,
)

N = 170
PARKINSON = 1.0 / (4.0 * math.log(2.0))
GARMAN_KLASS = 0.5 - (2.0 * math.log(2.0) - 1.0) * 0.25


def candles(n: int = N) -> tuple[torch.Tensor, torch.Tensor]:
    close = torch.exp(0.01 * torch.arange(n, dtype=torch.float64))
    values = torch.stack(
        [close / math.exp(0.5), close, close / math.e, close, torch.full_like(close, 2.0)], -1
    )
    return values[None], (3600 * torch.arange(n, dtype=torch.int64))[None]


def test_trailing_means_by_hand():
    """Of 1, 2, 3, 6: spans of 2 end at 3 and 6 -> 2.5, 4.5; spans of 3 -> 2, 11/3."""
    values = torch.tensor([[1.0, 2.0, 3.0, 6.0]], dtype=torch.float64)
    assert trailing_mean(values, 2, 2).tolist() == [[2.5, 4.5]]
    assert torch.allclose(trailing_mean(values, 3, 2), torch.tensor([[2.0, 11.0 / 3.0]]).double())
    assert trailing_mean(values, 1, 4).tolist() == values.tolist()


def test_volume_change_is_a_clipped_log_ratio_with_zero_for_nothing_traded():
    """1 -> e: 1; e -> e: 0; e -> 0: -inf clipped to -10; 0 -> 0: 0; 0 -> 1: +10."""
    volume = torch.tensor([[1.0, math.e, math.e, 0.0, 0.0, 1.0]], dtype=torch.float64)
    assert torch.allclose(
        _volume_change(volume), torch.tensor([[0.0, 1.0, 0.0, -10.0, 0.0, 10.0]]).double()
    )


def test_log_variance_is_floored_at_1e_8():
    variance = torch.tensor([[1e-9, 1.0, math.e**2]], dtype=torch.float64)
    expected = torch.tensor([[math.log(1e-8), 0.0, 2.0]], dtype=torch.float64)
    assert torch.allclose(_log_variance(variance), expected)


def test_relative_volume_against_its_24_bar_mean():
    """Constant volume: log(1) = 0; all zero: 0 / 0 -> 0; a last bar of 1e-9 among ones:
    log(1e-9 / ((23 + 1e-9) / 24)) = -20.7, clipped to -10; one of 2 among ones:
    log(2 / (25 / 24)) = log(48 / 25)."""
    ones = torch.ones(1, 26, dtype=torch.float64)
    assert _relative_volume(3.0 * ones, 2).tolist() == [[0.0, 0.0]]
    assert _relative_volume(0.0 * ones, 2).tolist() == [[0.0, 0.0]]
    tiny, double = ones.clone(), ones.clone()
    tiny[0, -1], double[0, -1] = 1e-9, 2.0
    assert _relative_volume(tiny, 2).tolist() == [[0.0, -10.0]]
    assert _relative_volume(double, 1).item() == pytest.approx(math.log(48 / 25))


def test_every_bar_feature_of_the_last_two_bars_by_hand():
    values, times = candles()
    got = {name: make().tolist()[0] for name, make in bar_features(values, times, 2).items()}
    third = 2.0 * math.pi * 3.0 / 7.0
    expected = {
        "log_return": [0.01, 0.01],
        "log_high_low": [1.0, 1.0],
        "log_close_open": [0.5, 0.5],
        "log_volume_change": [0.0, 0.0],
        "hour_sin": [0.0, math.sin(2.0 * math.pi / 24.0)],
        "hour_cos": [1.0, math.cos(2.0 * math.pi / 24.0)],
        "log_range_var": [math.log(PARKINSON)] * 2,
        "log_gk_var": [math.log(GARMAN_KLASS)] * 2,
        "dow_sin": [math.sin(third)] * 2,
        "dow_cos": [math.cos(third)] * 2,
        "log_relative_volume": [0.0, 0.0],
    }
    for span in (6, 24, 168):
        expected[f"log_range_rv_{span}"] = [math.log(PARKINSON)] * 2
        expected[f"log_rv_{span}"] = [math.log(1e-4)] * 2  # mean of 0.01^2
    assert set(got) == set(expected)
    for name, want in expected.items():
        assert np.allclose(got[name], want, rtol=1e-9, atol=1e-12), name


def test_the_first_return_of_the_input_is_zero():
    """Bars 0..2 with length 3: the first bar has no return before it."""
    values, times = candles(3)
    returns = bar_features(values, times, 3)["log_return"]().tolist()[0]
    assert np.allclose(returns, [0.0, 0.01, 0.01])


def contract(feature_range=None, target_kind="log_return", **scaler) -> OnnxContract:
    values = {"feature_mean": (0.0, 1.0), "feature_scale": (0.002, 4.0)}
    values |= {"target_mean": (0.0, 0.1), "target_scale": (1.0, 2.0)} | scaler
    return OnnxContract(
        model_kind="lstm",
        feature_names=("log_return", "log_high_low"),
        window_length=2,
        interval="1h",
        horizon=2,
        quantiles=(0.5,),
        target_kind=target_kind,
        scaler=Scaler(**values),
        training_range={},
        feature_range=feature_range,
    )


def test_candle_features_scale_the_window_and_check_the_bars():
    """log_return 0.01 -> (0.01 - 0) / 0.002 = 5; log_high_low 1 -> (1 - 1) / 4 = 0."""
    values, times = candles(4)
    module = CandleFeatures(contract(), 3600)
    window, last_close, ok, outside = module(values, times)
    assert window.dtype == torch.float32 and window.tolist() == [[[5.0, 0.0], [5.0, 0.0]]]
    assert last_close.tolist() == [math.exp(0.03)]
    assert ok.tolist() == [True] and outside.tolist() == [False]
    gap = times.clone()
    gap[0, 3] += 3600
    assert module(values, gap)[2].tolist() == [False]
    assert CandleFeatures(contract(), 1800)(values, times)[2].tolist() == [False]
    for column in range(4):  # any price at zero
        bad = values.clone()
        bad[0, 1, column] = 0.0
        assert module(bad, times)[2].tolist() == [False], column
    no_volume = values.clone()
    no_volume[0, :, 4] = 0.0  # volume 0 is no reason to refuse
    assert module(no_volume, times)[2].tolist() == [True]


@pytest.mark.parametrize(
    ("low", "high", "margin", "flagged"),
    [
        # log_return 0.01 and log_high_low 1 within [0, 0.02] and [0, 2]
        ((0.0, 0.0), (0.02, 2.0), 0.0, False),
        # log_return above 0.005 + 0.5 * 0.005 = 0.0075
        ((0.0, 0.0), (0.005, 2.0), 0.5, True),
        # but within 0.006 + 1.0 * 0.006 = 0.012 (with margin 0.5: 0.009, outside)
        ((0.0, 0.0), (0.006, 2.0), 1.0, False),
        ((0.0, 0.0), (0.006, 2.0), 0.5, True),
        # log_high_low below 1.5 - 0 * 0.5
        ((0.0, 1.5), (0.02, 2.0), 0.0, True),
    ],
)
def test_extrapolating_uses_the_recorded_range_and_margin(low, high, margin, flagged):
    feature_range = {"min": list(low), "max": list(high), "margin": margin}
    values, times = candles(4)
    outside = CandleFeatures(contract(feature_range), 3600)(values, times)[3]
    assert outside.tolist() == [flagged]


@pytest.mark.parametrize(
    ("kind", "prices"),
    [
        # targets 0.5 * 1 + 0 = 0.5 and 0.5 * 2 + 0.1 = 1.1, from a last close of 100
        ("log_return", [100 * math.exp(0.5), 100 * math.exp(1.1)]),
        ("simple_return", [150.0, 210.0]),
        ("close", [0.5, 1.1]),
    ],
)
def test_quantile_prices_per_target_kind(kind, prices):
    module = QuantilePrices(contract(target_kind=kind))
    forecast = torch.tensor([[[0.5], [0.5]]], dtype=torch.float32)
    got = module(forecast, torch.tensor([100.0], dtype=torch.float64))
    assert got.dtype == torch.float64 and got.shape == (1, 2, 1)
    assert module.scale.dtype == module.mean.dtype == torch.float64  # no float32 rounding
    assert np.allclose(got.flatten().tolist(), prices, rtol=1e-12)


def test_rename_and_interval_seconds():
    node = helper.make_node("Identity", ["a"], ["b"])
    graph = helper.make_graph(
        [node],
        "g",
        [helper.make_tensor_value_info("a", onnx.TensorProto.FLOAT, [1])],
        [helper.make_tensor_value_info("b", onnx.TensorProto.FLOAT, [1])],
    )
    _rename(graph, "a", "x")
    _rename(graph, "b", "y")
    assert [graph.input[0].name, graph.output[0].name] == ["x", "y"]
    assert (list(graph.node[0].input), list(graph.node[0].output)) == (["x"], ["y"])
    assert _interval_seconds("1h") == 3600.0 and _interval_seconds("15min") == 900.0


def test_exported_graphs_are_kept_by_key_and_the_cache_is_bounded(monkeypatch):
    """Eight kept at most: the ninth key empties the cache first."""
    made: list[str] = []
    graph = helper.make_model(helper.make_graph([], "g", [], []))
    monkeypatch.setattr(forecaster_graph, "_EXPORTED", {})
    monkeypatch.setattr(forecaster_graph, "_export_bytes", lambda *a: graph.SerializeToString())

    def export(key):
        return forecaster_graph._export((key,), lambda: made.append(key), (), ["i"], ["o"], 17)

    first = export("a")
    again = export("a")
    assert made == ["a"] and first is not again  # each caller gets its own proto
    for key in "bcdefgh":
        export(key)
    assert len(forecaster_graph._EXPORTED) == 8
    export("i")
    assert list(forecaster_graph._EXPORTED) == [("i", ("i",), ("o",))]
    export("a")
    assert made.count("a") == 2


def test_forecasters_differing_only_in_feature_range_get_their_own_graphs():
    """Exported graphs are reused by what they are made from; the recorded range is part of
    that. log_return 0.01 is outside [0, 0.005] (margin 0) and inside [0, 0.02]."""
    weight = numpy_helper.from_array(np.ones((2, 1), np.float32), "weight")
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["window", "weight"], ["forecast"])],
        "tiny",
        [helper.make_tensor_value_info("window", onnx.TensorProto.FLOAT, ["batch", 2, 2])],
        [helper.make_tensor_value_info("forecast", onnx.TensorProto.FLOAT, ["batch", 2, 1])],
        [weight],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    values, times = candles(3)
    feeds = {CANDLES: values.numpy(), OPEN_TIME: times.numpy()}
    flagged = []
    for high in (0.005, 0.02, 0.005):
        feature_range = {"min": [0.0, 0.0], "max": [high, 2.0], "margin": 0.0}
        forecaster = build_forecaster(model, contract(feature_range), 17)
        session = ort.InferenceSession(forecaster.SerializeToString())
        flagged.append(session.run([EXTRAPOLATING], feeds)[0].tolist())
    assert flagged == [[True], [False], [True]]


def test_feature_buffers_are_float64_and_the_range_includes_its_ends():
    """A window whose features span exactly [min, max] of the recorded range (margin 0)
    is not extrapolating: the bounds are inclusive."""
    values, times = candles(4)
    features = bar_features(values, times, 2)
    seen = [features[name]() for name in ("log_return", "log_high_low")]
    feature_range = {
        "min": [float(v.min()) for v in seen],
        "max": [float(v.max()) for v in seen],
        "margin": 0.0,
    }
    module = CandleFeatures(contract(feature_range), 3600)
    assert {b.dtype for b in (module.mean, module.scale, module.low, module.high)} == {
        torch.float64
    }
    assert module(values, times)[3].tolist() == [False]
