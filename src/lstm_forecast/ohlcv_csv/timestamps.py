"""Bar times from a CSV column: epoch numbers in a given unit, or date strings in a format
and zone, to UTC; impossible times are refused naming the unit or format that fits."""

from __future__ import annotations

import re

import pandas as pd

from lstm_forecast.errors import CandleDataError

from .wording import FileView, describe

_EPOCH_NS = {"s": 10**9, "ms": 10**6, "us": 10**3, "ns": 1}
_UNIT_WORDS = {"s": "seconds", "ms": "milliseconds", "us": "microseconds", "ns": "nanoseconds"}
# Bar data from before 1990 would be an epoch read in the wrong unit, not history.
EARLIEST = pd.Timestamp("1990-01-01", tz="UTC")
FUTURE_SLACK = pd.Timedelta(days=1)
# datetime64[ns] covers 1677-09-21 .. 2262-04-11; anything outside cannot be stored.
_MIN_TIME = pd.Timestamp("1677-09-22", tz="UTC")
_MAX_TIME = pd.Timestamp("2262-04-10", tz="UTC")
_AWARE = re.compile(r"(?:Z|[+-]\d{2}:?\d{2})$")
_SCIENTIFIC = re.compile(r"^[+-]?\d*\.?\d+[eE][+-]?\d+$")
PRECISION_FIX = (
    "precision was lost, typically by a spreadsheet re-save; export the file again "
    "without opening it in a spreadsheet, or format the column as whole numbers or full "
    "date-times before saving"
)


def parse_timestamps(values: pd.Series, view: FileView, problems: list[str]) -> pd.Series:
    """UTC timestamps (ns) from epoch numbers or date strings; failures go to ``problems``."""
    if pd.api.types.is_datetime64_dtype(values):
        # Typed by the fast reader, which takes naive ISO 8601 times of a UTC file only.
        stamps = values.astype("datetime64[ns]").dt.tz_localize("UTC")
        future = _refuse_future(stamps, view, problems)
        return stamps.where(~future) if future.any() else stamps
    text = values.str.strip()
    if view.source.epoch_unit:
        stamps, reported, fix = _parse_epochs(text, view, problems)
    else:
        stamps, reported, fix = _parse_date_strings(text, view, problems)
    bad = text.notna() & stamps.isna() & ~reported
    if bad.any():
        scientific = text[bad].str.match(_SCIENTIFIC)
        if scientific.any():
            rows = scientific.index[scientific]
            problems.append(_precision_lost(view, rows))
            bad[rows] = False
    if bad.any():
        numbers = pd.to_numeric(text[bad], errors="coerce")
        unit = _fitting_unit(numbers) if numbers.notna().all() else None
        if unit and unit != view.source.epoch_unit:
            fix = (
                f"the values look like epoch {_UNIT_WORDS[unit]}: set "
                f"ingestion.source.epoch_unit={unit}"
            )
        problems.append(
            describe(view, "timestamp", "timestamp does not parse", text.index[bad], fix)
        )
    return stamps


def _precision_lost(view: FileView, rows: pd.Index) -> str:
    return describe(
        view, "timestamp", "timestamp written in scientific notation", rows, PRECISION_FIX
    )


def _parse_epochs(
    text: pd.Series, view: FileView, problems: list[str]
) -> tuple[pd.Series, pd.Series, str]:
    """UTC times from epoch numbers; times outside 1990 .. tomorrow are refused with a unit.

    Returns:
        The times, the rows already reported and the fix for rows that do not parse.
    """
    unit = view.source.epoch_unit
    assert unit is not None
    numbers = pd.to_numeric(text, errors="coerce", dtype_backend="numpy_nullable")
    reported = pd.Series(False, index=text.index)
    if not pd.api.types.is_integer_dtype(numbers):
        # Only non-integer tokens make the column float: look for 1.70027E+12 only then.
        scientific = text.str.match(_SCIENTIFIC).fillna(False)
        if scientific.any():
            problems.append(_precision_lost(view, text.index[scientific]))
            reported |= scientific
            numbers = numbers.where(~scientific)
    low = EARLIEST.value / _EPOCH_NS[unit]
    high = (pd.Timestamp.now(tz="UTC") + FUTURE_SLACK).value / _EPOCH_NS[unit]
    implausible = (numbers.notna() & ((numbers < low) | (numbers > high))).fillna(False)
    storable = (numbers.abs() < 9.2e18 / _EPOCH_NS[unit]).fillna(False)
    stamps = pd.to_datetime(numbers.where(storable), unit=unit, utc=True)
    stamps = stamps.astype("datetime64[ns, UTC]")
    if implausible.any():
        fitting = _fitting_unit(numbers[implausible].astype("float64"))
        fix = (
            f"these look like {_UNIT_WORDS[fitting]}: set ingestion.source.epoch_unit={fitting}"
            if fitting and fitting != unit
            else "check that ingestion.source.columns.timestamp is the bar's open time"
        )
        if fitting and fitting != unit and implausible.sum() < numbers.notna().sum():
            # Some data sites switched units part-way through their files.
            fix = (
                f"the column mixes units: these rows look like {_UNIT_WORDS[fitting]}, the "
                f"others fit {_UNIT_WORDS[unit]}; read a date column instead "
                "(ingestion.source.columns.timestamp=<its name>, epoch_unit=null) or export "
                "the file again"
            )
        problem = (
            f"epoch number read as {_UNIT_WORDS[unit]} falls before {EARLIEST.date()} or "
            "more than a day in the future"
        )
        rows = text.index[implausible]
        problems.append(describe(view, "timestamp", problem, rows, fix, parsed=stamps))
        reported |= implausible
    fix = (
        f"ingestion.source.epoch_unit is {unit!r}; set it to the unit of the numbers "
        "(s, ms, us, ns), or to null for date strings"
    )
    return stamps.where(~implausible), reported, fix


