"""Reading raw OHLCV CSV text into typed columns, and the wording of refusals.

Only the six required columns are read, each cell's file line is known (so messages can
point at it), and every unparseable value is collected before one ``CandleDataError``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import pandas as pd
from pandas.tseries.frequencies import to_offset

from lstm_forecast.errors import CandleDataError

PRICE_COLUMNS = ("open", "high", "low", "close")
VALUE_COLUMNS = (*PRICE_COLUMNS, "volume")
FIELDS = ("timestamp", *VALUE_COLUMNS)
_MAX_SHOWN = 5
_EPOCH_NS = {"s": 10**9, "ms": 10**6, "us": 10**3, "ns": 1}
# datetime64[ns] covers 1677-09-21 .. 2262-04-11; anything outside cannot be stored.
_MIN_TIME = pd.Timestamp("1677-09-22", tz="UTC")
_MAX_TIME = pd.Timestamp("2262-04-10", tz="UTC")
_AWARE = re.compile(r"(?:Z|[+-]\d{2}:?\d{2})$")


@dataclass(frozen=True)
class Layout:
    """The ``ingestion.source`` parameters, validated."""

    path: str
    sep: str
    header: bool
    skip_rows: int
    columns: dict[str, str | int]
    timestamp_format: str | None
    epoch_unit: str | None
    timezone: str
    decimal: str
    thousands: str | None

    @property
    def first_data_line(self) -> int:
        """The 1-based file line of the first data row."""
        return self.skip_rows + int(self.header) + 1

    def line(self, row: int) -> int:
        """The 1-based file line of data row ``row`` (blank lines are kept, so this holds)."""
        return self.first_data_line + int(row)


# ------------------------------------------------------------------------------ parameters
def _as_bool(value: Any, key: str, path: str) -> bool:
    """Accept YAML booleans and the strings a command line passes."""
    if isinstance(value, bool):
        return value
    if str(value).strip().lower() in {"true", "yes", "1"}:
        return True
    if str(value).strip().lower() in {"false", "no", "0"}:
        return False
    raise CandleDataError(f"{path}: ingestion.source.{key}={value!r} is not true or false.")


def layout_from_params(source: dict[str, Any]) -> Layout:
    """Validate ``ingestion.source``; missing keys take the defaults of the shipped file."""
    path = str(source.get("path") or "<raw_candles>")
    columns = dict(zip(FIELDS, FIELDS, strict=True)) | dict(source.get("columns") or {})
    unit = source.get("epoch_unit") or None
    if unit is not None and unit not in _EPOCH_NS:
        raise CandleDataError(
            f"{path}: ingestion.source.epoch_unit={unit!r}; use one of s, ms, us, ns, or null."
        )
    try:
        skip_rows = int(source.get("skip_rows") or 0)
    except (TypeError, ValueError):
        skip_rows = -1
    if skip_rows < 0:
        raise CandleDataError(
            f"{path}: ingestion.source.skip_rows={source.get('skip_rows')!r} is not a line count."
        )
    return Layout(
        path=path,
        sep=str(source.get("sep") or ","),
        header=_as_bool(source.get("header", True), "header", path),
        skip_rows=skip_rows,
        columns=columns,
        timestamp_format=source.get("timestamp_format") or None,
        epoch_unit=unit,
        timezone=str(source.get("timezone") or "UTC"),
        decimal=str(source.get("decimal") or "."),
        thousands=source.get("thousands") or None,
    )


def interval_ns(interval: str, layout: Layout) -> int:
    """The bar interval in nanoseconds; only fixed-length intervals define a grid."""
    try:
        step = pd.Timedelta(to_offset(interval))
    except (TypeError, ValueError) as exc:
        raise CandleDataError(
            f"{layout.path}: ingestion.interval={interval!r} is not a fixed-length pandas "
            f"offset alias ({exc}); use e.g. 1min, 15min, 1h, 4h or 1D."
        ) from exc
    if step <= pd.Timedelta(0):
        raise CandleDataError(f"{layout.path}: ingestion.interval={interval!r} must be positive.")
    return int(step.value)


def read_candles(raw_text: str, layout: Layout) -> tuple[pd.DataFrame, int, int]:
    """Read and type the six required columns of ``raw_text``.

    Args:
        raw_text: The whole CSV file as text.
        layout: The validated ``ingestion.source`` parameters.

    Returns:
        The typed columns (index = data row number, for line numbers), the number of data
        rows read and the number of entirely empty rows dropped.

    Raises:
        CandleDataError: If the file is malformed, a column is missing or values do not parse.
    """
    raw = _read_fields(raw_text, layout, _resolve_positions(raw_text, layout))
    # A row with all six fields empty is a blank or padding line, not a corrupt bar.
    empty = raw.isna().all(axis=1)
    return _parse(raw.loc[~empty], layout), len(raw), int(empty.sum())


# ----------------------------------------------------------------------------------- reading
def _head(text: str, lines: int) -> str:
    """The first ``lines`` lines of ``text``, without copying the rest of a large file."""
    end = -1
    for _ in range(lines):
        end = text.find("\n", end + 1)
        if end < 0:
            return text
    return text[: end + 1]


class _TextChunks:
    """A read-only file over a ``str`` that copies one chunk at a time.

    ``io.StringIO`` holds its text as 4 bytes a character: 4x the CSV in memory.
    """

    def __init__(self, text: str) -> None:
        self._text = text
        self._position = 0

    def read(self, size: int | None = -1) -> str:
        end = len(self._text) if size is None or size < 0 else self._position + size
        chunk = self._text[self._position : end]
        self._position += len(chunk)
        return chunk

    def __iter__(self) -> Any:
        return iter(self._text.splitlines(keepends=True))


def _read_csv(text: str, layout: Layout, **kwargs: Any) -> pd.DataFrame:
    """``pd.read_csv`` with the layout's separators; parser errors become refusals."""
    try:
        return pd.read_csv(
            _TextChunks(text),
            sep=layout.sep,
            decimal=layout.decimal,
            thousands=layout.thousands,
            skip_blank_lines=False,  # keeps data row i on file line first_data_line + i
            **kwargs,
        )
    except pd.errors.EmptyDataError:
        return pd.DataFrame()
    except (pd.errors.ParserError, ValueError) as exc:
        # The tokenizer counts rows from 0 over the whole file; say the 1-based line.
        reason = re.sub(r"\brow (\d+)", lambda m: f"line {int(m[1]) + 1}", str(exc))
        raise CandleDataError(
            f"{layout.path}: malformed CSV (column unknown, the line could not be split "
            f"into fields): {reason}. Check ingestion.source.sep "
            f"(now {layout.sep!r}), skip_rows (now {layout.skip_rows}), decimal and thousands."
        ) from exc


