"""Reading raw OHLCV CSV text: locate the six required columns and read only those.

Each data row keeps its position (the frame's index), so every later message can name the
file line; blank lines are kept as empty rows for the same reason.

Two readers: pyarrow's multi-threaded CSV reader types the columns as it reads (floats,
ISO 8601 times) and takes any well-formed file in the common layout; everything else (a
blank line, a junk cell, decimal commas, epochs, zone offsets, ...) goes to pandas' reader,
whose untyped columns the parsing module explains cell by cell. Both give the same frame
for a file both can read; the fast one refuses nothing, it only declines.
"""

from __future__ import annotations

import re
from typing import Any

import pandas as pd

from lstm_forecast.errors import CandleDataError

from .layout import FIELDS, SourceParams
from .wording import FileView


def read_table(raw_text: str, source: SourceParams) -> tuple[pd.DataFrame, FileView]:
    """Read the six required columns of ``raw_text``, untyped.

    Args:
        raw_text: The whole CSV file as text.
        source: The ``ingestion.source`` parameters.

    Returns:
        The six columns (index = data row number; timestamps as text, missing cells as NaN,
        other cells as the reader typed them) and a view of the file for messages.

    Raises:
        CandleDataError: If the file is malformed or a required column is not found.
    """
    positions, names = _resolve_positions(raw_text, source)
    view = FileView(raw_text, source, positions, names)
    typed = _read_typed(raw_text, source, positions)
    if typed is not None:
        return typed, view
    frame = _read_csv(
        raw_text,
        source,
        skiprows=source.first_data_line - 1,
        header=None,
        usecols=sorted(positions.values()),
        dtype={positions["timestamp"]: str},
    )
    if frame.empty:
        return pd.DataFrame({f: pd.Series(dtype=object) for f in FIELDS}), view
    return frame.rename(columns={p: f for f, p in positions.items()})[list(FIELDS)], view


def _read_typed(text: str, source: SourceParams, positions: dict[str, int]) -> pd.DataFrame | None:
    """The six columns typed by pyarrow (times as naive ns), or None where it declines."""
    if (
        len(source.sep) != 1
        or source.decimal != "."
        or source.thousands is not None
        or source.timestamp_format is not None
        or source.epoch_unit is not None
        or source.timezone != "UTC"  # local times may not exist or be ambiguous: worded there
    ):
        return None
    import pyarrow as pa  # noqa: PLC0415 - pandas' reader needs no pyarrow import
    import pyarrow.csv as pcsv  # noqa: PLC0415

    width = max(positions.values()) + 1
    first = _head(text, source.first_data_line)[len(_head(text, source.first_data_line - 1)) :]
    if not first.strip():
        return None  # no data row, or a blank first one: the general reader words it
    fields = _split_fields(first, source.sep)
    if fields is None:
        return None  # a lone CR or a stray quote on the first line: the general reader words it
    names = [f"c{i}" for i in range(max(width, len(fields)))]
    wanted = {field: names[p] for field, p in positions.items()}
    payload = text.encode()
    try:
        table = pcsv.read_csv(
            pa.py_buffer(payload),
            read_options=pcsv.ReadOptions(
                skip_rows=source.first_data_line - 1, column_names=names, block_size=1 << 24
            ),
            # A blank line would be skipped and shift every later line number: decline.
            parse_options=pcsv.ParseOptions(delimiter=source.sep, ignore_empty_lines=False),
            convert_options=pcsv.ConvertOptions(
                include_columns=[wanted[f] for f in FIELDS],
                column_types={
                    wanted[f]: pa.timestamp("ns") if f == "timestamp" else pa.float64()
                    for f in FIELDS
                },
                null_values=source.missing_tokens,
                strings_can_be_null=True,
                quoted_strings_can_be_null=True,
                timestamp_parsers=[pcsv.ISO8601],
            ),
        )
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError):
        return None
    # pandas keeps one row per line after the header; a quoted line break or a lone CR
    # would make the two readers disagree on line numbers: decline those files.
    lines = payload.count(b"\n") + (not payload.endswith(b"\n"))
    if table.num_rows == 0 or table.num_rows != lines - (source.first_data_line - 1):
        return None
    del payload
    frame = table.rename_columns(list(FIELDS)).to_pandas(
        split_blocks=True, self_destruct=True, coerce_temporal_nanoseconds=True
    )
    return frame


