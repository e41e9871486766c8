"""Ingestion node: raw OHLCV CSV text in, clean regular-interval candles out, or a refusal.

Every refusal is a ``CandleDataError`` that names the file, the column, the first offending
lines and the parameter to change. Bars are never invented: a gap in the data starts a new
``segment`` so that downstream windows can stay inside contiguous runs of bars.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pandas as pd
import pandera.pandas as pa

from lstm_forecast.errors import CandleDataError

from .parsing import (
    FIELDS,
    PRICE_COLUMNS,
    Layout,
    describe,
    interval_ns,
    layout_from_params,
    read_candles,
    refuse_if,
)

logger = logging.getLogger(__name__)

OUTPUT_COLUMNS = (*FIELDS, "segment")
GAP_POLICY = (
    "Missing bars are not filled: each gap starts a new segment, and windows never cross one."
)
_MAX_GAPS_LISTED = 50
_COLUMN_MAP = "check that ingestion.source.columns maps each field to the right file column"
# (column, pandera check name) -> (columns shown, problem, fix). Wide checks are filed under
# the column they guard.
_RULES = {
    **{
        (c, "not_nullable"): (
            (c,),
            "empty or NaN cell in an otherwise filled row",
            "fill the cell or delete the row (NaN is refused, not imputed)",
        )
        for c in FIELDS
    },
    **{
        (c, "positive_finite"): (
            (c,),
            "price is not a positive finite number",
            f"{_COLUMN_MAP}, or remove the rows",
        )
        for c in PRICE_COLUMNS
    },
    ("volume", "non_negative_finite"): (
        ("volume",),
        "volume is negative or infinite",
        f"{_COLUMN_MAP}, or remove the rows",
    ),
    ("high", "high_at_least_open_close"): (
        ("open", "high", "close"),
        "high is below max(open, close)",
        f"{_COLUMN_MAP}, or remove the corrupt rows",
    ),
    ("low", "low_at_most_open_close"): (
        ("open", "low", "close"),
        "low is above min(open, close)",
        f"{_COLUMN_MAP}, or remove the corrupt rows",
    ),
    ("timestamp", "on_interval_grid"): (
        ("timestamp",),
        "timestamp is not on the {interval} grid (multiples of "
        "the interval since 1970-01-01 00:00 UTC)",
        "set ingestion.interval to the file's bar interval; "
        "for local times set ingestion.source.timezone, for "
        "epoch numbers check ingestion.source.epoch_unit",
    ),
}


def clean_candles(
    raw_text: str, ingestion: dict[str, Any], window_length: int
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Parse, validate and order raw OHLCV candles.

    Args:
        raw_text: The whole CSV file as text.
        ingestion: The ``ingestion`` parameters (``source`` layout and ``interval``).
        window_length: Bars per model input window; the longest segment must hold
            ``window_length + 2`` bars.

    Returns:
        The candles (``timestamp, open, high, low, close, volume, segment``, sorted, one row
        per bar) and a JSON-serialisable data-quality summary.

    Raises:
        CandleDataError: If the file cannot be read or any check fails.
    """
    layout = layout_from_params(ingestion.get("source") or {})
    interval = str(ingestion.get("interval") or "1h")
    step_ns = interval_ns(interval, layout)

    frame, rows_read, empty_rows = read_candles(raw_text, layout)
    _validate_values(frame, layout, step_ns, interval)
    frame, duplicates = _drop_duplicates(frame, layout)
    frame = _assign_segments(frame.sort_values("timestamp", kind="stable"), step_ns)
    _check_length(frame, window_length, layout)

    report = _quality_report(
        frame,
        layout,
        interval,
        step_ns,
        rows_read=rows_read,
        duplicates=duplicates,
        empty_rows=empty_rows,
    )
    logger.info(
        "Kept %d of %d rows from %s: %d gap(s), %d missing bar(s) (%d duplicate and %d "
        "empty rows dropped).",
        report["rows_kept"],
        rows_read,
        layout.path,
        report["gaps"],
        report["missing_bars"],
        duplicates,
        empty_rows,
    )
    return frame.reset_index(drop=True), report


# ---------------------------------------------------------------------------- value rules
def _candle_schema(step_ns: int) -> pa.DataFrameSchema:
    """The value rules of parsed candles whose bars are ``step_ns`` nanoseconds apart."""
    positive = pa.Check(lambda s: np.isfinite(s) & (s > 0), name="positive_finite")
    non_negative = pa.Check(lambda s: np.isfinite(s) & (s >= 0), name="non_negative_finite")
    on_grid = pa.Check(
        lambda s: s.dt.as_unit("ns").astype("int64") % step_ns == 0, name="on_interval_grid"
    )
    # Rows with NaN already fail `not_nullable`; the wide checks let them pass so each row
    # is reported under the rule it actually breaks.
    high_ok = pa.Check(
        lambda df: (
            (df["high"] >= df[["open", "close"]].max(axis=1))
            | df[["open", "high", "close"]].isna().any(axis=1)
        ),
        name="high_at_least_open_close",
        ignore_na=False,
    )
    low_ok = pa.Check(
        lambda df: (
            (df["low"] <= df[["open", "close"]].min(axis=1))
            | df[["open", "low", "close"]].isna().any(axis=1)
        ),
        name="low_at_most_open_close",
        ignore_na=False,
    )
    columns = {"timestamp": pa.Column(pd.DatetimeTZDtype("ns", "UTC"), on_grid)}
    columns |= {name: pa.Column("float64", positive) for name in PRICE_COLUMNS}
    columns["volume"] = pa.Column("float64", non_negative)
    return pa.DataFrameSchema(columns, checks=[high_ok, low_ok], strict=True, ordered=True)


