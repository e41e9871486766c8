"""Vectorised features and multi-horizon targets computed from clean candles."""

from __future__ import annotations

from collections.abc import Sequence
from functools import cached_property

import numpy as np
import pandas as pd

from .feature_sets import (
    FEATURE_FORMULAS,
    FEATURE_NAMES,
    FEATURE_SETS,
    LOOKBACK,
    context_length,
    feature_set,
    lookback,
)
from .volatility_features import (
    day_of_week,
    garman_klass_variance,
    log_variance,
    masked,
    parkinson_variance,
    relative_volume,
    segment_position,
    trailing_mean,
)

__all__ = [
    "FEATURE_FORMULAS",
    "FEATURE_NAMES",
    "FEATURE_SETS",
    "LOOKBACK",
    "compute_features",
    "context_length",
    "feature_arrays",
    "feature_set",
    "lookback",
]

# The volume feature is a ratio, so it means the same on every exchange, coin and year: a
# window's volumes times any constant give the same feature (the level of volume, 58 BTC an
# hour on one exchange against 1,900 on another, is not learnt). A zero volume next to a
# traded one would be an infinite log ratio: it is clipped to VOLUME_CHANGE_CLIP.
VOLUME_CHANGE_CLIP = 10.0

# A window extrapolates when a feature of one of its bars lies beyond the training rows'
# range by more than this share of that range (the contract records range and margin).
EXTRAPOLATION_MARGIN = 0.5
EXTRAPOLATION_RULE = (
    "true when any feature of any bar of the window lies outside [min - margin * (max - min), "
    "max + margin * (max - min)] of the training rows"
)


def compute_features(candles: pd.DataFrame, names: Sequence[str] = FEATURE_NAMES) -> pd.DataFrame:
    """Compute the model features of every bar.

    A feature is NaN on a bar whose segment holds fewer than its ``LOOKBACK`` bars before
    it (the first bar of each segment has no ``log_return``); windows never include such a bar.

    Args:
        candles: Clean candles with ``timestamp, open, high, low, close, volume, segment``.
        names: The features wanted, in order (default: the ``basic`` set).

    Returns:
        A frame with one column per name, aligned with ``candles``.
    """
    return pd.DataFrame(feature_arrays(candles, names), index=candles.index, copy=False)


def feature_arrays(
    candles: pd.DataFrame, names: Sequence[str] = FEATURE_NAMES
) -> dict[str, np.ndarray]:
    """``compute_features`` as one float64 array per feature name (no frame is built)."""
    unknown = [name for name in names if name not in FEATURE_FORMULAS]
    if unknown:
        raise ValueError(f"Unknown features {unknown}; known: {sorted(FEATURE_FORMULAS)}.")
    bars = _Bars(candles)
    return {name: bars.feature(name) for name in names}


