"""Ingestion node: raw OHLCV CSV text in, clean regular-interval candles out, or a refusal.

Every refusal is a ``CandleDataError`` that names the file, the column as its header says
it, the first offending lines with their cells as written, and the parameter to change.
Bars are never invented: a gap in the data starts a new ``segment`` so that downstream
windows can stay inside contiguous runs of bars.
"""

from __future__ import annotations

import logging
from typing import Any

import pandas as pd

from lstm_forecast.errors import CandleDataError
from lstm_forecast.ohlcv_csv.layout import FIELDS, PRICE_COLUMNS, VALUE_COLUMNS
from lstm_forecast.ohlcv_csv.parsing import (
    parse_columns,
    refuse_collapsed_timestamps,
    strictly_increasing,
)
from lstm_forecast.ohlcv_csv.quality import Counts, listed_rows, quality_report, stale_bars
from lstm_forecast.ohlcv_csv.reading import read_table
from lstm_forecast.ohlcv_csv.rules import inconsistent_rows, validate_values
from lstm_forecast.ohlcv_csv.wording import FileView, describe, refuse_if

from .params import IngestionParams

logger = logging.getLogger(__name__)

OUTPUT_COLUMNS = (*FIELDS, "segment")


def clean_candles(
    raw_candles: str, ingestion: IngestionParams
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Parse, validate and order raw OHLCV candles.

    Args:
        raw_candles: The whole CSV file as text.
        ingestion: The ``ingestion`` parameters (Kedro validates them into this model;
            a plain mapping is validated the same way here).

    Returns:
        The candles (``timestamp, open, high, low, close, volume, segment``, sorted, one row
        per bar) and a JSON-serialisable data-quality summary.

    Raises:
        CandleDataError: If the file cannot be read or any check fails.
    """
    ingestion = IngestionParams.model_validate(ingestion)
    raw, view = read_table(raw_candles, ingestion.source)
    counts = Counts(rows_read=len(raw))
    raw = _drop_missing_rows(raw, counts)
    frame = parse_columns(raw, view)
    frame = _fill_missing_volume(frame, ingestion, counts)
    refuse_collapsed_timestamps(frame, view)
    frame = _drop_inconsistent(frame, view, ingestion, counts)
    validate_values(frame, view, ingestion)
    if not strictly_increasing(frame["timestamp"]):  # else no duplicate and nothing to sort
        frame = _drop_duplicates(frame, view, counts)
        frame = frame.sort_values("timestamp", kind="stable")
    frame = _assign_segments(frame, ingestion.step_ns)
    _check_length(frame, view, ingestion)
    stale = stale_bars(frame, view, ingestion)

    report = quality_report(frame, view, ingestion, counts, stale)
    logger.info(
        "Kept %d of %d rows from %s (bars of %s): %d gap(s), %d missing bar(s) (%d "
        "duplicate, %d empty and %d value-less rows dropped).",
        report["rows_kept"],
        counts.rows_read,
        view.path,
        ingestion.interval,
        report["gaps"],
        report["missing_bars"],
        counts.duplicates,
        counts.empty_rows,
        counts.missing_value_rows,
    )
    return frame.reset_index(drop=True), report


def _drop_missing_rows(raw: pd.DataFrame, counts: Counts) -> pd.DataFrame:
    """Drop empty rows and rows with a timestamp but no value at all (missing bars)."""
    missing = raw.isna()
    no_values = missing[list(VALUE_COLUMNS)].all(axis=1)
    empty = no_values & missing["timestamp"]
    counts.empty_rows = int(empty.sum())
    counts.missing_value_rows = int(no_values.sum()) - counts.empty_rows
    return raw.loc[~no_values] if no_values.any() else raw


def _fill_missing_volume(
    frame: pd.DataFrame, ingestion: IngestionParams, counts: Counts
) -> pd.DataFrame:
    """With ``missing_volume=zero``, a bar whose only missing cell is its volume trades 0."""
    if ingestion.missing_volume != "zero":
        return frame
    fill = frame["volume"].isna() & frame[["timestamp", *PRICE_COLUMNS]].notna().all(axis=1)
    counts.missing_volume_filled = int(fill.sum())
    if not fill.any():
        return frame
    return frame.assign(volume=frame["volume"].mask(fill, 0.0))


def _drop_inconsistent(
    frame: pd.DataFrame, view: FileView, ingestion: IngestionParams, counts: Counts
) -> pd.DataFrame:
    """With ``inconsistent_ohlc=drop``, rows whose high/low contradict open/close are gaps."""
    if ingestion.inconsistent_ohlc != "drop":
        return frame
    bad = inconsistent_rows(frame, ingestion.step_ns)
    if not bad.any():
        return frame
    rows = frame.index[bad]
    counts.inconsistent_count = len(rows)
    counts.inconsistent = listed_rows(view, rows)
    logger.warning(
        "%s: dropped %d row(s) whose high/low contradict open/close "
        "(ingestion.inconsistent_ohlc=drop); they become missing bars. First: %s",
        view.path,
        len(rows),
        view.quote(rows, ("timestamp", *PRICE_COLUMNS)),
    )
    return frame.loc[~bad]


def _drop_duplicates(frame: pd.DataFrame, view: FileView, counts: Counts) -> pd.DataFrame:
    """Drop repeated identical bars; refuse a timestamp that carries different values."""
    repeated = frame["timestamp"].duplicated(keep=False)
    if not repeated.any():
        return frame
    candidates = frame.loc[repeated]
    distinct = candidates.drop_duplicates()
    conflicting = distinct["timestamp"].duplicated(keep=False)
    if conflicting.any():
        clash = candidates[candidates["timestamp"].isin(distinct.loc[conflicting, "timestamp"])]
        clash = clash.sort_values("timestamp", kind="stable")
        paragraph = describe(
            view,
            "timestamp",
            "the same timestamp appears with different values",
            clash.index,
            "keep one row per bar: remove the conflicting duplicates from the file "
            "(identical duplicates are dropped automatically)",
            FIELDS,
        )
        refuse_if([paragraph], view)
    identical = candidates.index[candidates.duplicated(keep="first")]
    counts.duplicates = len(identical)
    return frame.drop(index=identical)


def _assign_segments(frame: pd.DataFrame, step_ns: int) -> pd.DataFrame:
    """Number contiguous runs of bars: the segment id grows by one after every gap."""
    steps = frame["timestamp"].dt.as_unit("ns").astype("int64").diff()
    frame = frame.assign(segment=(steps > step_ns).cumsum().astype("int64"))
    return frame[list(OUTPUT_COLUMNS)]


def _check_length(frame: pd.DataFrame, view: FileView, ingestion: IngestionParams) -> None:
    """Refuse a file whose longest contiguous run is shorter than ``min_segment_bars``."""
    needed = ingestion.min_segment_bars
    sizes = frame["segment"].value_counts()
    longest = int(sizes.max()) if len(sizes) else 0
    if longest >= needed:
        return
    where = ""
    if longest:
        bars = frame.index[frame["segment"] == sizes.idxmax()]
        where = (
            f" ({view.quote([bars[0]], ['timestamp'])} to {view.quote([bars[-1]], ['timestamp'])})"
        )
    raise CandleDataError(
        f"{view.path}: {view.label('timestamp')}: too few contiguous bars of "
        f"{ingestion.interval}: need at least {needed} (ingestion.min_segment_bars) in one "
        f"gap-free segment, found {longest}{where} among {len(frame)} bars in {len(sizes)} "
        "segment(s). Fix: use a longer file, check ingestion.interval, or lower "
        "ingestion.min_segment_bars."
    )
