"""The layout of an OHLCV CSV as typed settings, and what the checks need besides it.

``SourceParams`` is the ``ingestion.source`` block (pydantic, so a misspelt key or an
unknown epoch unit is refused before any row is read); ``CandlePolicy`` is the shape of
the interval and odd-bar policies that the ingestion stage's parameters provide.
"""

from __future__ import annotations

from typing import Annotated, Literal, Protocol

import pandas as pd
from pandas.tseries.frequencies import to_offset
from pydantic import BeforeValidator, Field, NonNegativeInt, field_validator

from lstm_forecast.params import StrictParams

PRICE_COLUMNS = ("open", "high", "low", "close")
VALUE_COLUMNS = (*PRICE_COLUMNS, "volume")
FIELDS = ("timestamp", *VALUE_COLUMNS)
DEFAULT_NA_VALUES = ("", "NaN", "nan", "null", "NULL", "None", "-")

# Kedro splits `--params` on commas, so a comma (or a tab) cannot be typed there as a
# value; these names can.
_CHARACTER_NAMES = {
    "comma": ",",
    "semicolon": ";",
    "tab": "\t",
    "\\t": "\t",
    "space": " ",
    "pipe": "|",
    "dot": ".",
    "apostrophe": "'",
}


def _character(value: object) -> object:
    """A separator given by name (``semicolon``) or as itself (``;``)."""
    if isinstance(value, str):
        return _CHARACTER_NAMES.get(value.strip().lower(), value)
    return value


def _na_tokens(value: object) -> object:
    """A list of tokens, or one string with ``|`` between tokens (for the command line)."""
    if value is None:
        return ()
    if isinstance(value, str):
        return tuple(value.split("|"))
    return value


Character = Annotated[str, BeforeValidator(_character), Field(min_length=1, max_length=1)]
ColumnSpec = str | NonNegativeInt


class ColumnsParams(StrictParams):
    """The file column of each required field: a header name, or a 0-based position."""

    timestamp: ColumnSpec = "timestamp"
    open: ColumnSpec = "open"
    high: ColumnSpec = "high"
    low: ColumnSpec = "low"
    close: ColumnSpec = "close"
    volume: ColumnSpec = "volume"


class SourceParams(StrictParams):
    """How to read the CSV (``ingestion.source``)."""

    path: str = "<raw_candles>"
    sep: Annotated[str, BeforeValidator(_character), Field(min_length=1)] = ","
    header: bool = True
    skip_rows: NonNegativeInt = 0
    columns: ColumnsParams = ColumnsParams()
    timestamp_format: str | None = None
    epoch_unit: Literal["s", "ms", "us", "ns"] | None = None
    timezone: str = "UTC"
    decimal: Character = "."
    thousands: Character | None = None
    na_values: Annotated[tuple[str, ...], BeforeValidator(_na_tokens)] = DEFAULT_NA_VALUES
    volume_suffixes: bool = True

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            pd.Timestamp("2000-01-01").tz_localize(value)
        except Exception as exc:  # unknown zone names raise several exception types
            raise ValueError(
                f"{value!r} is not a known time zone; use an IANA name such as UTC or Europe/Berlin"
            ) from exc
        return value

    @property
    def first_data_line(self) -> int:
        """The 1-based file line of the first data row."""
        return self.skip_rows + int(self.header) + 1

    def line(self, row: int) -> int:
        """The 1-based file line of data row ``row`` (blank lines are kept, so this holds)."""
        return self.first_data_line + int(row)

    def column_spec(self, field: str) -> str | int:
        """The ``columns`` entry of ``field``."""
        return getattr(self.columns, field)

    @property
    def missing_tokens(self) -> list[str]:
        """The tokens that mark a missing value; an empty cell always does."""
        return sorted({"", *self.na_values})


class CandlePolicy(Protocol):
    """What the checks need beyond the layout: the bar interval and the policies for odd bars.

    The ingestion stage's ``IngestionParams`` is one; the library takes any object with
    these attributes, so it never imports a stage.
    """

    source: SourceParams
    interval: str
    min_segment_bars: int
    missing_volume: Literal["refuse", "zero"]
    inconsistent_ohlc: Literal["refuse", "drop"]
    stale_warn_fraction: float
    stale_bars: Literal["keep", "refuse"]

    @property
    def step_ns(self) -> int:
        """The bar interval in nanoseconds."""
        ...


def interval_ns(interval: str) -> int:
    """The bar interval in nanoseconds; only fixed-length intervals define a grid."""
    try:
        step = pd.Timedelta(to_offset(interval))
    except (TypeError, ValueError) as exc:
        # pandas' own reason is a nested repr of its parser errors; the alias says enough.
        raise ValueError(
            f"{interval!r} is not a fixed-length pandas offset alias; use e.g. 1min, 15min, "
            "1h, 4h or 1D (calendar intervals such as months have no fixed length)"
        ) from exc
    if step <= pd.Timedelta(0):
        raise ValueError(f"{interval!r} must be a positive interval")
    return int(step.value)
