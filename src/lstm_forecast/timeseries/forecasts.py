"""Quantile forecasts as tables: one row per (origin, horizon step), one column per level."""

from __future__ import annotations

import numpy as np
import pandas as pd


def level_column(level: float) -> str:
    """Column name of a quantile level, e.g. ``q0.05``."""
    return f"q{level:g}"


def to_frame(
    origin_time: pd.Series | np.ndarray,
    last_close: np.ndarray,
    prices: np.ndarray,
    levels: list[float] | tuple[float, ...],
    interval: str | pd.Timedelta,
    actual_close: np.ndarray | None = None,
) -> pd.DataFrame:
    """Lay ``[n, horizon, q]`` price quantiles out as a long table.

    Returns:
        Columns ``origin_time`` (last bar used), ``h``, ``forecast_time`` (the bar forecast),
        ``last_close``, ``actual_close`` (when given), then one ``q<level>`` per level.
    """
    n, horizon, _ = prices.shape
    origin = pd.DatetimeIndex(origin_time)
    steps = np.tile(np.arange(1, horizon + 1), n)
    table = {
        "origin_time": origin.repeat(horizon),
        "h": steps,
        "forecast_time": origin.repeat(horizon) + pd.to_timedelta(steps * pd.Timedelta(interval)),
        "last_close": np.repeat(np.asarray(last_close, dtype=np.float64), horizon),
    }
    if actual_close is not None:
        table["actual_close"] = np.asarray(actual_close, dtype=np.float64).reshape(-1)
    for index, level in enumerate(levels):
        table[level_column(level)] = prices[:, :, index].reshape(-1)
    return pd.DataFrame(table)


def from_frame(frame: pd.DataFrame) -> dict[str, np.ndarray]:
    """Invert ``to_frame``: ``origin_time [n]``, ``last_close [n]``, ``actual [n, h]``,
    ``prices [n, h, q]`` and ``levels [q]``."""
    horizon = int(frame["h"].max())
    n = len(frame) // horizon
    columns = [c for c in frame.columns if c.startswith("q")]
    levels = np.array([float(c[1:]) for c in columns])
    return {
        "origin_time": frame["origin_time"].to_numpy()[::horizon],
        "last_close": frame["last_close"].to_numpy()[::horizon],
        "actual": frame["actual_close"].to_numpy().reshape(n, horizon)
        if "actual_close" in frame
        else None,
        "prices": frame[columns].to_numpy().reshape(n, horizon, len(columns)),
        "levels": levels,
    }


def interval_of(frame: pd.DataFrame) -> str:
    """The bar interval of a forecast table as a pandas alias with its count, e.g. ``1h``."""
    seconds = int(
        pd.Timedelta(frame["forecast_time"].iloc[0] - frame["origin_time"].iloc[0]).total_seconds()
    )
    for unit, size in (("D", 86400), ("h", 3600), ("min", 60)):
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"