class _Bars:
    """One table's intermediate arrays, each computed once and only when a feature needs it."""

    def __init__(self, candles: pd.DataFrame) -> None:
        self.candles = candles

    def column(self, name: str) -> np.ndarray:
        return self.candles[name].to_numpy(dtype=np.float64)

    @cached_property
    def starts(self) -> np.ndarray:
        return _segment_starts(self.candles["segment"].to_numpy())

    @cached_property
    def position(self) -> np.ndarray:
        return segment_position(self.starts)

    @cached_property
    def log_return(self) -> np.ndarray:
        log_close = np.log(self.column("close"))
        log_return = np.empty_like(log_close)
        log_return[:1] = np.nan
        np.subtract(log_close[1:], log_close[:-1], out=log_return[1:])
        # A return across a gap spans several bars: it is not the same quantity.
        log_return[self.starts] = np.nan
        return log_return

    @cached_property
    def parkinson(self) -> np.ndarray:
        return parkinson_variance(self.column("high"), self.column("low"))

    @cached_property
    def hour_angle(self) -> np.ndarray:
        return 2.0 * np.pi * _utc_hour(self.candles["timestamp"]) / 24.0

    @cached_property
    def weekday_angle(self) -> np.ndarray:
        return 2.0 * np.pi * day_of_week(self.candles["timestamp"]) / 7.0

    def feature(self, name: str) -> np.ndarray:
        """The feature ``name`` of every bar (a fresh array)."""
        simple = {
            "log_return": lambda: np.copy(self.log_return),
            "log_high_low": lambda: np.log(self.column("high") / self.column("low")),
            "log_close_open": lambda: np.log(self.column("close") / self.column("open")),
            "log_volume_change": lambda: volume_change(self.column("volume"), self.starts),
            "hour_sin": lambda: np.sin(self.hour_angle),
            "hour_cos": lambda: np.cos(self.hour_angle),
            "log_range_var": lambda: log_variance(self.parkinson),
            "log_gk_var": lambda: log_variance(
                garman_klass_variance(*(self.column(c) for c in ("open", "high", "low", "close")))
            ),
            "dow_sin": lambda: np.sin(self.weekday_angle),
            "dow_cos": lambda: np.cos(self.weekday_angle),
            "log_relative_volume": lambda: relative_volume(self.column("volume"), self.position),
        }
        if name in simple:
            return simple[name]()
        stem, span = name.rsplit("_", 1)
        source = {"log_range_rv": self.parkinson, "log_rv": self.log_return**2}[stem]
        mean = trailing_mean(source, int(span))
        return masked(log_variance(mean), self.position, LOOKBACK[name])


def volume_change(volume: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """``ln(v_t / v_{t-1})``, clipped; 0 for 0/0; NaN on the first bar of each segment.

    Args:
        volume: ``[rows]`` base volumes (float64).
        starts: ``[rows]`` True where a segment (a gap-free run) begins.

    Returns:
        ``[rows]`` float64, the same arithmetic as the forecaster's graph.
    """
    change = np.full_like(volume, np.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = volume[1:] / volume[:-1]
        step = np.log(ratio)
    step[np.isnan(step)] = 0.0  # 0 / 0: no trade in either bar, no change
    change[1:] = np.clip(step, -VOLUME_CHANGE_CLIP, VOLUME_CHANGE_CLIP)
    change[starts] = np.nan
    return change


def extrapolation_bounds(feature_range: dict) -> tuple[np.ndarray, np.ndarray]:
    """The ``[low, high]`` per feature that a window must stay within (``EXTRAPOLATION_RULE``)."""
    low = np.asarray(feature_range["min"], dtype=np.float64)
    high = np.asarray(feature_range["max"], dtype=np.float64)
    margin = float(feature_range["margin"]) * (high - low)
    return low - margin, high + margin


def extrapolating(values: np.ndarray, feature_range: dict) -> np.ndarray:
    """Which windows extrapolate: ``[b, L, F]`` unscaled features -> ``[b]`` bool."""
    low, high = extrapolation_bounds(feature_range)
    outside = (values < low) | (values > high)
    return outside.reshape(len(values), -1).any(axis=1)


def _utc_hour(stamps: pd.Series) -> np.ndarray:
    """The UTC hour of each time as float64 (naive times are UTC), as the ONNX graph has it."""
    tz = getattr(stamps.dtype, "tz", None)
    if tz is not None and str(tz) != "UTC":
        stamps = stamps.dt.tz_convert("UTC")  # the wall-clock hour elsewhere is another feature
    values = stamps.array.asi8 if hasattr(stamps.array, "asi8") else None
    if values is None or stamps.hasnans:
        return stamps.dt.hour.to_numpy(dtype=np.float64)
    unit = stamps.array.unit
    per_hour = 3600 * {"s": 1, "ms": 10**3, "us": 10**6, "ns": 10**9}[unit]
    return ((values // per_hour) % 24).astype(np.float64)


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


def _segment_starts(segment: np.ndarray) -> np.ndarray:
    starts = np.ones(len(segment), dtype=bool)
    starts[1:] = segment[1:] != segment[:-1]
    return starts