def _resolve_positions(raw_text: str, layout: Layout) -> dict[str, int]:
    """Map each field to a 0-based column position, reading only the first lines."""
    head = _read_csv(
        _head(raw_text, layout.skip_rows + 1),
        layout,
        skiprows=layout.skip_rows,
        header=0 if layout.header else None,
        nrows=0 if layout.header else 1,
        dtype=str,
    )
    found = [str(name) for name in head.columns]
    numeric = pd.to_numeric(pd.Series(found, dtype=object), errors="coerce").notna()
    if layout.header and numeric.sum() > len(found) / 2:
        # A data line taken for the header would silently lose the first bar.
        raise CandleDataError(
            f"{layout.path}: line {layout.skip_rows + 1} should be the header but looks like "
            f"data: {found}. Fix: set ingestion.source.header=false and give 0-based "
            "positions in ingestion.source.columns, or set skip_rows."
        )
    folded = [name.strip().lstrip("\ufeff").casefold() for name in found]
    positions: dict[str, int] = {}
    missing = []
    for field in FIELDS:
        spec = layout.columns[field]
        spec_text = str(spec).strip()
        if isinstance(spec, int) and not isinstance(spec, bool):
            position = spec
        elif layout.header and spec_text in found:
            position = found.index(spec_text)
        elif layout.header and spec_text.casefold() in folded:
            position = folded.index(spec_text.casefold())
        elif spec_text.isdigit():
            position = int(spec_text)
        else:
            position = -1
        if not 0 <= position < len(found):
            missing.append(f"{field}={spec!r}")
        positions[field] = position
    if missing:
        what = f"header columns {found}" if layout.header else f"{len(found)} fields per line"
        fix = (
            "set ingestion.source.columns.<field> to a name or 0-based position"
            if layout.header
            else "the file has no header, so give 0-based positions, "
            "e.g. ingestion.source.columns.timestamp=0"
        )
        raise CandleDataError(
            f"{layout.path}: required column(s) not found: {', '.join(missing)}; found "
            f"{what} on line {layout.skip_rows + 1}. Fix: {fix} (or set "
            "ingestion.source.header / skip_rows / sep if the wrong line was read)."
        )
    shared = {p for p in positions.values() if list(positions.values()).count(p) > 1}
    if shared:
        clash = [f for f, p in positions.items() if p in shared]
        raise CandleDataError(
            f"{layout.path}: columns {clash} all point at the same file column; "
            "give each a different ingestion.source.columns entry."
        )
    return positions


