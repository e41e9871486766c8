"""The Python path from raw candles to prices, which the forecaster graph must reproduce."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from .features import compute_features, scale_features
from .targets import forecast_to_price
from .windows import gather_windows

CANDLE_COLUMNS = ("open", "high", "low", "close", "volume")


def reference_inputs(rows: pd.DataFrame) -> dict[str, np.ndarray]:
    """The forecaster's inputs for one window of clean candles (``context_length + 1`` rows)."""
    return {
        "candles": rows[list(CANDLE_COLUMNS)].to_numpy(dtype=np.float64)[None],
        "open_time": epoch_seconds(rows["timestamp"])[None],
    }


def epoch_seconds(timestamps: pd.Series) -> np.ndarray:
    """UTC bar open times as int64 seconds since the epoch."""
    return pd.DatetimeIndex(timestamps).as_unit("s").asi8.astype(np.int64)


def python_path_prices(
    predict: Callable[[np.ndarray], np.ndarray], contract: Any, rows: pd.DataFrame
) -> np.ndarray:
    """Features -> scaler -> model -> prices for the window ending at the last of ``rows``.

    Args:
        predict: The model (a kind's reference predictor, or an onnxruntime call).
        contract: The model's ``OnnxContract``.
        rows: ``context_length + 1`` consecutive clean candles, oldest first (the
            contract's ``input_length``); the network sees the last ``window_length``.

    Returns:
        ``[1, horizon, q]`` prices.
    """
    features = compute_features(rows.assign(segment=0), contract.feature_names)
    matrix = scale_features(
        features.to_numpy()[-contract.window_length :],
        contract.scaler.feature_mean,
        contract.scaler.feature_scale,
    )
    scaled = predict(np.ascontiguousarray(matrix[None]))
    return forecast_to_price(
        scaled,
        rows["close"].to_numpy(dtype=np.float64)[-1:],
        target_mean=list(contract.scaler.target_mean),
        target_scale=list(contract.scaler.target_scale),
        kind=contract.target_kind,
    )


def raw_windows(candles: pd.DataFrame, ends: np.ndarray, bars: int) -> dict[str, np.ndarray]:
    """The forecaster's inputs for the windows ending at ``ends``, ``bars`` bars each (the
    contract's ``input_length``: ``context_length + 1``)."""
    values = candles[list(CANDLE_COLUMNS)].to_numpy(dtype=np.float64)
    times = epoch_seconds(candles["timestamp"])[:, None]
    return {
        "candles": np.ascontiguousarray(gather_windows(values, ends, bars)),
        "open_time": np.ascontiguousarray(gather_windows(times, ends, bars)[:, :, 0]),
    }


def contract_windows(table: pd.DataFrame, ends: np.ndarray, contract: Any) -> np.ndarray:
    """The model inputs for the windows ending at ``ends``, scaled as ``contract`` says.

    Args:
        table: Feature table (the contract's feature columns).
        ends: End row of each window.
        contract: The model's ``OnnxContract`` (feature names, scaler, window length).

    Returns:
        ``[len(ends), window_length, n_features]`` float32, contiguous.
    """
    matrix = scale_features(
        table[list(contract.feature_names)].to_numpy(),
        contract.scaler.feature_mean,
        contract.scaler.feature_scale,
    )
    return np.ascontiguousarray(gather_windows(matrix, ends, contract.window_length))
