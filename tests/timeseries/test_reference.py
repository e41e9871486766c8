"""The Python reference path from raw candles to prices, on three candles worked by hand."""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from lstm_forecast.timeseries.features import FEATURE_NAMES
from lstm_forecast.timeseries.reference import (
    contract_windows,
    epoch_seconds,
    python_path_prices,
    raw_windows,
    reference_inputs,
)

from ._tables import tiny_candles

# 2024-01-01 00:00 UTC is 1704067200 s after the epoch.
MIDNIGHT = 1_704_067_200
CANDLES = tiny_candles(closes=[100.0, 110.0, 121.0, 133.1], hours=[0, 1, 2, 3], segment=[0] * 4)


def test_epoch_seconds_by_hand():
    seconds = epoch_seconds(CANDLES["timestamp"])
    assert seconds.dtype == np.int64
    assert seconds.tolist() == [MIDNIGHT + 3600 * h for h in range(4)]


def test_raw_windows_hold_the_given_number_of_bars():
    # A contract's input_length (context_length + 1 bars): 3 here.
    inputs = raw_windows(CANDLES, np.array([2, 3]), 3)
    assert inputs["candles"].shape == (2, 3, 5)
    # Columns open, high, low, close, volume; window k ends at bar ends[k].
    np.testing.assert_array_equal(inputs["candles"][0, :, 3], [100.0, 110.0, 121.0])
    np.testing.assert_array_equal(inputs["candles"][1, :, 3], [110.0, 121.0, 133.1])
    np.testing.assert_array_equal(inputs["candles"][1, :, 4], [10.0, 10.0, 10.0])
    assert inputs["open_time"].tolist() == [
        [MIDNIGHT, MIDNIGHT + 3600, MIDNIGHT + 7200],
        [MIDNIGHT + 3600, MIDNIGHT + 7200, MIDNIGHT + 10800],
    ]
    assert inputs["candles"].flags["C_CONTIGUOUS"] and inputs["open_time"].flags["C_CONTIGUOUS"]


def test_reference_inputs_are_one_window_batch():
    inputs = reference_inputs(CANDLES.iloc[:3])
    assert inputs["candles"].shape == (1, 3, 5) and inputs["candles"].dtype == np.float64
    np.testing.assert_array_equal(inputs["candles"][0, 2], [121.0, 121.0, 121.0, 121.0, 10.0])
    assert inputs["open_time"].tolist() == [[MIDNIGHT, MIDNIGHT + 3600, MIDNIGHT + 7200]]


def test_python_path_features_scaler_model_prices_by_hand():
    seen = []

    def predict(matrix: np.ndarray) -> np.ndarray:
        seen.append(matrix)
        return np.zeros((1, 2, 1))  # scaled target 0 -> y_h = target_mean_h

    contract = SimpleNamespace(
        feature_names=FEATURE_NAMES,
        window_length=2,
        scaler=SimpleNamespace(
            feature_mean=[0.0, 0.0, 0.0, 1.0, 0.0, 0.0],
            feature_scale=[2.0, 1.0, 1.0, 1.0, 1.0, 1.0],
            target_mean=[0.1, 0.2],
            target_scale=[3.0, 3.0],
        ),
        target_kind="log_return",
    )
    prices = python_path_prices(predict, contract, CANDLES.iloc[:3])
    np.testing.assert_allclose(prices, [[[121.0 * math.exp(0.1)], [121.0 * math.exp(0.2)]]])
    # The model sees bars 1 and 2 (bar 0 only gives bar 1 its return), scaled.
    (matrix,) = seen
    assert matrix.shape == (1, 2, 6) and matrix.flags["C_CONTIGUOUS"]
    expected = [
        [
            math.log(1.1) / 2,
            0.0,
            0.0,
            0.0 - 1,  # every volume is 10: no change
            math.sin(math.pi / 12),
            math.cos(math.pi / 12),
        ],
        [math.log(1.1) / 2, 0.0, 0.0, 0.0 - 1, 0.5, math.cos(math.pi / 6)],
    ]
    np.testing.assert_allclose(matrix[0], expected, rtol=1e-6)


def test_python_path_unscales_with_the_target_scale():
    contract = SimpleNamespace(
        feature_names=FEATURE_NAMES,
        window_length=2,
        scaler=SimpleNamespace(
            feature_mean=[0.0] * 6,
            feature_scale=[1.0] * 6,
            target_mean=[0.0],
            target_scale=[0.5],
        ),
        target_kind="simple_return",
    )
    prices = python_path_prices(lambda m: np.full((1, 1, 2), [0.2, -0.2]), contract, CANDLES)
    # y = 0.2 * 0.5 = 0.1 -> 133.1 * 1.1; y = -0.1 -> 133.1 * 0.9.
    assert prices[0, 0].tolist() == pytest.approx([146.41, 119.79])


def test_contract_windows_scale_the_contract_features_in_its_order():
    # Columns in another order than the contract's, and one the contract does not use.
    table = pd.DataFrame(
        {
            "log_volume_change": [10.0, 20.0, 30.0, 40.0],
            "unused": [7.0, 7.0, 7.0, 7.0],
            "log_return": [1.0, 3.0, 5.0, 7.0],
        }
    )
    contract = SimpleNamespace(
        feature_names=("log_return", "log_volume_change"),
        scaler=SimpleNamespace(feature_mean=[1.0, 20.0], feature_scale=[2.0, 10.0]),
        window_length=2,
    )
    windows = contract_windows(table, np.array([1, 3]), contract)
    assert windows.dtype == np.float32 and windows.flags["C_CONTIGUOUS"]
    # Row r: ((log_return - 1) / 2, (log_volume_change - 20) / 10); windows end at rows 1 and 3.
    np.testing.assert_array_equal(windows, [[[0.0, -1.0], [1.0, 0.0]], [[2.0, 1.0], [3.0, 2.0]]])