def _read_fields(raw_text: str, layout: Layout, positions: dict[str, int]) -> pd.DataFrame:
    """Read only the six required columns; timestamps stay text until parsed."""
    frame = _read_csv(
        raw_text,
        layout,
        skiprows=layout.first_data_line - 1,
        header=None,
        usecols=sorted(positions.values()),
        dtype={positions["timestamp"]: str},
    )
    if frame.empty:
        return pd.DataFrame({field: pd.Series(dtype=object) for field in FIELDS})
    return frame.rename(columns={p: f for f, p in positions.items()})[list(FIELDS)]


# ----------------------------------------------------------------------------------- parsing
def _parse(raw: pd.DataFrame, layout: Layout) -> pd.DataFrame:
    """Type all six columns, collecting every unparseable value before refusing."""
    problems: list[str] = []
    parsed = {"timestamp": _parse_timestamps(raw["timestamp"], layout, problems)}
    for column in VALUE_COLUMNS:
        parsed[column] = _parse_numbers(raw[column], layout, problems)
    refuse_if(problems, layout)
    return pd.DataFrame(parsed, index=raw.index)


def _parse_numbers(values: pd.Series, layout: Layout, problems: list[str]) -> pd.Series:
    """Floats from a column the CSV reader may have left as text because of junk cells."""
    if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
        return values.astype("float64")
    numbers = pd.to_numeric(values, errors="coerce")
    bad = values.notna() & numbers.isna()
    if bad.any():
        # The reader gives up on a whole block of rows at the first junk cell, so valid
        # numbers in that block still carry the file's thousands separator and decimal mark.
        text = values[bad].astype(str).str.strip()
        if layout.thousands:
            text = text.str.replace(layout.thousands, "", regex=False)
        numbers[bad] = pd.to_numeric(
            text.str.replace(layout.decimal, ".", regex=False), errors="coerce"
        )
        bad = values.notna() & numbers.isna()
    if bad.any():
        hint = ""
        if layout.decimal == "." and values[bad].astype(str).str.contains(",").any():
            hint = ' ingestion.source.decimal="," (or thousands=",") if commas are decimal marks;'
        problems.append(
            describe(
                layout,
                str(values.name),
                "value is not a number",
                values[bad],
                f"set{hint} ingestion.source.decimal (now {layout.decimal!r}) / thousands "
                f"(now {layout.thousands!r}) to the file's number format, or check "
                f"ingestion.source.columns.{values.name}",
            )
        )
    return numbers.astype("float64")


def _parse_timestamps(values: pd.Series, layout: Layout, problems: list[str]) -> pd.Series:
    """UTC timestamps (ns) from epoch numbers or date strings; failures go to ``problems``."""
    text = values.str.strip()
    if layout.epoch_unit:
        numbers = pd.to_numeric(text, errors="coerce", dtype_backend="numpy_nullable")
        in_range = numbers.abs() < 9.2e18 / _EPOCH_NS[layout.epoch_unit]
        stamps = pd.to_datetime(
            numbers.where(in_range.fillna(False)), unit=layout.epoch_unit, utc=True
        )
        fix = (
            f"ingestion.source.epoch_unit is {layout.epoch_unit!r}; set it to the unit of the "
            "numbers (s, ms, us, ns), or to null for date strings"
        )
    else:
        stamps, fix = _parse_date_strings(text, layout, problems)
    stamps = stamps.astype("datetime64[ns, UTC]")
    bad = values.notna() & stamps.isna()
    if bad.any():
        shown = values[bad]
        looks_epoch = pd.to_numeric(shown.str.strip(), errors="coerce").notna().all()
        if looks_epoch and _guess_unit(shown) != layout.epoch_unit:
            fix = (
                "the values look like epoch numbers: set "
                f"ingestion.source.epoch_unit={_guess_unit(shown)}"
            )
        problems.append(describe(layout, "timestamp", "timestamp does not parse", shown, fix))
    return stamps


