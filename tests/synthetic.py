"""Small synthetic candles for unit tests (a seeded geometric random walk)."""

from __future__ import annotations

import numpy as np
import pandas as pd


def make_candles(rows: int, gaps: dict[int, int] | None = None, seed: int = 0) -> pd.DataFrame:
    """Clean hourly candles as the ingestion stage returns them.

    Args:
        rows: Bars to return.
        gaps: ``{row: missing_bars}``: that many hours are missing before ``row``.
        seed: RNG seed.

    Returns:
        ``timestamp, open, high, low, close, volume, segment``.
    """
    rng = np.random.default_rng(seed)
    steps = np.ones(rows, dtype=np.int64)
    steps[0] = 0
    segment = np.zeros(rows, dtype=np.int64)
    for row, missing in (gaps or {}).items():
        steps[row] += missing
        segment[row:] += 1
    timestamps = pd.Timestamp("2024-01-01", tz="UTC") + pd.to_timedelta(np.cumsum(steps), unit="h")
    close = 30_000 * np.exp(np.cumsum(rng.normal(0, 0.01, rows)))
    open_ = np.concatenate([[close[0]], close[:-1]])
    spread = np.abs(rng.normal(0, 0.003, rows)) * close
    return pd.DataFrame(
        {
            "timestamp": timestamps.as_unit("ns"),
            "open": open_,
            "high": np.maximum(open_, close) + spread,
            "low": np.minimum(open_, close) - spread,
            "close": close,
            "volume": rng.uniform(100, 1_000, rows),
            "segment": segment,
        }
    )
