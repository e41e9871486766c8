"""Ingestion node: raw OHLCV CSV text in, clean regular-interval candles out, or a refusal.

Every refusal is a ``CandleDataError`` that names the file, the column as its header says
it, the first offending lines with their cells as written, and the parameter to change.
Bars are never invented: a gap in the data starts a new ``segment`` so that downstream
windows can stay inside contiguous runs of bars.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import PurePosixPath
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
# Keys of params:ingestion that choose the assets; the rest is a file's layout and policies.
_ASSET_KEYS = ("assets", "candles_dir", "asset_layouts", "raw_csv")


def clean_assets(
    raw_candle_files: dict[str, Callable[[], str]], raw_candles: str, ingestion: IngestionParams
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Clean every asset of the run on its own, and stack them with an ``asset`` column.

    Args:
        raw_candle_files: Lazy loaders of the CSVs under ``ingestion.candles_dir``, by stem.
        raw_candles: The text of ``raw_csv`` (used only when ``ingestion.raw_csv`` is set).
        ingestion: ``params:ingestion``; ``asset_layouts`` overrides it per asset.

    Returns:
        The candles of all assets (asset after asset, each sorted; ``segment`` numbered
        across assets, so no window crosses one) and the report: ``interval``,
        ``interval_seconds``, ``assets`` (names) and one section per asset in ``by_asset``.

    Raises:
        CandleDataError: If an asset's file is missing or refused (naming asset and file),
            or the assets have different intervals.
    """
    ingestion = IngestionParams.model_validate(ingestion)
    frames, sections = [], {}
    for name, text, params in _asset_inputs(raw_candle_files, raw_candles, ingestion):
        try:
            frame, report = clean_candles(text, params)
        except CandleDataError as exc:
            raise CandleDataError(f"asset {name}: {exc}") from exc
        offset = int(frames[-1]["segment"].iloc[-1]) + 1 if frames else 0
        frames.append(frame.assign(segment=frame["segment"] + offset, asset=name))
        sections[name] = report
    intervals = {name: section["interval_seconds"] for name, section in sections.items()}
    if len(set(intervals.values())) > 1:
        raise CandleDataError(
            f"The assets have different bar intervals (seconds: {intervals}); one model "
            "forecasts one interval. Fix: ingestion.interval, or ingestion.asset_layouts."
        )
    first = next(iter(sections.values()))
    report = {
        "interval": first["interval"],
        "interval_seconds": first["interval_seconds"],
        "assets": list(sections),
        "by_asset": sections,
    }
    return pd.concat(frames, ignore_index=True), report


def _asset_inputs(
    files: dict[str, Callable[[], str]], raw_candles: str, ingestion: IngestionParams
) -> list[tuple[str, str, IngestionParams]]:
    """Each asset's name, file text and layout (the block merged with its override)."""
    base = ingestion.model_dump(exclude=set(_ASSET_KEYS))
    if ingestion.raw_csv is not None:
        name = PurePosixPath(ingestion.raw_csv).stem
        return [(name, raw_candles, _merged(base, ingestion.asset_layouts.get(name, {})))]
    missing = [name for name in ingestion.assets if name not in files]
    if missing:
        raise CandleDataError(
            f"asset(s) {missing}: no file {ingestion.candles_dir}/<asset>.csv (found "
            f"{sorted(files) or 'none'}). Fix: fetch them (`kedro run --pipelines=fetch`), put "
            "the CSVs there, or change ingestion.assets."
        )
    inputs = []
    for name in ingestion.assets:
        layout = _merged(base, ingestion.asset_layouts.get(name, {}))
        path = f"{ingestion.candles_dir.rstrip('/')}/{name}.csv"
        source = layout.source.model_copy(update={"path": path})
        layout = layout.model_copy(update={"source": source})
        inputs.append((name, files[name](), layout))
    return inputs


def _merged(base: dict[str, Any], override: dict[str, Any]) -> IngestionParams:
    """``base`` with ``override`` merged key by key (nested blocks too), validated."""

    def merge(into: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
        out = dict(into)
        for key, value in extra.items():
            both = isinstance(value, dict) and isinstance(out.get(key), dict)
            out[key] = merge(out[key], value) if both else value
        return out

    return IngestionParams.model_validate(merge(base, dict(override)))


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
    frame = _drop_last_bar(frame, view, ingestion)
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


def _drop_last_bar(frame: pd.DataFrame, view: FileView, ingestion: IngestionParams) -> pd.DataFrame:
    """With ``last_bar=drop``, the newest bar goes: a download's candle still in progress."""
    if ingestion.last_bar != "drop" or frame.empty:
        return frame
    logger.info(
        "%s: dropped the newest bar, %s (ingestion.last_bar=drop).",
        view.path,
        frame["timestamp"].iloc[-1].isoformat(),
    )
    return frame.iloc[:-1]


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
