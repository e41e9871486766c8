"""Vectorised features and targets computed from clean candles."""

from __future__ import annotations

import numpy as np
import pandas as pd

# The model's input columns, in order. Every feature of bar t uses bars t and t-1 only.
FEATURE_NAMES: tuple[str, ...] = (
    "log_return",
    "log_high_low",
    "log_close_open",
    "log_volume",
    "hour_sin",
    "hour_cos",
)

# How a prediction y (already unscaled) becomes the next close, given the last close.
TARGET_KINDS: dict[str, str] = {
    "log_return": "next_close = last_close * exp(y)",
    "simple_return": "next_close = last_close * (1 + y)",
    "close": "next_close = y",
}


def compute_features(candles: pd.DataFrame) -> pd.DataFrame:
    """Compute the model features of every bar.

    The first bar of each segment has no previous bar, so its ``log_return`` is NaN;
    windows never include such a bar.

    Args:
        candles: Clean candles with ``timestamp, open, high, low, close, volume, segment``.

    Returns:
        A frame with one column per name in ``FEATURE_NAMES``, aligned with ``candles``.
    """
    close = candles["close"].to_numpy(dtype=np.float64)
    segment = candles["segment"].to_numpy()
    log_close = np.log(close)
    log_return = np.full_like(log_close, np.nan)
    log_return[1:] = np.diff(log_close)
    # A return across a gap spans several hours: it is not the same quantity.
    starts_segment = np.ones(len(segment), dtype=bool)
    starts_segment[1:] = segment[1:] != segment[:-1]
    log_return[starts_segment] = np.nan

    hour = candles["timestamp"].dt.hour.to_numpy(dtype=np.float64)
    angle = 2.0 * np.pi * hour / 24.0
    return pd.DataFrame(
        {
            "log_return": log_return,
            "log_high_low": np.log(candles["high"].to_numpy() / candles["low"].to_numpy()),
            "log_close_open": np.log(close / candles["open"].to_numpy()),
            "log_volume": np.log1p(candles["volume"].to_numpy(dtype=np.float64)),
            "hour_sin": np.sin(angle),
            "hour_cos": np.cos(angle),
        },
        index=candles.index,
    )[list(FEATURE_NAMES)]


def compute_target(candles: pd.DataFrame, kind: str) -> np.ndarray:
    """Compute the target of every bar: what the next bar's close will be, in ``kind`` units.

    Args:
        candles: Clean candles with ``close`` and ``segment``.
        kind: One of ``TARGET_KINDS``.

    Returns:
        A float64 array; NaN on the last bar of each segment, which has no next bar.
    """
    _check_target_kind(kind)
    close = candles["close"].to_numpy(dtype=np.float64)
    segment = candles["segment"].to_numpy()
    next_close = np.full_like(close, np.nan)
    next_close[:-1] = close[1:]
    next_close[:-1][segment[1:] != segment[:-1]] = np.nan
    if kind == "log_return":
        return np.log(next_close / close)
    if kind == "simple_return":
        return next_close / close - 1.0
    return next_close


def target_to_price(prediction: np.ndarray, last_close: np.ndarray, kind: str) -> np.ndarray:
    """Turn unscaled target predictions back into next-bar close prices.

    Args:
        prediction: Predicted target values, in ``kind`` units.
        last_close: The close of the last bar of each window.
        kind: One of ``TARGET_KINDS``.

    Returns:
        The predicted next close of each window.
    """
    _check_target_kind(kind)
    prediction = np.asarray(prediction, dtype=np.float64).reshape(-1)
    last_close = np.asarray(last_close, dtype=np.float64).reshape(-1)
    if kind == "log_return":
        return last_close * np.exp(prediction)
    if kind == "simple_return":
        return last_close * (1.0 + prediction)
    return prediction


def forecast_to_price(
    forecast: np.ndarray,
    last_close: np.ndarray,
    *,
    target_mean: float,
    target_scale: float,
    kind: str,
) -> np.ndarray:
    """Turn the model's scaled forecasts into next-bar close prices.

    Args:
        forecast: Model outputs, in scaled target units.
        last_close: The close of the last bar of each window.
        target_mean: Mean of the training targets (the target scaler's ``mean_``).
        target_scale: Standard deviation of the training targets.
        kind: One of ``TARGET_KINDS``.

    Returns:
        The predicted next close of each window.
    """
    target = np.asarray(forecast, dtype=np.float64).reshape(-1) * target_scale + target_mean
    return target_to_price(target, last_close, kind)


def scale_features(values: np.ndarray, mean: list[float], scale: list[float]) -> np.ndarray:
    """Standardise with stored scaler parameters: float64 arithmetic, float32 result.

    Training and torch-free inference both go through here, so they feed the model the
    same numbers bit for bit.

    Args:
        values: ``[rows, features]`` unscaled features.
        mean: Per-feature mean of the training rows.
        scale: Per-feature standard deviation of the training rows.

    Returns:
        ``[rows, features]`` float32.
    """
    mean_ = np.asarray(mean, dtype=np.float64)
    scale_ = np.asarray(scale, dtype=np.float64)
    return ((np.asarray(values, dtype=np.float64) - mean_) / scale_).astype(np.float32)


def _check_target_kind(kind: str) -> None:
    if kind not in TARGET_KINDS:
        raise ValueError(f"Unknown target kind {kind!r}; choose one of {sorted(TARGET_KINDS)}.")
