"""Small candle frames and feature tables for the torch-free core's unit tests."""

from __future__ import annotations

import numpy as np
import pandas as pd

from lstm_forecast.timeseries.features import compute_features, compute_targets, target_columns


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
