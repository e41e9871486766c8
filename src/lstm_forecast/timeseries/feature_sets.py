"""Named feature sets: which features a model reads, each in words, and how far back.

``basic`` is the six features of every run before feature sets (old runs stay reproducible
bit for bit); ``volatility`` adds range-based variance and its trailing means, the weekday
and the relative volume. The arithmetic is in ``features.py`` and ``volatility_features.py``,
and again in the forecaster's graph (``onnx/forecaster_graph.py``).
"""

from __future__ import annotations

from collections.abc import Sequence

from .volatility_features import RELATIVE_VOLUME_SPAN, VARIANCE_FLOOR, VARIANCE_SPANS

# The model's input columns of the `basic` set, in order: the six features every run before
# feature sets had. Every one of them uses bars t and t-1 only.
FEATURE_NAMES: tuple[str, ...] = (
    "log_return",
    "log_high_low",
    "log_close_open",
    "log_volume_change",
    "hour_sin",
    "hour_cos",
)

_SPANS = VARIANCE_SPANS
# Named feature sets (`features.feature_set`). `volatility` adds range-based variance, its
# trailing means over 6, 24 and 168 bars, the weekday and the relative volume (the means of
# ranges had a lower validation loss than those of squared returns, `volatility_returns`);
# `volatility_gk` adds Garman-Klass, within seed noise on one year (README "Features").
FEATURE_SETS: dict[str, tuple[str, ...]] = {
    "basic": FEATURE_NAMES,
    "volatility": (
        *FEATURE_NAMES,
        "log_range_var",
        *(f"log_range_rv_{n}" for n in _SPANS),
        "dow_sin",
        "dow_cos",
        "log_relative_volume",
    ),
    "volatility_returns": (
        *FEATURE_NAMES,
        "log_range_var",
        *(f"log_rv_{n}" for n in _SPANS),
        "dow_sin",
        "dow_cos",
        "log_relative_volume",
    ),
    "volatility_gk": (
        *FEATURE_NAMES,
        "log_range_var",
        "log_gk_var",
        *(f"log_range_rv_{n}" for n in _SPANS),
        "dow_sin",
        "dow_cos",
        "log_relative_volume",
    ),
}

_FLOOR = f"{VARIANCE_FLOOR:g}"
_P = "P_t = ln(high_t / low_t)^2 / (4 ln 2) (Parkinson)"
_R = "r_t = ln(close_t / close_{t-1})"
# Each feature in words, for consumers that only have the ONNX file and its sidecar.
FEATURE_FORMULAS: dict[str, str] = {
    "log_return": "ln(close_t / close_{t-1})",
    "log_high_low": "ln(high_t / low_t)",
    "log_close_open": "ln(close_t / open_t)",
    "log_volume_change": "clip(ln(base_volume_t / base_volume_{t-1}), -10, 10); 0 when both are 0",
    "hour_sin": "sin(2 pi hour_utc(open_time_t) / 24)",
    "hour_cos": "cos(2 pi hour_utc(open_time_t) / 24)",
    "log_range_var": f"ln(max(P_t, {_FLOOR})), {_P}",
    "log_gk_var": f"ln(max(G_t, {_FLOOR})), G_t = 0.5 ln(high_t / low_t)^2 - (2 ln 2 - 1) "
    "ln(close_t / open_t)^2 (Garman-Klass)",
    **{
        f"log_range_rv_{n}": f"ln(max(mean(P_{{t-{n - 1}}} .. P_t), {_FLOOR})), {_P}"
        for n in _SPANS
    },
    **{f"log_rv_{n}": f"ln(max(mean(r_{{t-{n - 1}}}^2 .. r_t^2), {_FLOOR})), {_R}" for n in _SPANS},
    "dow_sin": "sin(2 pi weekday_utc(open_time_t) / 7), weekday = (floor(open_time_t / 86400) "
    "+ 3) mod 7, Monday = 0",
    "dow_cos": "cos(2 pi weekday_utc(open_time_t) / 7)",
    "log_relative_volume": "clip(ln(base_volume_t / mean(base_volume_{t-23} .. base_volume_t)), "
    "-10, 10); 0 when all 24 are 0",
}

# Bars before bar t that each feature reads. A feature is NaN on a bar whose segment holds
# fewer bars before it, and the forecaster's input carries this many bars before its window.
LOOKBACK: dict[str, int] = {
    "log_return": 1,
    "log_volume_change": 1,
    **{f"log_range_rv_{n}": n - 1 for n in _SPANS},
    **{f"log_rv_{n}": n for n in _SPANS},
    "log_relative_volume": RELATIVE_VOLUME_SPAN - 1,
}


def lookback(names: Sequence[str]) -> int:
    """Bars before a window's first bar that its features read (at least 1: the first return)."""
    return max(1, *(LOOKBACK.get(name, 0) for name in names))


def context_length(window_length: int, names: Sequence[str]) -> int:
    """Bars of history a forecast reads besides the one extra first bar: the forecaster's
    input is ``context_length + 1`` bars and the network sees the last ``window_length``."""
    return window_length + lookback(names) - 1


def feature_set(name: str) -> tuple[str, ...]:
    """The feature names of a named set (``FEATURE_SETS``)."""
    if name not in FEATURE_SETS:
        raise ValueError(f"Unknown feature set {name!r}; choose one of {sorted(FEATURE_SETS)}.")
    return FEATURE_SETS[name]