def _fitting_unit(numbers: pd.Series) -> str | None:
    """The epoch unit that puts the median of ``numbers`` between 1990 and tomorrow."""
    median = float(numbers.abs().median())
    high = (pd.Timestamp.now(tz="UTC") + FUTURE_SLACK).value
    for unit, scale in _EPOCH_NS.items():
        if EARLIEST.value <= median * scale <= high:
            return unit
    return None


def _parse_date_strings(
    text: pd.Series, view: FileView, problems: list[str]
) -> tuple[pd.Series, pd.Series, str]:
    """Parse date strings; naive ones are in ``timezone``, aware ones are converted to UTC.

    Returns:
        The times, the rows already reported and the fix for rows that do not parse.
    """
    source = view.source
    fmt = source.timestamp_format or "ISO8601"
    now = source.timestamp_format or "null, i.e. ISO 8601"
    fix = (
        f"set ingestion.source.timestamp_format (now {now}) to the "
        "strptime format of the file, e.g. '%d/%m/%Y %H:%M', or epoch_unit for epoch numbers"
    )
    try:
        stamps = pd.to_datetime(text, format=fmt, errors="coerce")
    except (ValueError, re.error) as exc:  # re.error: a format that repeats a directive
        if "mixed timezones" not in str(exc).lower():
            raise CandleDataError(
                f"{source.path}: column 'timestamp': cannot parse with "
                f"ingestion.source.timestamp_format={fmt!r}: {exc}. Fix: {fix}."
            ) from exc
        # Several UTC offsets (e.g. across daylight saving) are fine; naive strings mixed
        # in would silently be read as UTC, so those are refused instead.
        naive = text.notna() & ~text.str.contains(_AWARE).fillna(False)
        if naive.any():
            problems.append(
                describe(
                    view,
                    "timestamp",
                    "timestamp has no UTC offset while others do",
                    text.index[naive],
                    "write every timestamp with its offset, or none",
                )
            )
        stamps = pd.to_datetime(text, format=fmt, errors="coerce", utc=True)
    if stamps.dt.tz is None:
        stamps = stamps.dt.tz_localize(source.timezone, ambiguous="NaT", nonexistent="NaT")
        if source.timezone != "UTC":
            fix += (
                f"; times that do not exist or are ambiguous in {source.timezone} (daylight "
                "saving) cannot be placed: export the file in UTC"
            )
    stamps = stamps.dt.tz_convert("UTC")
    # Clip to what nanoseconds can hold before converting (pandas reads "-1" as year -1).
    stamps = stamps.where((stamps >= _MIN_TIME) & (stamps <= _MAX_TIME))
    stamps = stamps.astype("datetime64[ns, UTC]")
    future = _refuse_future(stamps, view, problems)
    return stamps.where(~future), future, fix


def _refuse_future(stamps: pd.Series, view: FileView, problems: list[str]) -> pd.Series:
    """True on times more than a day ahead, which are reported to ``problems``."""
    future = (stamps > pd.Timestamp.now(tz="UTC") + FUTURE_SLACK).fillna(False)
    if future.any():
        fix = "check ingestion.source.timestamp_format (day and month swapped?) and timezone"
        problems.append(
            describe(
                view,
                "timestamp",
                "timestamp is more than a day in the future",
                stamps.index[future],
                fix,
                parsed=stamps,
            )
        )
    return future
