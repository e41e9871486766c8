"""Small candle frames and feature tables for the torch-free core's unit tests."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from lstm_forecast.timeseries.features import compute_features
from lstm_forecast.timeseries.targets import compute_targets, target_columns

NAN = math.nan


def tiny_candles(closes: list[float], hours: list[int], segment: list[int]) -> pd.DataFrame:
    """Candles with the given closes at the given UTC hours of 2024-01-01 (open = close)."""
    close = np.asarray(closes, dtype=np.float64)
    return pd.DataFrame(
        {
            "timestamp": pd.Timestamp("2024-01-01", tz="UTC") + pd.to_timedelta(hours, unit="h"),
            "open": close,
            "high": close,
            "low": close,
            "close": close,
            "volume": np.full(len(close), 10.0),
            "segment": np.asarray(segment, dtype=np.int64),
        }
    )


def feature_table(candles: pd.DataFrame, kind: str, horizon: int) -> pd.DataFrame:
    """The feature table the features stage builds: ``timestamp, close, segment``, the
    features, then ``target_1..target_<horizon>``."""
    table = candles[["timestamp", "close", "segment"]].copy()
    computed = compute_features(candles)
    table[list(computed.columns)] = computed
    table[target_columns(horizon)] = compute_targets(candles, kind, horizon)
    return table


def candles_from_returns(
    log_returns: np.ndarray, gaps: dict[int, int] | None = None, start: float = 30_000.0
) -> pd.DataFrame:
    """Hourly candles whose one-bar log returns are ``log_returns`` (bar 0 closes at ``start``).

    ``gaps``: ``{row: missing_bars}`` hours missing before ``row`` (a new segment).
    """
    rows = len(log_returns) + 1
    close = start * np.exp(np.concatenate([[0.0], np.cumsum(log_returns)]))
    steps = np.ones(rows, dtype=np.int64)
    steps[0] = 0
    segment = np.zeros(rows, dtype=np.int64)
    for row, missing in (gaps or {}).items():
        steps[row] += missing
        segment[row:] += 1
    open_ = np.concatenate([[close[0]], close[:-1]])
    return pd.DataFrame(
        {
            "timestamp": pd.Timestamp("2024-01-01", tz="UTC")
            + pd.to_timedelta(np.cumsum(steps), unit="h"),
            "open": open_,
            "high": np.maximum(open_, close) * 1.001,
            "low": np.minimum(open_, close) * 0.999,
            "close": close,
            "volume": np.full(rows, 500.0),
            "segment": segment,
        }
    )


def garch_returns(
    rows: int, seed: int, omega: float = 2e-6, alpha: float = 0.15, beta: float = 0.8
) -> tuple[np.ndarray, np.ndarray]:
    """A GARCH(1,1) return series with Gaussian shocks: ``(returns, true conditional sd)``.

    ``s2_t = omega + alpha r_{t-1}^2 + beta s2_{t-1}``; the unconditional sd is
    ``sqrt(omega / (1 - alpha - beta))`` (about 0.63% a bar with the defaults).
    """
    rng = np.random.default_rng(seed)
    shocks = rng.standard_normal(rows)
    variance = np.empty(rows)
    returns = np.empty(rows)
    variance[0] = omega / (1.0 - alpha - beta)
    returns[0] = np.sqrt(variance[0]) * shocks[0]
    for t in range(1, rows):
        variance[t] = omega + alpha * returns[t - 1] ** 2 + beta * variance[t - 1]
        returns[t] = np.sqrt(variance[t]) * shocks[t]
    return returns, np.sqrt(variance)


def tiny_feature_table() -> pd.DataFrame:
    """Six hourly rows; val_start is row 4. Row 0 lacks a log return (first bar)."""
    stamps = pd.Timestamp("2024-01-01", tz="UTC") + pd.to_timedelta(range(6), unit="h")
    return pd.DataFrame(
        {
            "timestamp": stamps,
            "close": [100.0, 101.0, 102.0, 103.0, 104.0, 105.0],
            "segment": [0] * 6,
            # Row 0's other features are huge: a fit that keeps incomplete rows moves.
            "log_return": [NAN, 1.0, 2.0, 6.0, 50.0, 50.0],
            "log_high_low": [900.0, 2.0, 4.0, 12.0, 50.0, 50.0],
            "log_close_open": [900.0, 0.0, 0.0, 3.0, 50.0, 50.0],
            "log_volume_change": [900.0, 4.0, 5.0, 6.0, 50.0, 50.0],
            "hour_sin": [900.0, -1.0, 0.0, 1.0, 50.0, 50.0],
            "hour_cos": [900.0, 10.0, 20.0, 30.0, 50.0, 50.0],
            # target_h of row t is a value of bar t+h: training only while t+h < 4.
            "target_1": [1.0, 3.0, 8.0, 50.0, 50.0, NAN],
            "target_2": [2.0, 4.0, 50.0, 50.0, NAN, NAN],
        }
    )


TINY_VAL_START = pd.Timestamp("2024-01-01 04:00", tz="UTC")
# Feature rows 1..3 by hand (population standard deviation, as StandardScaler).
TINY_FEATURE_MEAN = [3.0, 6.0, 1.0, 5.0, 0.0, 20.0]
TINY_FEATURE_SCALE = [
    math.sqrt(14 / 3),  # 1, 2, 6: deviations -2, -1, 3
    math.sqrt(56 / 3),  # 2, 4, 12: deviations -4, -2, 6
    math.sqrt(2),  # 0, 0, 3: deviations -1, -1, 2
    math.sqrt(2 / 3),  # 4, 5, 6: deviations -1, 0, 1
    math.sqrt(2 / 3),
    math.sqrt(200 / 3),
]
TINY_TARGET_MEAN = [4.0, 3.0]  # target_1 rows 0..2: 1, 3, 8; target_2 rows 0..1: 2, 4
TINY_TARGET_SCALE = [math.sqrt(26 / 3), 1.0]
