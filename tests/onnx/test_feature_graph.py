"""The forecaster's feature graph against numpy: every feature of every set, in onnxruntime,
and a volatility-set forecaster whose input is its contract's context_length + 1 bars."""

from __future__ import annotations

import io

import numpy as np
import onnx
import onnxruntime as ort
import pandas as pd
import pytest
import torch
from onnx import TensorProto, helper, numpy_helper

from lstm_forecast.onnx.contract import CLOSE_QUANTILES, WINDOW_OK, OnnxContract, Scaler
from lstm_forecast.onnx.feature_graph import bar_features
from lstm_forecast.onnx.forecaster_graph import build_forecaster
from lstm_forecast.timeseries.features import (
    FEATURE_FORMULAS,
    FEATURE_SETS,
    compute_features,
    context_length,
)
from lstm_forecast.timeseries.preparation import fit_scaler
from lstm_forecast.timeseries.reference import python_path_prices, raw_windows
from lstm_forecast.timeseries.targets import compute_targets, target_columns
from tests.synthetic import make_candles

NAMES = sorted(FEATURE_FORMULAS)
WINDOW, HORIZON, QUANTILES = 6, 2, (0.1, 0.5, 0.9)


class _AllFeatures(torch.nn.Module):
    def __init__(self, length: int) -> None:
        super().__init__()
        self.length = length

    def forward(self, candles: torch.Tensor, open_time: torch.Tensor) -> torch.Tensor:
        formulas = bar_features(candles, open_time, self.length)
        return torch.stack([formulas[name]() for name in NAMES], dim=-1)


def _session(module: torch.nn.Module, bars: int) -> ort.InferenceSession:
    buffer = io.BytesIO()
    torch.onnx.export(
        module,
        (torch.ones(2, bars, 5, dtype=torch.float64), torch.zeros(2, bars, dtype=torch.int64)),
        buffer,
        dynamo=False,
        input_names=["candles", "open_time"],
        output_names=["values"],
        opset_version=17,
        dynamic_axes={"candles": {0: "batch"}, "open_time": {0: "batch"}, "values": {0: "b"}},
    )
    return ort.InferenceSession(buffer.getvalue(), providers=["CPUExecutionProvider"])


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_every_feature_in_onnxruntime_equals_numpy_on_real_windows():
    candles = make_candles(500, seed=7)
    candles.loc[250, "volume"] = 0.0  # a zero volume: clipped in both paths
    candles.loc[260, ["open", "high", "low", "close"]] = candles.loc[259, "close"]  # no range
    bars = context_length(WINDOW, NAMES) + 1
    session = _session(_AllFeatures(WINDOW), bars)
    ends = np.array([bars - 1, 255, 262, 499])  # the first end has exactly enough history
    got = session.run(None, raw_windows(candles, ends, bars))[0]
    expected = compute_features(candles, NAMES).to_numpy()
    assert got.shape == (len(ends), WINDOW, len(NAMES)) and got.dtype == np.float64
    for k, end in enumerate(ends):
        rows = expected[end - WINDOW + 1 : end + 1]
        assert np.isfinite(rows).all()
        for column, name in enumerate(NAMES):
            np.testing.assert_allclose(
                got[k, :, column], rows[:, column], rtol=1e-12, atol=1e-12, err_msg=name
            )


def _model(features: int) -> onnx.ModelProto:
    """window [batch, WINDOW, features] -> the last bar's MatMul -> [batch, HORIZON, 3]."""
    weight = (np.arange(features * 3, dtype=np.float32).reshape(features, 3) - 10) / 100
    graph = helper.make_graph(
        [
            helper.make_node("MatMul", ["window", "weight"], ["projected"]),
            helper.make_node("Gather", ["projected", "steps"], ["forecast"], axis=1),
        ],
        "tiny",
        [helper.make_tensor_value_info("window", TensorProto.FLOAT, ["batch", WINDOW, features])],
        [helper.make_tensor_value_info("forecast", TensorProto.FLOAT, ["batch", HORIZON, 3])],
        [
            numpy_helper.from_array(weight, "weight"),
            numpy_helper.from_array(np.full(HORIZON, WINDOW - 1, dtype=np.int64), "steps"),
        ],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


@pytest.fixture(scope="module")
def volatility_forecaster() -> tuple[onnx.ModelProto, OnnxContract, pd.DataFrame]:
    candles = make_candles(600, seed=3)
    names = FEATURE_SETS["volatility"]
    table = compute_features(candles, names).assign(timestamp=candles["timestamp"])
    table[target_columns(HORIZON)] = compute_targets(candles, "log_return", HORIZON)
    scaler = fit_scaler(table, candles["timestamp"].iloc[450], "log_return", HORIZON, names)
    contract = OnnxContract(
        model_kind="tiny",
        feature_names=tuple(scaler["feature_names"]),
        window_length=WINDOW,
        interval="1h",
        horizon=HORIZON,
        quantiles=QUANTILES,
        target_kind="log_return",
        scaler=Scaler.from_dict(scaler),
        training_range={"start": "2024-01-01", "end_before": "2024-01-20"},
        feature_set="volatility",
        context_length=context_length(WINDOW, scaler["feature_names"]),
    )
    model = _model(len(contract.feature_names))
    return build_forecaster(model, contract, 17), contract, candles


def test_a_volatility_forecaster_reads_context_plus_one_bars_and_matches_the_python_path(
    volatility_forecaster,
):
    forecaster, contract, candles = volatility_forecaster
    assert contract.context_length == WINDOW + 166 and contract.input_length == WINDOW + 167
    shape = [
        d.dim_param or d.dim_value for d in forecaster.graph.input[0].type.tensor_type.shape.dim
    ]
    assert shape == ["batch", contract.input_length, 5]
    session = ort.InferenceSession(
        forecaster.SerializeToString(), providers=["CPUExecutionProvider"]
    )
    model = ort.InferenceSession(
        _model(len(contract.feature_names)).SerializeToString(), providers=["CPUExecutionProvider"]
    )
    ends = np.array([contract.input_length - 1, 400, 599])
    inputs = raw_windows(candles, ends, contract.input_length)
    prices, ok = session.run([CLOSE_QUANTILES, WINDOW_OK], inputs)
    assert ok.all() and prices.shape == (3, HORIZON, 3)
    for k, end in enumerate(ends):
        rows = candles.iloc[end - contract.input_length + 1 : end + 1]
        expected = python_path_prices(lambda w: model.run(None, {"window": w})[0], contract, rows)
        np.testing.assert_allclose(prices[k : k + 1], expected, rtol=1e-9)
    # Batch 1 gives the same as the batch of three (the batch axis is symbolic).
    one = session.run([CLOSE_QUANTILES], {k: v[1:2] for k, v in inputs.items()})[0]
    np.testing.assert_array_equal(one, prices[1:2])


def test_the_volatility_forecaster_flags_a_gap_inside_its_context(volatility_forecaster):
    forecaster, contract, candles = volatility_forecaster
    session = ort.InferenceSession(
        forecaster.SerializeToString(), providers=["CPUExecutionProvider"]
    )
    inputs = raw_windows(candles, np.array([500]), contract.input_length)
    # A gap before the window the network sees, inside the context: still not a valid input.
    inputs["open_time"][0, :10] -= 3600
    assert not session.run([WINDOW_OK], inputs)[0][0]
