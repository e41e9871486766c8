"""Volatility-aware features: range variance, realised variance, weekday and relative volume.

Each function is vectorised over a table of stacked segments (gap-free runs). A feature of
bar t reads bars t - lookback .. t only (``features.LOOKBACK``), and is NaN until the bar's
segment holds that many bars before it, so no value mixes two runs of candles. The
forecaster graph (``onnx/forecaster_graph.py``) computes the same quantities in float64.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

# Parkinson (1980): E[ln(high/low)^2] = 4 ln 2 * variance for a driftless random walk.
PARKINSON_DENOMINATOR = 4.0 * np.log(2.0)
# Garman and Klass (1980): 0.5 ln(h/l)^2 - (2 ln 2 - 1) ln(c/o)^2.
GARMAN_KLASS_CLOSE = 2.0 * np.log(2.0) - 1.0
# A variance fed to the network as a log must stay finite: a bar with high == low (no
# trade, a stale bar) or a negative Garman-Klass value reads as this floor, ln 1e-8 = -18.4.
# It is a range of ln(high/low) = 1.7e-4 (0.017%); on the shipped hourly candles the
# smallest Parkinson variance is 1.6e-6, 160 times above it.
VARIANCE_FLOOR = 1e-8
# Bars averaged by the realised-variance features: six hours, a day, a week of hourly bars.
VARIANCE_SPANS: tuple[int, ...] = (6, 24, 168)
# Bars averaged by the relative-volume feature's reference volume (bar t included).
RELATIVE_VOLUME_SPAN = 24
# ln of a zero volume against a traded mean is -inf: clipped, as log_volume_change is.
RELATIVE_VOLUME_CLIP = 10.0
# 1970-01-01 was a Thursday: (days since the epoch + 3) mod 7 counts from Monday = 0.
EPOCH_WEEKDAY = 3


def parkinson_variance(high: np.ndarray, low: np.ndarray) -> np.ndarray:
    """``ln(high_t / low_t)^2 / (4 ln 2)``, the bar's Parkinson variance (float64)."""
    return np.log(high / low) ** 2 / PARKINSON_DENOMINATOR


def garman_klass_variance(
    open_: np.ndarray, high: np.ndarray, low: np.ndarray, close: np.ndarray
) -> np.ndarray:
    """``0.5 ln(h/l)^2 - (2 ln 2 - 1) ln(c/o)^2``, the bar's Garman-Klass variance (may be < 0)."""
    return 0.5 * np.log(high / low) ** 2 - GARMAN_KLASS_CLOSE * np.log(close / open_) ** 2


def log_variance(variance: np.ndarray) -> np.ndarray:
    """``ln(max(variance, VARIANCE_FLOOR))``: finite for every bar; NaN stays NaN."""
    return np.log(np.maximum(variance, VARIANCE_FLOOR))


def segment_position(starts: np.ndarray) -> np.ndarray:
    """How many bars of its segment lie before each row (0 on a segment's first bar)."""
    rows = np.arange(len(starts))
    first = np.maximum.accumulate(np.where(starts, rows, 0))
    return rows - first


def trailing_mean(values: np.ndarray, span: int) -> np.ndarray:
    """Mean of ``values[t - span + 1 .. t]`` at every row ``t``; NaN for the first ``span - 1``.

    A NaN inside the span gives NaN. Segment boundaries are the caller's (``masked``).
    """
    out = np.full(len(values), np.nan)
    if len(values) >= span:
        windows = np.lib.stride_tricks.sliding_window_view(values, span)
        out[span - 1 :] = windows.sum(axis=1) / span
    return out


def masked(values: np.ndarray, position: np.ndarray, lookback: int) -> np.ndarray:
    """``values`` with NaN where the segment holds fewer than ``lookback`` bars before the row."""
    values[position < lookback] = np.nan
    return values


def day_of_week(stamps: pd.Series) -> np.ndarray:
    """The UTC weekday of each time as float64, Monday = 0 .. Sunday = 6 (naive times are UTC)."""
    tz = getattr(stamps.dtype, "tz", None)
    if tz is not None and str(tz) != "UTC":
        stamps = stamps.dt.tz_convert("UTC")
    return stamps.dt.day_of_week.to_numpy(dtype=np.float64)


def relative_volume(volume: np.ndarray, position: np.ndarray) -> np.ndarray:
    """``clip(ln(v_t / mean(v_{t-23..t})), -10, 10)``; 0 when all 24 volumes are 0.

    NaN until the segment holds ``RELATIVE_VOLUME_SPAN`` bars. The reference includes bar t,
    so the value never exceeds ln 24; a zero volume among traded bars gives -10.
    """
    mean = trailing_mean(volume, RELATIVE_VOLUME_SPAN)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.log(volume / mean)
    ratio[(mean == 0) & (volume == 0)] = 0.0  # nothing traded in the whole day: no signal
    ratio = np.clip(ratio, -RELATIVE_VOLUME_CLIP, RELATIVE_VOLUME_CLIP)
    return masked(ratio, position, RELATIVE_VOLUME_SPAN - 1)
