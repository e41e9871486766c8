"""Typing the six columns: numbers (with the file's marks and volume suffixes) and UTC times
(read by ``timestamps``).

Every cell that does not parse, every epoch that cannot be a bar time and every sign of
lost precision is collected before one ``CandleDataError`` quoting the file's tokens.
"""

from __future__ import annotations

import re

import pandas as pd

from .layout import VALUE_COLUMNS, SourceParams
from .timestamps import PRECISION_FIX, parse_timestamps
from .wording import FileView, describe, refuse_if

_SUFFIXED = re.compile(r"^(?P<number>.*\d)\s*(?P<suffix>[kmbKMB])$")
_SUFFIX_SCALE = {"k": 1e3, "m": 1e6, "b": 1e9}


def parse_columns(raw: pd.DataFrame, view: FileView) -> pd.DataFrame:
    """Type all six columns, collecting every problem before refusing.

    Args:
        raw: The six columns as read (index = data row).
        view: The file, for messages.

    Returns:
        ``timestamp`` (UTC, ns) and float64 ``open, high, low, close, volume``; missing
        cells stay NaT/NaN.

    Raises:
        CandleDataError: If a cell does not parse or a timestamp cannot be a bar time.
    """
    problems: list[str] = []
    parsed = {"timestamp": parse_timestamps(raw["timestamp"], view, problems)}
    for column in VALUE_COLUMNS:
        parsed[column] = _parse_numbers(raw[column], view, problems)
    refuse_if(problems, view)
    return pd.DataFrame(parsed, index=raw.index)


def refuse_collapsed_timestamps(frame: pd.DataFrame, view: FileView) -> None:
    """Refuse a timestamp column with far fewer distinct values than distinct rows."""
    if strictly_increasing(frame["timestamp"]):
        return  # the usual case, decided in one pass without hashing
    distinct_times = frame["timestamp"].nunique()
    if distinct_times == len(frame):
        return  # the usual case, decided in one pass
    distinct_rows = len(frame.drop_duplicates())
    if distinct_rows < 4 or distinct_times * 2 > distinct_rows:
        return  # a few conflicting duplicates are refused later, one by one
    repeated = frame.index[frame["timestamp"].duplicated(keep=False)]
    problem = (
        f"only {distinct_times} distinct timestamps for {distinct_rows} different rows "
        "(times rounded together)"
    )
    refuse_if([describe(view, "timestamp", problem, repeated, PRECISION_FIX)], view)


def strictly_increasing(stamps: pd.Series) -> bool:
    """Whether ``stamps`` has no missing time and each is later than the one before."""
    values = stamps.array.asi8 if hasattr(stamps.array, "asi8") else None
    if values is None or stamps.hasnans:
        return False
    return bool((values[1:] > values[:-1]).all())


# ------------------------------------------------------------------------------- numbers
def _parse_numbers(values: pd.Series, view: FileView, problems: list[str]) -> pd.Series:
    """Floats from a column the CSV reader may have left as text because of junk cells."""
    if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
        return values.astype("float64")
    source = view.source
    numbers = pd.to_numeric(values, errors="coerce")
    bad = values.notna() & numbers.isna()
    text = values[bad].astype(str).str.strip()
    if bad.any():
        # The reader gives up on a whole block of rows at the first junk cell, so valid
        # numbers in that block still carry the file's thousands separator and decimal mark.
        plain = text.str.replace(source.thousands, "", regex=False) if source.thousands else text
        plain = plain.str.replace(source.decimal, ".", regex=False)
        numbers[bad] = pd.to_numeric(plain, errors="coerce")
        if values.name == "volume" and source.volume_suffixes:
            numbers[bad] = numbers[bad].fillna(_suffixed(plain))
        bad = values.notna() & numbers.isna()
    if bad.any():
        problems.append(
            describe(
                view,
                str(values.name),
                "value is not a number",
                values.index[bad],
                _number_fix(text[bad[bad].index], str(values.name), source),
            )
        )
    return numbers.astype("float64")


def _suffixed(text: pd.Series) -> pd.Series:
    """``105.76K`` -> 105760.0 (K, M, B in any case); NaN where there is no suffix."""
    parts = text.str.extract(_SUFFIXED)
    scale = parts["suffix"].str.lower().map(_SUFFIX_SCALE)
    return pd.to_numeric(parts["number"], errors="coerce") * scale


def _number_fix(tokens: pd.Series, column: str, source: SourceParams) -> str:
    """What to change for the unparseable ``tokens`` of ``column``."""
    fixes = []
    if column == "volume" and not source.volume_suffixes and tokens.str.match(_SUFFIXED).any():
        fixes.append("set ingestion.source.volume_suffixes=true to read K/M/B suffixes")
    if source.decimal == "." and tokens.str.contains(",").any():
        fixes.append(
            "set ingestion.source.decimal=comma (or thousands=comma) if commas are decimal marks"
        )
    fixes.append(
        f"set ingestion.source.decimal (now {source.decimal!r}) / thousands (now "
        f"{source.thousands!r}) to the file's number format, or check "
        f"ingestion.source.columns.{column}"
    )
    fixes.append(
        "if the token marks a missing value, add it to ingestion.source.na_values "
        f"(now {list(source.na_values)})"
    )
    return "; ".join(fixes)