def _split_fields(line: str, sep: str) -> list[str] | None:
    """The fields of one line, or None where the csv module cannot split it."""
    import csv  # noqa: PLC0415

    try:
        return next(csv.reader([line.rstrip("\r\n")], delimiter=sep), [])
    except csv.Error:
        return None


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

    def readline(self) -> str:
        """The next line with its end; pandas' python engine (separators > 1 char) reads so."""
        end = self._text.find("\n", self._position)
        return self.read(len(self._text) - self._position if end < 0 else end + 1 - self._position)

    def __iter__(self) -> Any:
        while line := self.readline():
            yield line


def _read_csv(text: str, source: SourceParams, **kwargs: Any) -> pd.DataFrame:
    """``pd.read_csv`` with the layout's separators; parser errors become refusals."""
    try:
        return pd.read_csv(
            _TextChunks(text),
            sep=source.sep,
            decimal=source.decimal,
            thousands=source.thousands,
            # Only the configured tokens mean "missing"; pandas' own list has more ("NA").
            keep_default_na=False,
            na_values=source.missing_tokens,
            skip_blank_lines=False,  # keeps data row i on file line first_data_line + i
            # The C engine reads one-character separators only (pandas would warn and switch).
            engine="c" if len(source.sep) == 1 else "python",
            **kwargs,
        )
    except pd.errors.EmptyDataError:
        return pd.DataFrame()
    except (pd.errors.ParserError, ValueError) as exc:
        # The tokenizer counts rows from 0 over the whole file; say the 1-based line.
        reason = re.sub(r"\brow (\d+)", lambda m: f"line {int(m[1]) + 1}", str(exc))
        raise CandleDataError(
            f"{source.path}: malformed CSV (column unknown, the line could not be split "
            f"into fields): {reason}. Check ingestion.source.sep "
            f"(now {source.sep!r}), skip_rows (now {source.skip_rows}), decimal and thousands."
        ) from exc


def _resolve_positions(raw_text: str, source: SourceParams) -> tuple[dict[str, int], dict]:
    """Each field's 0-based column position and header name, from the first lines only."""
    head = _read_csv(
        _head(raw_text, source.skip_rows + 1),
        source,
        skiprows=source.skip_rows,
        header=0 if source.header else None,
        nrows=0 if source.header else 1,
        dtype=str,
    )
    found = [str(name).lstrip("\ufeff") for name in head.columns]
    numeric = pd.to_numeric(pd.Series(found, dtype=object), errors="coerce").notna()
    if source.header and numeric.sum() > len(found) / 2:
        # A data line taken for the header would silently lose the first bar.
        raise CandleDataError(
            f"{source.path}: line {source.skip_rows + 1} should be the header but looks like "
            f"data: {found}. Fix: set ingestion.source.header=false and give 0-based "
            "positions in ingestion.source.columns, or set skip_rows."
        )
    positions = {field: _position(source, field, found) for field in FIELDS}
    missing = [
        f"{field}={source.column_spec(field)!r}"
        for field, position in positions.items()
        if not 0 <= position < len(found)
    ]
    if missing:
        what = f"header columns {found}" if source.header else f"{len(found)} fields per line"
        fix = (
            "set ingestion.source.columns.<field> to a name or 0-based position"
            if source.header
            else "the file has no header, so give 0-based positions, "
            "e.g. ingestion.source.columns.timestamp=0"
        )
        raise CandleDataError(
            f"{source.path}: required column(s) not found: {', '.join(missing)}; found "
            f"{what} on line {source.skip_rows + 1}. Fix: {fix} (or set "
            "ingestion.source.header / skip_rows / sep if the wrong line was read)."
        )
    shared = {p for p in positions.values() if list(positions.values()).count(p) > 1}
    if shared:
        clash = [f for f, p in positions.items() if p in shared]
        raise CandleDataError(
            f"{source.path}: columns {clash} all point at the same file column; "
            "give each a different ingestion.source.columns entry."
        )
    names = {field: found[p] for field, p in positions.items()} if source.header else {}
    return positions, names


def _position(source: SourceParams, field: str, found: list[str]) -> int:
    """The 0-based position of ``field``'s column (-1 when not found)."""
    spec = source.column_spec(field)
    if isinstance(spec, int):
        return spec
    text = spec.strip()
    if source.header and text in found:
        return found.index(text)
    folded = [name.strip().casefold() for name in found]
    if source.header and text.casefold() in folded:
        return folded.index(text.casefold())
    return int(text) if text.isdigit() else -1
