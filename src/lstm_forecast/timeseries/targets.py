"""Multi-horizon targets: the close 1..horizon bars ahead, and the way back to prices."""

from __future__ import annotations

import numpy as np
import pandas as pd

# How a target y_h (already unscaled) becomes the close h bars ahead, given the last close.
TARGET_KINDS: dict[str, str] = {
    "log_return": "close_{t+h} = close_t * exp(y_h)",
    "simple_return": "close_{t+h} = close_t * (1 + y_h)",
    "close": "close_{t+h} = y_h",
}


def target_columns(horizon: int) -> list[str]:
    """Names of the target columns ``target_1 .. target_<horizon>``."""
    return [f"target_{h}" for h in range(1, horizon + 1)]


def compute_targets(candles: pd.DataFrame, kind: str, horizon: int) -> np.ndarray:
    """Compute the targets of every bar: the close 1..``horizon`` bars later, in ``kind`` units.

    Args:
        candles: Clean candles with ``close`` and ``segment``.
        kind: One of ``TARGET_KINDS``.
        horizon: Bars ahead of the last forecast.

    Returns:
        ``[rows, horizon]`` float64; NaN where bar ``t + h`` is not in the same segment.
    """
    _check_target_kind(kind)
    close = candles["close"].to_numpy(dtype=np.float64)
    segment = candles["segment"].to_numpy()
    rows = len(close)
    # One contiguous row per horizon step (returned transposed): each step is written in
    # one pass, with the same float operations as log(close_{t+h} / close_t) row-wise.
    future = np.empty((horizon, rows))
    for h in range(1, horizon + 1):
        out = future[h - 1]
        if h >= rows:
            out[:] = np.nan
            continue
        ahead = out[:-h]
        if kind == "close":
            ahead[:] = close[h:]
        else:
            np.divide(close[h:], close[:-h], out=ahead)
            if kind == "log_return":
                np.log(ahead, out=ahead)
            else:
                ahead -= 1.0
        ahead[segment[h:] != segment[:-h]] = np.nan
        out[-h:] = np.nan
    return future.T


def targets_to_prices(targets: np.ndarray, last_close: np.ndarray, kind: str) -> np.ndarray:
    """Turn unscaled targets (any trailing shape after the window axis) into close prices.

    Args:
        targets: ``[n, ...]`` target values in ``kind`` units.
        last_close: ``[n]`` close of the last bar of each window.
        kind: One of ``TARGET_KINDS``.

    Returns:
        Prices of the same shape as ``targets``.
    """
    _check_target_kind(kind)
    targets = np.asarray(targets, dtype=np.float64)
    last = np.asarray(last_close, dtype=np.float64).reshape((-1,) + (1,) * (targets.ndim - 1))
    if kind == "log_return":
        return last * np.exp(targets)
    if kind == "simple_return":
        return last * (1.0 + targets)
    return targets


def forecast_to_price(
    forecast: np.ndarray,
    last_close: np.ndarray,
    *,
    target_mean: list[float],
    target_scale: list[float],
    kind: str,
) -> np.ndarray:
    """Turn the model's scaled ``[n, horizon, n_quantiles]`` forecasts into close prices.

    Args:
        forecast: Model outputs in scaled target units, ``[n, horizon, n_quantiles]``.
        last_close: The close of the last bar of each window.
        target_mean: Per-horizon mean of the training targets.
        target_scale: Per-horizon standard deviation of the training targets.
        kind: One of ``TARGET_KINDS``.

    Returns:
        ``[n, horizon, n_quantiles]`` prices.
    """
    forecast = np.asarray(forecast, dtype=np.float64)
    mean = np.asarray(target_mean, dtype=np.float64)[None, :, None]
    scale = np.asarray(target_scale, dtype=np.float64)[None, :, None]
    return targets_to_prices(forecast * scale + mean, last_close, kind)


def _check_target_kind(kind: str) -> None:
    if kind not in TARGET_KINDS:
        raise ValueError(f"Unknown target kind {kind!r}; choose one of {sorted(TARGET_KINDS)}.")
