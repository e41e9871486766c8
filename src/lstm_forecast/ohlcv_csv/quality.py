"""What the data-quality report says about clean candles: gaps, stale bars, dropped rows."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from lstm_forecast.errors import CandleDataError

from .layout import FIELDS, VALUE_COLUMNS, CandlePolicy
from .wording import FileView, describe

logger = logging.getLogger(__name__)

GAP_POLICY = (
    "Missing bars are not filled: each gap starts a new segment, and windows never cross one."
)
MAX_LISTED = 50  # gaps listed in the report
MAX_EXAMPLES = 10  # dropped or stale rows listed in the report


@dataclass
class Counts:
    """Rows read, and rows dropped or repaired on the way to clean candles."""

    rows_read: int = 0
    empty_rows: int = 0
    missing_value_rows: int = 0
    missing_volume_filled: int = 0
    duplicates: int = 0
    inconsistent: list[dict[str, Any]] = field(default_factory=list)
    inconsistent_count: int = 0


def listed_rows(view: FileView, rows: pd.Index) -> list[dict[str, Any]]:
    """The first rows of ``rows`` as ``{line, cells}`` with the file's own tokens."""
    shown = list(rows[:MAX_EXAMPLES])
    cells = view.tokens(shown, FIELDS)
    return [{"line": view.line(row), "cells": cells[row]} for row in shown]


def stale_bars(frame: pd.DataFrame, view: FileView, ingestion: CandlePolicy) -> pd.Index:
    """Rows identical to the bar just before them in all five values (forward-filled bars).

    ``frame`` holds at least ``min_segment_bars`` (>= 2) bars: shorter files were refused.

    Logs a warning when their share is above ``stale_warn_fraction``, and refuses then if
    ``stale_bars`` is ``refuse``.

    Raises:
        CandleDataError: If the share is too high and the policy is ``refuse``.
    """
    values = frame[list(VALUE_COLUMNS)].to_numpy()
    stamps = frame["timestamp"].dt.as_unit("ns").astype("int64").to_numpy()
    same = np.zeros(len(frame), dtype=bool)
    same[1:] = (values[1:] == values[:-1]).all(axis=1) & (np.diff(stamps) == ingestion.step_ns)
    rows = frame.index[same]
    share = len(rows) / len(frame)
    if share <= ingestion.stale_warn_fraction:
        return rows
    what = (
        f"{len(rows)} of {len(frame)} bars ({share:.1%}) repeat the bar before them in all "
        "five values (forward-filled idle bars?)"
    )
    if ingestion.stale_bars == "refuse":
        paragraph = describe(
            view,
            "timestamp",
            f"{what}, above ingestion.stale_warn_fraction={ingestion.stale_warn_fraction}",
            rows,
            "use a file without filled-in bars, or set ingestion.stale_bars=keep",
            FIELDS,
        )
        raise CandleDataError(f"{view.path}: cannot use this file as candles:\n- {paragraph}")
    logger.warning(
        "%s: %s, first at line %d; the model learns nothing from them. Set "
        "ingestion.stale_bars=refuse to stop on such files.",
        view.path,
        what,
        view.line(rows[0]),
    )
    return rows


def quality_report(
    frame: pd.DataFrame,
    view: FileView,
    ingestion: CandlePolicy,
    counts: Counts,
    stale: pd.Index,
) -> dict[str, Any]:
    """The data-quality summary of non-empty candles, in plain types that serialise to JSON."""
    step_ns = ingestion.step_ns
    stamps = frame["timestamp"]
    steps = stamps.dt.as_unit("ns").astype("int64").diff()
    after_gap = steps > step_ns
    missing = (steps[after_gap] // step_ns - 1).astype("int64")
    step = pd.Timedelta(step_ns, unit="ns")
    gap_list = [
        {
            "start": (end - step * int(n)).isoformat(),
            "end": (end - step).isoformat(),
            "missing_bars": int(n),
        }
        for end, n in zip(stamps[after_gap].head(MAX_LISTED), missing.head(MAX_LISTED), strict=True)
    ]
    return {
        "source_file": view.path,
        "interval": ingestion.interval,
        "interval_seconds": step_ns / 1e9,
        "rows_read": int(counts.rows_read),
        "rows_kept": len(frame),
        "duplicate_rows_dropped": int(counts.duplicates),
        "null_rows_dropped": int(counts.empty_rows),
        "missing_value_rows_dropped": int(counts.missing_value_rows),
        "missing_volume_filled": int(counts.missing_volume_filled),
        "inconsistent_ohlc_rows_dropped": int(counts.inconsistent_count),
        "inconsistent_ohlc_rows": counts.inconsistent,
        "stale_bars": len(stale),
        "stale_fraction": round(len(stale) / len(frame), 6),
        "stale_bar_lines": [view.line(row) for row in stale[:MAX_EXAMPLES]],
        "gaps": int(after_gap.sum()),
        "missing_bars": int(missing.sum()),
        "segments": int(frame["segment"].max()) + 1,
        "gap_list": gap_list,
        "gap_list_truncated": bool(after_gap.sum() > MAX_LISTED),
        "start": stamps.iloc[0].isoformat(),
        "end": stamps.iloc[-1].isoformat(),
        "gap_policy": GAP_POLICY,
    }