def _parse_date_strings(
    text: pd.Series, layout: Layout, problems: list[str]
) -> tuple[pd.Series, str]:
    """Parse date strings; naive ones are in ``timezone``, aware ones are converted to UTC."""
    fmt = layout.timestamp_format or "ISO8601"
    now = layout.timestamp_format or "null, i.e. ISO 8601"
    fix = (
        f"set ingestion.source.timestamp_format (now {now}) to the "
        "strptime format of the file, e.g. '%d/%m/%Y %H:%M', or epoch_unit for epoch numbers"
    )
    try:
        stamps = pd.to_datetime(text, format=fmt, errors="coerce")
    except ValueError as exc:
        if "mixed timezones" not in str(exc).lower():
            raise CandleDataError(
                f"{layout.path}: column 'timestamp': cannot parse with "
                f"ingestion.source.timestamp_format={fmt!r}: {exc}. Fix: {fix}."
            ) from exc
        # Several UTC offsets (e.g. across daylight saving) are fine; naive strings mixed
        # in would silently be read as UTC, so those are refused instead.
        naive = text.notna() & ~text.str.contains(_AWARE)
        if naive.any():
            problems.append(
                describe(
                    layout,
                    "timestamp",
                    "timestamp has no UTC offset while others do",
                    text[naive],
                    "write every timestamp with its offset, or none",
                )
            )
        stamps = pd.to_datetime(text, format=fmt, errors="coerce", utc=True)
    if stamps.dt.tz is None:
        try:
            stamps = stamps.dt.tz_localize(layout.timezone, ambiguous="NaT", nonexistent="NaT")
        except Exception as exc:  # unknown zone names raise several exception types
            raise CandleDataError(
                f"{layout.path}: ingestion.source.timezone={layout.timezone!r} is not a known "
                f"time zone ({exc}); use an IANA name such as UTC or Europe/Berlin."
            ) from exc
        if layout.timezone != "UTC":
            fix += (
                f"; times that do not exist or are ambiguous in {layout.timezone} (daylight "
                "saving) cannot be placed: export the file in UTC"
            )
    stamps = stamps.dt.tz_convert("UTC")
    return stamps.where((stamps >= _MIN_TIME) & (stamps <= _MAX_TIME)), fix


def _guess_unit(numbers: pd.Series) -> str:
    """The epoch unit whose magnitude matches present-day dates."""
    magnitude = pd.to_numeric(numbers.str.strip(), errors="coerce").abs().median()
    for unit, limit in (("s", 1e11), ("ms", 1e14), ("us", 1e17)):
        if magnitude < limit:
            return unit
    return "ns"


def describe(
    layout: Layout, column: str, problem: str, rows: pd.Series | pd.DataFrame, fix: str
) -> str:
    """One problem paragraph: column, count, the first offending lines with values, the fix.

    ``rows`` holds the offending values, labelled by data row and in the order to show.
    """
    spec = layout.columns.get(column, column)
    source = f"position {spec}" if isinstance(spec, int) else repr(spec)
    if isinstance(rows, pd.Series):
        rows = rows.to_frame(column)
    examples = "; ".join(
        f"line {layout.line(label)}: {_values(row)}"
        for label, row in rows.head(_MAX_SHOWN).iterrows()
    )
    return (
        f"column '{column}' (file column {source}): {problem} in {len(rows)} row(s); "
        f"first: {examples}. Fix: {fix}."
    )


def _values(row: pd.Series) -> str:
    """``name=value`` pairs, timestamps as ISO strings."""
    return ", ".join(
        f"{name}={value.isoformat() if isinstance(value, pd.Timestamp) else value!r}"
        for name, value in row.items()
    )


def refuse_if(problems: list[str], layout: Layout) -> None:
    """Raise one error listing every problem found in this pass."""
    if problems:
        raise CandleDataError(
            f"{layout.path}: cannot use this file as candles ({len(problems)} problem(s)):\n- "
            + "\n- ".join(problems)
        )