def _validate_values(frame: pd.DataFrame, layout: Layout, step_ns: int, interval: str) -> None:
    """Run the schema lazily and turn every failed rule into one refusal."""
    try:
        _candle_schema(step_ns).validate(frame, lazy=True, inplace=True)
    except pa.errors.SchemaErrors as exc:
        cases = exc.failure_cases
    else:
        return
    # Wide checks list every column of a bad row; file them under the column they guard.
    wide = {"high_at_least_open_close": "high", "low_at_most_open_close": "low"}
    column = cases["check"].map(wide).fillna(cases["column"])
    groups = cases.groupby([column, cases["check"]], sort=False)
    problems = []
    # Report in file column order so the message reads like the file.
    for (col, check), group in sorted(groups, key=lambda g: _field_order(g[0][0])):
        shown, problem, fix = _RULES.get(
            (col, check), ((col,), f"failed check {check!r}", "fix or remove the rows")
        )
        rows = pd.Index(group["index"].dropna().unique()).sort_values()
        problem = problem.format(interval=interval)
        problems.append(describe(layout, col, problem, frame.loc[rows, list(shown)], fix))
    refuse_if(problems, layout)


def _field_order(column: str) -> int:
    """Position of ``column`` among the required fields (unknown columns last)."""
    return FIELDS.index(column) if column in FIELDS else len(FIELDS)


# ------------------------------------------------------------------------------ shape checks
def _drop_duplicates(frame: pd.DataFrame, layout: Layout) -> tuple[pd.DataFrame, int]:
    """Drop repeated identical bars; refuse a timestamp that carries different values."""
    repeated = frame["timestamp"].duplicated(keep=False)
    if not repeated.any():
        return frame, 0
    candidates = frame.loc[repeated]
    distinct = candidates.drop_duplicates()
    conflicting = distinct["timestamp"].duplicated(keep=False)
    if conflicting.any():
        clash = candidates[candidates["timestamp"].isin(distinct.loc[conflicting, "timestamp"])]
        refuse_if(
            [
                describe(
                    layout,
                    "timestamp",
                    "the same timestamp appears with different values",
                    clash.sort_values("timestamp", kind="stable"),
                    "keep one row per bar: remove the conflicting duplicates from the file "
                    "(identical duplicates are dropped automatically)",
                )
            ],
            layout,
        )
    identical = candidates.index[candidates.duplicated(keep="first")]
    return frame.drop(index=identical), len(identical)


def _assign_segments(frame: pd.DataFrame, step_ns: int) -> pd.DataFrame:
    """Number contiguous runs of bars: the segment id grows by one after every gap."""
    steps = frame["timestamp"].dt.as_unit("ns").astype("int64").diff()
    frame = frame.assign(segment=(steps > step_ns).cumsum().astype("int64"))
    return frame[list(OUTPUT_COLUMNS)]


def _check_length(frame: pd.DataFrame, window_length: int, layout: Layout) -> None:
    """Refuse a file whose longest contiguous run cannot hold one window and its target."""
    needed = int(window_length) + 2
    sizes = frame["segment"].value_counts()
    longest = int(sizes.max()) if len(sizes) else 0
    if longest >= needed:
        return
    where = ""
    if longest:
        bars = frame[frame["segment"] == sizes.idxmax()]
        first, last = bars.index[0], bars.index[-1]
        where = (
            f" (line {layout.line(first)} {bars['timestamp'].iloc[0].isoformat()} to line "
            f"{layout.line(last)} {bars['timestamp'].iloc[-1].isoformat()})"
        )
    raise CandleDataError(
        f"{layout.path}: column 'timestamp': too few contiguous bars: need at least "
        f"{needed} (features.window_length={window_length} + 1 target + 1 for returns) in "
        f"one gap-free segment, found {longest}{where} among {len(frame)} bars in "
        f"{len(sizes)} segment(s). Fix: use a longer file, or lower features.window_length."
    )


# --------------------------------------------------------------------------------- reporting
def _quality_report(
    frame: pd.DataFrame,
    layout: Layout,
    interval: str,
    step_ns: int,
    *,
    rows_read: int,
    duplicates: int,
    empty_rows: int,
) -> dict[str, Any]:
    """The data-quality summary, in plain Python types so it serialises to JSON."""
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
        for end, n in zip(
            stamps[after_gap].head(_MAX_GAPS_LISTED), missing.head(_MAX_GAPS_LISTED), strict=True
        )
    ]
    return {
        "source_file": layout.path,
        "rows_read": int(rows_read),
        "rows_kept": len(frame),
        "duplicate_rows_dropped": int(duplicates),
        "null_rows_dropped": int(empty_rows),
        "gaps": int(after_gap.sum()),
        "missing_bars": int(missing.sum()),
        "segments": int(frame["segment"].max()) + 1 if len(frame) else 0,
        "gap_list": gap_list,
        "gap_list_truncated": bool(after_gap.sum() > _MAX_GAPS_LISTED),
        "start": stamps.iloc[0].isoformat() if len(frame) else None,
        "end": stamps.iloc[-1].isoformat() if len(frame) else None,
        "interval": interval,
        "gap_policy": GAP_POLICY,
    }
