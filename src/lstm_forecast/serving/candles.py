"""Checking the candles of a request before they reach the forecaster, naming field and bar.

A clean window passes one cheap vectorised gate. Only a window that fails it is explained,
with the ingestion stage's own value rules (``RULES``: the rules training data passed) and
the order and gap checks of a window, so a request is refused for the same reasons a CSV is.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from lstm_forecast.ohlcv_csv.layout import FIELDS
from lstm_forecast.ohlcv_csv.rules import RULES

from .problems import Problem

_VALUES = FIELDS[1:]  # open, high, low, close, volume


def to_arrays(candles: Sequence[Any]) -> tuple[np.ndarray, np.ndarray]:
    """``[n, 5]`` float64 values and ``[n]`` float64 epoch seconds of request candles."""
    values = np.array([(c.open, c.high, c.low, c.close, c.volume) for c in candles], np.float64)
    times = np.array([c.time for c in candles], np.float64)
    return values.reshape(-1, 5), times


def iso(seconds: float) -> str:
    """An epoch time as ISO 8601 UTC with a ``Z``."""
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def check_window(
    values: np.ndarray,
    times: np.ndarray,
    needed: int,
    step_s: int,
    prefix: str,
    offset: int = 0,
    template: str | None = None,
) -> list[dict[str, Any]]:
    """Every problem of the last ``needed`` candles; empty when they can be forecast.

    Args:
        values: ``[n, 5]`` open, high, low, close, volume.
        times: ``[n]`` bar open times, epoch seconds.
        needed: The contract's ``input_length`` (``context_length + 1``).
        step_s: The model's bar interval in seconds.
        prefix: The JSON pointer of the candles list (``/candles`` or ``/windows/3/candles``).
        template: The pointer of one value, with ``{bar}`` and ``{column}``; by default
            ``<prefix>/{bar}/{column}`` (a list of candle objects).
        offset: Index of ``values[0]`` in the request's list.
    """
    if len(values) < needed:
        return [
            {
                "pointer": prefix,
                "field": _field(prefix),
                "problem": (
                    f"{len(values)} candles, the model needs at least {needed} (context_length "
                    f"{needed - 1} + 1 for the first return), oldest first"
                ),
            }
        ]
    start = len(values) - needed
    values, times = values[start:], times[start:]
    if _clean(values, times, step_s):
        return []
    where = _Where(prefix, template or prefix + "/{bar}/{column}", offset + start)
    return _explain(values, times, step_s, where)


def _clean(values: np.ndarray, times: np.ndarray, step_s: int) -> bool:
    return bool(clean_windows(values[None], times[None], step_s)[0])


def clean_windows(values: np.ndarray, times: np.ndarray, step_s: int) -> np.ndarray:
    """Which of ``[b, n, 5]`` windows (``[b, n]`` times) need no explaining: the cheap gate."""
    open_, high, low, close, volume = np.moveaxis(values, -1, 0)
    with np.errstate(invalid="ignore"):
        fine = (
            np.isfinite(values).all(axis=(1, 2))
            & (values[..., :4] > 0).all(axis=(1, 2))
            & (volume >= 0).all(axis=1)
            & (high >= np.maximum(open_, close)).all(axis=1)
            & (low <= np.minimum(open_, close)).all(axis=1)
            & (times % step_s == 0).all(axis=1)
        )
    return fine & (np.diff(times, axis=1) == step_s).all(axis=1)


class _Where(NamedTuple):
    prefix: str  # the list's pointer
    template: str  # one value's pointer, with {bar} and {column}
    offset: int  # index of the first checked bar in the request's list


def _explain(values: np.ndarray, times: np.ndarray, step_s: int, where: _Where) -> list[dict]:
    frame = pd.DataFrame(values, columns=list(_VALUES))
    frame.insert(0, "timestamp", pd.to_datetime(times, unit="s", utc=True).as_unit("ns"))
    bad = ~np.isfinite(values)
    errors = [
        _error(where, bar, _VALUES[col], times, "is NaN or infinite")
        for bar, col in zip(*np.nonzero(bad), strict=True)
    ]
    broken = bad.any(axis=1)
    high_low = (frame["high"] < frame["low"]).to_numpy() & ~broken
    errors += [
        _error(where, bar, "high", times, "high is below low") for bar in np.flatnonzero(high_low)
    ]
    broken |= high_low
    for rule in RULES:  # the ingestion stage's rules, with their own words
        if rule.check is None:
            continue  # missing cells: reported above as NaN
        data = frame if rule.wide else frame[rule.column]
        failed = ~np.asarray(rule.check(data, step_s * 10**9), dtype=bool) & ~broken
        problem = rule.problem.format(interval=f"{step_s} s")
        errors += [
            _error(where, bar, rule.column, times, problem) for bar in np.flatnonzero(failed)
        ]
    return errors + _order_and_gaps(times, step_s, where)


def _order_and_gaps(times: np.ndarray, step_s: int, where: _Where) -> list[dict]:
    steps = np.diff(times)
    if len(steps) and (steps < 0).all():
        return [
            {
                "pointer": where.prefix,
                "field": _field(where.prefix),
                "problem": ("the candles are newest first; send them oldest first"),
            }
        ]
    errors = []
    for index in np.flatnonzero(steps != step_s):
        bar, step = index + 1, steps[index]
        if step <= 0:
            problem = f"not after the bar before it ({iso(times[index])}): candles go oldest first"
        elif step % step_s == 0:
            problem = (
                f"a gap: {int(step // step_s) - 1} bar(s) missing after "
                f"{iso(times[index])}; a window must be consecutive"
            )
        else:
            problem = f"{step:g} s after the bar before it; the model's interval is {step_s} s"
        errors.append(_error(where, bar, "timestamp", times, problem))
    return errors


def _error(where: _Where, bar: int, column: str, times: np.ndarray, problem: str) -> dict[str, Any]:
    name = "time" if column == "timestamp" else column
    index = where.offset + int(bar)
    pointer = where.template.format(bar=index, column=name)
    return {
        "pointer": pointer,
        "field": _field(pointer),
        "bar": index,
        "time": iso(times[bar]) if np.isfinite(times[bar]) else None,
        "problem": problem,
    }


def _field(prefix: str) -> str:
    parts = prefix.strip("/").split("/")
    text = ""
    for part in parts:
        text += f"[{part}]" if part.isdigit() else (f".{part}" if text else part)
    return text


def refuse(errors: list[dict[str, Any]]) -> Problem:
    """The 422 answer for a list of candle problems."""
    first = errors[0]
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    return Problem(422, "Candles refused", f"{first['field']}: {first['problem']}{more}", errors)
