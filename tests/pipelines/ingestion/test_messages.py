"""Every refusal and warning of ``clean_candles``, word for word.

The other ingestion tests check that a message names the file, the column, the line and the
parameter to change; these pin the whole text a user reads, so that no part of it (a fix,
a count, a quoted cell, the order of the paragraphs) changes without a test saying so.
To change a message on purpose, change its expected text here.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from typing import Any

import pandas as pd
import pytest

from lstm_forecast.pipelines.ingestion.nodes import clean_candles

from ._helpers import HEADER, bar_rows, params, refusal, to_text

Scenario = Callable[[], tuple[str, dict[str, Any]]]


def _epochs(rows: list[list[str]], unit_ns: int) -> list[list[str]]:
    return [[str(pd.Timestamp(r[0], tz="UTC").value // unit_ns), *r[1:]] for r in rows]


def _with(changes: dict[tuple[int, int], str], n: int = 8) -> list[list[str]]:
    """``n`` good bars with the cells at (row, column) replaced."""
    rows = bar_rows(n)
    for (row, column), token in changes.items():
        rows[row][column] = token
    return rows


def _stale(n: int, stale: range) -> str:
    rows = bar_rows(n)
    for i in stale:
        rows[i][1:] = rows[i - 1][1:]
    return to_text(rows)


def _many_broken() -> str:
    rows = bar_rows(12)
    for row in rows[1:8]:
        row[5] = "-1"
    rows[9][2] = "1"
    return to_text(rows)


def _conflicting() -> str:
    rows = bar_rows()
    twin = list(rows[2])
    twin[4] = "101.5"
    return to_text([*rows, twin])


def _gap_after(n: int, missing: int) -> str:
    rows = bar_rows(n)
    del rows[missing]
    return to_text(rows)


def _aware(rows: list[list[str]], first: int) -> list[list[str]]:
    for row in rows[:first]:
        row[0] = pd.Timestamp(row[0], tz="UTC").tz_convert("Europe/Berlin").isoformat()
    return rows


def _unterminated_quote() -> str:
    rows = bar_rows()
    rows[3][0] = '"' + rows[3][0]
    return to_text(rows)


def _mixed_units() -> str:
    rows = _epochs(bar_rows(), 10**6)
    rows[:3] = _epochs(bar_rows()[:3], 10**9)
    return to_text(rows)


POSITIONS = {name: i for i, name in enumerate(HEADER.split(","))}

REFUSALS: dict[str, Scenario] = {
    "malformed CSV": lambda: (_unterminated_quote(), {}),
    "missing column": lambda: (to_text(bar_rows()), {"columns": {"volume": "vol"}}),
    "headerless without positions": lambda: (to_text(bar_rows(), header=None), {"header": False}),
    "data line taken for the header": lambda: (
        to_text(_epochs(bar_rows(), 10**6), header=None),
        {"columns": POSITIONS, "epoch_unit": "ms"},
    ),
    "two fields on one column": lambda: (to_text(bar_rows()), {"columns": {"close": "open"}}),
    "unparseable number": lambda: (to_text(_with({(2, 2): "abc"})), {}),
    "comma decimal": lambda: (
        "\n".join(";".join(r) for r in [HEADER.split(","), *_with({(1, 4): "102,5"})]),
        {"sep": ";"},
    ),
    "token outside na_values": lambda: (
        to_text(_with({(4, c): "n/a" for c in range(1, 6)}, n=10)),
        {},
    ),
    "volume suffix switched off": lambda: (
        to_text(_with({(0, 5): "105.76K"})),
        {"volume_suffixes": False},
    ),
    "unparseable timestamp": lambda: (to_text(_with({(4, 0): "2021-02-30 10:00:00"})), {}),
    "epochs without a unit": lambda: (to_text(_epochs(bar_rows(), 10**6)), {}),
    "epochs in another unit": lambda: (to_text(_epochs(bar_rows(), 1)), {"epoch_unit": "s"}),
    "epochs read as 1970": lambda: (to_text(_epochs(bar_rows(), 10**9)), {"epoch_unit": "ms"}),
    "epochs of mixed units": lambda: (_mixed_units(), {"epoch_unit": "ms"}),
    "future dates": lambda: (to_text(bar_rows(8, start="2099-01-01 00:00:00")), {}),
    "scientific notation": lambda: (
        to_text([["1.70027E+12", *row[1:]] for row in bar_rows(24)]),
        {"epoch_unit": "ms"},
    ),
    "times cut to the day": lambda: (
        to_text([["2021-01-01", *row[1:]] for row in bar_rows(24)]),
        {},
    ),
    "ambiguous local time": lambda: (
        to_text(bar_rows(8, start="2021-10-31 00:00:00")),
        {"timezone": "Europe/Berlin"},
    ),
    "naive mixed with aware": lambda: (to_text(_aware(bar_rows(), 4)), {}),
    "off the grid": lambda: (to_text(_with({(1, 0): "2021-01-01 01:30:00"})), {}),
    "partial null": lambda: (to_text(_with({(5, 4): "nan"})), {}),
    "partial null timestamp": lambda: (to_text(_with({(5, 0): ""})), {}),
    "missing volume": lambda: (to_text(_with({(3, 5): "-"})), {}),
    "high below open and close": lambda: (to_text(_with({(2, 2): "50"})), {}),
    "low above open and close": lambda: (to_text(_with({(2, 3): "102.5"})), {}),
    "zero price": lambda: (to_text(_with({(3, 1): "0"})), {}),
    "negative volume": lambda: (to_text(_with({(3, 5): "-1"})), {}),
    "several rules at once": lambda: (_many_broken(), {}),
    "the file's own header names": lambda: (
        to_text(_with({(2, 2): "5e1"}), header="Date,Open,High,Low,Close,Volume"),
        {"columns": {"timestamp": "Date"}},
    ),
    "a headerless file": lambda: (
        to_text(_with({(3, 5): "-1"}), header=None),
        {"header": False, "columns": POSITIONS},
    ),
    "a word among epochs": lambda: (
        to_text(
            [[r[0] if i != 2 else "abc", *r[1:]] for i, r in enumerate(_epochs(bar_rows(), 10**6))]
        ),
        {"epoch_unit": "ms"},
    ),
    "an empty cell among epochs": lambda: (
        to_text(
            [[r[0] if i != 2 else "", *r[1:]] for i, r in enumerate(_epochs(bar_rows(), 10**6))]
        ),
        {"epoch_unit": "ms"},
    ),
    "epochs mixed with words, no unit": lambda: (
        to_text(
            [[r[0] if i % 2 else "soon", *r[1:]] for i, r in enumerate(_epochs(bar_rows(), 10**6))]
        ),
        {},
    ),
    "negative epochs": lambda: (
        to_text([["-" + r[0], *r[1:]] for r in _epochs(bar_rows(), 10**6)]),
        {"epoch_unit": "ms"},
    ),
    "tiny epochs": lambda: (
        to_text([[str(i + 1), *r[1:]] for i, r in enumerate(bar_rows())]),
        {"epoch_unit": "ms"},
    ),
    "some epochs in scientific notation": lambda: (
        to_text(
            [
                [r[0] if i not in (2, 5) else "1.60947E+12", *r[1:]]
                for i, r in enumerate(_epochs(bar_rows(), 10**6))
            ]
        ),
        {"epoch_unit": "ms"},
    ),
    "scientific notation and 1970 together": lambda: (
        to_text(
            [["1.60947E+12", *bar_rows()[0][1:]]]
            + [[str(int(r[0]) // 1000), *r[1:]] for r in _epochs(bar_rows(), 10**6)[1:]]
        ),
        {"epoch_unit": "ms"},
    ),
    "scientific notation, no unit": lambda: (
        to_text([["1.70027E+12", *row[1:]] for row in bar_rows(24)]),
        {},
    ),
    "a suffix in a price column": lambda: (to_text(_with({(2, 2): "5K"})), {}),
    "junk in a decimal-comma file": lambda: (
        "\n".join(";".join(r) for r in [HEADER.split(","), *_with({(1, 4): "abc"})]),
        {"sep": ";", "decimal": ","},
    ),
    "junk among grouped numbers": lambda: (
        "\n".join(
            ";".join(r) for r in [HEADER.split(","), *_with({(0, 5): "1.234,5", (1, 5): "abc"})]
        ),
        {"sep": ";", "decimal": ",", "thousands": "."},
    ),
    "a format pandas cannot use": lambda: (
        to_text(bar_rows()),
        {"timestamp_format": "%Y-%m-%d %H:%M:%S%z%z"},
    ),
    "words among mixed offsets": lambda: (
        to_text(
            [[r[0] if i != 6 else "later", *r[1:]] for i, r in enumerate(_aware(bar_rows(), 4))]
        ),
        {},
    ),
    "missing volume filled, missing price refused": lambda: (
        to_text(_with({(3, 5): "", (5, 2): ""})),
        {"policies": {"missing_volume": "zero"}},
    ),
    "a two-character separator": lambda: (
        to_text(_with({(2, 2): "abc"})).replace(",", "; "),
        {"sep": "; "},
    ),
    "a position past the last column": lambda: (
        to_text(bar_rows(), header=None),
        {"header": False, "columns": POSITIONS | {"volume": 6}},
    ),
    "a header name with spaces": lambda: (
        to_text(_with({(2, 2): "50"}), header="timestamp,open, High ,low,close,volume"),
        {"columns": {"high": "High"}},
    ),
    "junk with a volume suffix": lambda: (to_text(_with({(2, 5): "1.2.3K"})), {}),
    "scientific notation and an empty cell": lambda: (
        to_text(
            [
                [{2: "1.60947E+12", 4: ""}.get(i, r[0]), *r[1:]]
                for i, r in enumerate(_epochs(bar_rows(), 10**6))
            ]
        ),
        {"epoch_unit": "ms"},
    ),
    "conflicting duplicates": lambda: (_conflicting(), {}),
    "too few contiguous bars": lambda: (_gap_after(9, 4), {}),
    "header only": lambda: (to_text([]), {}),
    "stale bars refused": lambda: (
        _stale(20, range(10, 14)),
        {"policies": {"stale_bars": "refuse"}},
    ),
}

EXPECTED: dict[str, str | re.Pattern[str]] = {
    # The middle is pandas' own parser error, whose wording is pandas' to change.
    "malformed CSV": re.compile(
        re.escape("bad.csv: malformed CSV (column unknown, the line could not be split into ")
        + r"fields\): .*line 5.*\. "
        + re.escape(
            "Check ingestion.source.sep (now ','), skip_rows (now 0), decimal and thousands."
        )
    ),
    "missing column": (
        "bad.csv: required column(s) not found: volume='vol'; found header columns "
        "['timestamp', 'open', 'high', 'low', 'close', 'volume'] on line 1. Fix: set "
        "ingestion.source.columns.<field> to a name or 0-based position (or set "
        "ingestion.source.header / skip_rows / sep if the wrong line was read)."
    ),
    "headerless without positions": (
        "bad.csv: required column(s) not found: timestamp='timestamp', open='open', "
        "high='high', low='low', close='close', volume='volume'; found 6 fields per line on "
        "line 1. Fix: the file has no header, so give 0-based positions, e.g. "
        "ingestion.source.columns.timestamp=0 (or set ingestion.source.header / skip_rows / "
        "sep if the wrong line was read)."
    ),
    "data line taken for the header": (
        "bad.csv: line 1 should be the header but looks like data: ['1609459200000', '100', "
        "'102', '99', '101', '5']. Fix: set ingestion.source.header=false and give 0-based "
        "positions in ingestion.source.columns, or set skip_rows."
    ),
    "two fields on one column": (
        "bad.csv: columns ['open', 'close'] all point at the same file column; give each a "
        "different ingestion.source.columns entry."
    ),
    "unparseable number": (
        "bad.csv: cannot use this file as candles (1 problem(s)):\n- column 'high': value is "
        "not a number in 1 row(s); first: line 4: high='abc'. Fix: set "
        "ingestion.source.decimal (now '.') / thousands (now None) to the file's number "
        "format, or check ingestion.source.columns.high; if the token marks a missing value, "
        "add it to ingestion.source.na_values (now ['', 'NaN', 'nan', 'null', 'NULL', "
        "'None', '-'])."
    ),
    "comma decimal": (
        "bad.csv: cannot use this file as candles (1 problem(s)):\n- column 'close': value is "
        "not a number in 1 row(s); first: line 3: close='102,5'. Fix: set "
        "ingestion.source.decimal=comma (or thousands=comma) if commas are decimal marks; "
        "set ingestion.source.decimal (now '.') / thousands (now None) to the file's number "
        "format, or check ingestion.source.columns.close; if the token marks a missing "
        "value, add it to ingestion.source.na_values (now ['', 'NaN', 'nan', 'null', 'NULL', "
        "'None', '-'])."
    ),
    "token outside na_values": (
        "bad.csv: cannot use this file as candles (5 problem(s)):\n- column 'open': value is "
        "not a number in 1 row(s); first: line 6: open='n/a'. Fix: set "
        "ingestion.source.decimal (now '.') / thousands (now None) to the file's number "
        "format, or check ingestion.source.columns.open; if the token marks a missing value, "
        "add it to ingestion.source.na_values (now ['', 'NaN', 'nan', 'null', 'NULL', "
        "'None', '-']).\n- column 'high': value is not a number in 1 row(s); first: line 6: "
        "high='n/a'. Fix: set ingestion.source.decimal (now '.') / thousands (now None) to "
        "the file's number format, or check ingestion.source.columns.high; if the token "
        "marks a missing value, add it to ingestion.source.na_values (now ['', 'NaN', 'nan', "
        "'null', 'NULL', 'None', '-']).\n- column 'low': value is not a number in 1 row(s); "
        "first: line 6: low='n/a'. Fix: set ingestion.source.decimal (now '.') / thousands "
        "(now None) to the file's number format, or check ingestion.source.columns.low; if "
        "the token marks a missing value, add it to ingestion.source.na_values (now ['', "
        "'NaN', 'nan', 'null', 'NULL', 'None', '-']).\n- column 'close': value is not a "
        "number in 1 row(s); first: line 6: close='n/a'. Fix: set ingestion.source.decimal "
        "(now '.') / thousands (now None) to the file's number format, or check "
        "ingestion.source.columns.close; if the token marks a missing value, add it to "
        "ingestion.source.na_values (now ['', 'NaN', 'nan', 'null', 'NULL', 'None', '-']).\n- "
        "column 'volume': value is not a number in 1 row(s); first: line 6: volume='n/a'. "
        "Fix: set ingestion.source.decimal (now '.') / thousands (now None) to the file's "
        "number format, or check ingestion.source.columns.volume; if the token marks a "
        "missing value, add it to ingestion.source.na_values (now ['', 'NaN', 'nan', 'null', "
        "'NULL', 'None', '-'])."
    ),
    "volume suffix switched off": (
        "bad.csv: cannot use this file as candles (1 problem(s)):\n- column 'volume': value "
        "is not a number in 1 row(s); first: line 2: volume='105.76K'. Fix: set "
        "ingestion.source.volume_suffixes=true to read K/M/B suffixes; set "
        "ingestion.source.decimal (now '.') / thousands (now None) to the file's number "
        "format, or check ingestion.source.columns.volume; if the token marks a missing "
        "value, add it to ingestion.source.na_values (now ['', 'NaN', 'nan', 'null', 'NULL', "
        "'None', '-'])."
    ),
    "unparseable timestamp": (
        "bad.csv: cannot use this file as candles (1 problem(s)):\n- column 'timestamp': "
        "timestamp does not parse in 1 row(s); first: line 6: timestamp='2021-02-30 "
        "10:00:00'. Fix: set ingestion.source.timestamp_format (now null, i.e. ISO 8601) to "
        "the strptime format of the file, e.g. '%d/%m/%Y %H:%M', or epoch_unit for epoch "
        "numbers."
    ),
    "epochs without a unit": (
        "bad.csv: cannot use this file as candles (1 problem(s)):\n- column 'timestamp': "
        "timestamp does not parse in 8 row(s); first: line 2: timestamp='1609459200000'; "
        "line 3: timestamp='1609462800000'; line 4: timestamp='1609466400000'; line 5: "
        "timestamp='1609470000000'; line 6: timestamp='1609473600000'. Fix: the values look "
        "like epoch milliseconds: set ingestion.source.epoch_unit=ms."
    ),
    "epochs in another unit": (
        "bad.csv: cannot use this file as candles (1 problem(s)):\n- column 'timestamp': "
        "epoch number read as seconds falls before 1990-01-01 or more than a day in the "
        "future in 8 row(s); first: line 2: timestamp='1609459200000000000'; line 3: "
        "timestamp='1609462800000000000'; line 4: timestamp='1609466400000000000'; line 5: "
        "timestamp='1609470000000000000'; line 6: timestamp='1609473600000000000'. Fix: "
        "these look like nanoseconds: set ingestion.source.epoch_unit=ns."
    ),
    "epochs read as 1970": (
        "bad.csv: cannot use this file as candles (1 problem(s)):\n- column 'timestamp': "
        "epoch number read as milliseconds falls before 1990-01-01 or more than a day in the "
        "future in 8 row(s); first: line 2: timestamp='1609459200' (read as "
        "1970-01-19T15:04:19.200000+00:00); line 3: timestamp='1609462800' (read as "
        "1970-01-19T15:04:22.800000+00:00); line 4: timestamp='1609466400' (read as "
        "1970-01-19T15:04:26.400000+00:00); line 5: timestamp='1609470000' (read as "
        "1970-01-19T15:04:30+00:00); line 6: timestamp='1609473600' (read as "
        "1970-01-19T15:04:33.600000+00:00). Fix: these look like seconds: set "
        "ingestion.source.epoch_unit=s."
    ),
    "epochs of mixed units": (
        "bad.csv: cannot use this file as candles (1 problem(s)):\n- column 'timestamp': "
        "epoch number read as milliseconds falls before 1990-01-01 or more than a day in the "
        "future in 3 row(s); first: line 2: timestamp='1609459200' (read as "
        "1970-01-19T15:04:19.200000+00:00); line 3: timestamp='1609462800' (read as "
        "1970-01-19T15:04:22.800000+00:00); line 4: timestamp='1609466400' (read as "
        "1970-01-19T15:04:26.400000+00:00). Fix: the column mixes units: these rows look "
        "like seconds, the others fit milliseconds; read a date column instead "
        "(ingestion.source.columns.timestamp=<its name>, epoch_unit=null) or export the file "
        "again."
    ),
    "future dates": (
        "bad.csv: cannot use this file as candles (1 problem(s)):\n- column 'timestamp': "
        "timestamp is more than a day in the future in 8 row(s); first: line 2: "
        "timestamp='2099-01-01 00:00:00' (read as 2099-01-01T00:00:00+00:00); line 3: "
        "timestamp='2099-01-01 01:00:00' (read as 2099-01-01T01:00:00+00:00); line 4: "
        "timestamp='2099-01-01 02:00:00' (read as 2099-01-01T02:00:00+00:00); line 5: "
        "timestamp='2099-01-01 03:00:00' (read as 2099-01-01T03:00:00+00:00); line 6: "
        "timestamp='2099-01-01 04:00:00' (read as 2099-01-01T04:00:00+00:00). Fix: check "
        "ingestion.source.timestamp_format (day and month swapped?) and timezone."
    ),
    "scientific notation": (
        "bad.csv: cannot use this file as candles (1 problem(s)):\n- column 'timestamp': "
        "timestamp written in scientific notation in 24 row(s); first: line 2: "
        "timestamp='1.70027E+12'; line 3: timestamp='1.70027E+12'; line 4: "
        "timestamp='1.70027E+12'; line 5: timestamp='1.70027E+12'; line 6: "
        "timestamp='1.70027E+12'. Fix: precision was lost, typically by a spreadsheet "
        "re-save; export the file again without opening it in a spreadsheet, or format the "
        "column as whole numbers or full date-times before saving."
    ),
    "times cut to the day": (
        "bad.csv: cannot use this file as candles (1 problem(s)):\n- column 'timestamp': only "
        "1 distinct timestamps for 24 different rows (times rounded together) in 24 row(s); "
        "first: line 2: timestamp='2021-01-01'; line 3: timestamp='2021-01-01'; line 4: "
        "timestamp='2021-01-01'; line 5: timestamp='2021-01-01'; line 6: "
        "timestamp='2021-01-01'. Fix: precision was lost, typically by a spreadsheet "
        "re-save; export the file again without opening it in a spreadsheet, or format the "
        "column as whole numbers or full date-times before saving."
    ),
    "ambiguous local time": (
        "bad.csv: cannot use this file as candles (1 problem(s)):\n- column 'timestamp': "
        "timestamp does not parse in 1 row(s); first: line 4: timestamp='2021-10-31 "
        "02:00:00'. Fix: set ingestion.source.timestamp_format (now null, i.e. ISO 8601) to "
        "the strptime format of the file, e.g. '%d/%m/%Y %H:%M', or epoch_unit for epoch "
        "numbers; times that do not exist or are ambiguous in Europe/Berlin (daylight "
        "saving) cannot be placed: export the file in UTC."
    ),
    "naive mixed with aware": (
        "bad.csv: cannot use this file as candles (1 problem(s)):\n- column 'timestamp': "
        "timestamp has no UTC offset while others do in 4 row(s); first: line 6: "
        "timestamp='2021-01-01 04:00:00'; line 7: timestamp='2021-01-01 05:00:00'; line 8: "
        "timestamp='2021-01-01 06:00:00'; line 9: timestamp='2021-01-01 07:00:00'. Fix: "
        "write every timestamp with its offset, or none."
    ),
    "off the grid": (
        "bad.csv: cannot use this file as candles (1 problem(s)):\n- column 'timestamp': "
        "timestamp is not on the 1h grid (multiples of the interval since 1970-01-01 00:00 "
        "UTC) in 1 row(s); first: line 3: timestamp='2021-01-01 01:30:00' (read as "
        "2021-01-01T01:30:00+00:00). Fix: set ingestion.interval to the file's bar interval; "
        "for local times set ingestion.source.timezone, for epoch numbers check "
        "ingestion.source.epoch_unit."
    ),
    "partial null": (
        "bad.csv: cannot use this file as candles (1 problem(s)):\n- column 'close': missing "
        "cell in an otherwise filled row in 1 row(s); first: line 7: close='nan'. Fix: fill "
        "the cell or delete the row (missing values are refused, not imputed; a row with a "
        "timestamp and every value missing is taken as a missing bar)."
    ),
    "partial null timestamp": (
        "bad.csv: cannot use this file as candles (1 problem(s)):\n- column 'timestamp': "
        "missing cell in an otherwise filled row in 1 row(s); first: line 7: timestamp=''. "
        "Fix: fill the cell or delete the row (missing values are refused, not imputed; a "
        "row with a timestamp and every value missing is taken as a missing bar)."
    ),
    "missing volume": (
        "bad.csv: cannot use this file as candles (1 problem(s)):\n- column 'volume': missing "
        "cell in an otherwise filled row in 1 row(s); first: line 5: volume='-'. Fix: fill "
        "the cell or delete the row (missing values are refused, not imputed; a row with a "
        "timestamp and every value missing is taken as a missing bar); or set "
        "ingestion.missing_volume=zero."
    ),
    "high below open and close": (
        "bad.csv: cannot use this file as candles (1 problem(s)):\n- column 'high': high is "
        "below max(open, close) in 1 row(s); first: line 4: open='102', high='50', "
        "close='103'. Fix: check that ingestion.source.columns maps each field to the right "
        "file column; or set ingestion.inconsistent_ohlc=drop to turn such rows into missing "
        "bars (counted in the data-quality report)."
    ),
    "low above open and close": (
        "bad.csv: cannot use this file as candles (1 problem(s)):\n- column 'low': low is "
        "above min(open, close) in 1 row(s); first: line 4: open='102', low='102.5', "
        "close='103'. Fix: check that ingestion.source.columns maps each field to the right "
        "file column; or set ingestion.inconsistent_ohlc=drop to turn such rows into missing "
        "bars (counted in the data-quality report)."
    ),
    "zero price": (
        "bad.csv: cannot use this file as candles (2 problem(s)):\n- column 'open': price is "
        "not a positive finite number in 1 row(s); first: line 5: open='0'. Fix: check that "
        "ingestion.source.columns maps each field to the right file column, or remove the "
        "rows.\n- column 'low': low is above min(open, close) in 1 row(s); first: line 5: "
        "open='0', low='102', close='104'. Fix: check that ingestion.source.columns maps "
        "each field to the right file column; or set ingestion.inconsistent_ohlc=drop to "
        "turn such rows into missing bars (counted in the data-quality report)."
    ),
    "negative volume": (
        "bad.csv: cannot use this file as candles (1 problem(s)):\n- column 'volume': volume "
        "is negative or infinite in 1 row(s); first: line 5: volume='-1'. Fix: check that "
        "ingestion.source.columns maps each field to the right file column, or remove the "
        "rows."
    ),
    "several rules at once": (
        "bad.csv: cannot use this file as candles (2 problem(s)):\n- column 'high': high is "
        "below max(open, close) in 1 row(s); first: line 11: open='109', high='1', "
        "close='110'. Fix: check that ingestion.source.columns maps each field to the right "
        "file column; or set ingestion.inconsistent_ohlc=drop to turn such rows into missing "
        "bars (counted in the data-quality report).\n- column 'volume': volume is negative or "
        "infinite in 7 row(s); first: line 3: volume='-1'; line 4: volume='-1'; line 5: "
        "volume='-1'; line 6: volume='-1'; line 7: volume='-1'. Fix: check that "
        "ingestion.source.columns maps each field to the right file column, or remove the "
        "rows."
    ),
    "the file's own header names": (
        "bad.csv: cannot use this file as candles (1 problem(s)):\n- column 'High' (high): "
        "high is below max(open, close) in 1 row(s); first: line 4: Open='102', High='5e1', "
        "Close='103'. Fix: check that ingestion.source.columns maps each field to the right "
        "file column; or set ingestion.inconsistent_ohlc=drop to turn such rows into missing "
        "bars (counted in the data-quality report)."
    ),
    "a headerless file": (
        "bad.csv: cannot use this file as candles (1 problem(s)):\n- column 5 (0-based; "
        "volume): volume is negative or infinite in 1 row(s); first: line 4: volume='-1'. "
        "Fix: check that ingestion.source.columns maps each field to the right file column, "
        "or remove the rows."
    ),
    "a word among epochs": (
        "bad.csv: cannot use this file as candles (1 problem(s)):\n- column 'timestamp': "
        "timestamp does not parse in 1 row(s); first: line 4: timestamp='abc'. Fix: "
        "ingestion.source.epoch_unit is 'ms'; set it to the unit of the numbers (s, ms, us, "
        "ns), or to null for date strings."
    ),
    "an empty cell among epochs": (
        "bad.csv: cannot use this file as candles (1 problem(s)):\n- column 'timestamp': "
        "missing cell in an otherwise filled row in 1 row(s); first: line 4: timestamp=''. "
        "Fix: fill the cell or delete the row (missing values are refused, not imputed; a "
        "row with a timestamp and every value missing is taken as a missing bar)."
    ),
    "epochs mixed with words, no unit": (
        "bad.csv: cannot use this file as candles (1 problem(s)):\n- column 'timestamp': "
        "timestamp does not parse in 8 row(s); first: line 2: timestamp='soon'; line 3: "
        "timestamp='1609462800000'; line 4: timestamp='soon'; line 5: "
        "timestamp='1609470000000'; line 6: timestamp='soon'. Fix: set "
        "ingestion.source.timestamp_format (now null, i.e. ISO 8601) to the strptime format "
        "of the file, e.g. '%d/%m/%Y %H:%M', or epoch_unit for epoch numbers."
    ),
    "negative epochs": (
        "bad.csv: cannot use this file as candles (1 problem(s)):\n- column 'timestamp': "
        "epoch number read as milliseconds falls before 1990-01-01 or more than a day in the "
        "future in 8 row(s); first: line 2: timestamp='-1609459200000' (read as "
        "1919-01-01T00:00:00+00:00); line 3: timestamp='-1609462800000' (read as "
        "1918-12-31T23:00:00+00:00); line 4: timestamp='-1609466400000' (read as "
        "1918-12-31T22:00:00+00:00); line 5: timestamp='-1609470000000' (read as "
        "1918-12-31T21:00:00+00:00); line 6: timestamp='-1609473600000' (read as "
        "1918-12-31T20:00:00+00:00). Fix: check that ingestion.source.columns.timestamp is "
        "the bar's open time."
    ),
    "tiny epochs": (
        "bad.csv: cannot use this file as candles (1 problem(s)):\n- column 'timestamp': "
        "epoch number read as milliseconds falls before 1990-01-01 or more than a day in the "
        "future in 8 row(s); first: line 2: timestamp='1' (read as "
        "1970-01-01T00:00:00.001000+00:00); line 3: timestamp='2' (read as "
        "1970-01-01T00:00:00.002000+00:00); line 4: timestamp='3' (read as "
        "1970-01-01T00:00:00.003000+00:00); line 5: timestamp='4' (read as "
        "1970-01-01T00:00:00.004000+00:00); line 6: timestamp='5' (read as "
        "1970-01-01T00:00:00.005000+00:00). Fix: check that "
        "ingestion.source.columns.timestamp is the bar's open time."
    ),
    "some epochs in scientific notation": (
        "bad.csv: cannot use this file as candles (1 problem(s)):\n- column 'timestamp': "
        "timestamp written in scientific notation in 2 row(s); first: line 4: "
        "timestamp='1.60947E+12'; line 7: timestamp='1.60947E+12'. Fix: precision was lost, "
        "typically by a spreadsheet re-save; export the file again without opening it in a "
        "spreadsheet, or format the column as whole numbers or full date-times before saving."
    ),
    "scientific notation and 1970 together": (
        "bad.csv: cannot use this file as candles (2 problem(s)):\n- column 'timestamp': "
        "timestamp written in scientific notation in 1 row(s); first: line 2: "
        "timestamp='1.60947E+12'. Fix: precision was lost, typically by a spreadsheet "
        "re-save; export the file again without opening it in a spreadsheet, or format the "
        "column as whole numbers or full date-times before saving.\n- column 'timestamp': "
        "epoch number read as milliseconds falls before 1990-01-01 or more than a day in the "
        "future in 7 row(s); first: line 3: timestamp='1609462800' (read as "
        "1970-01-19T15:04:22.800000+00:00); line 4: timestamp='1609466400' (read as "
        "1970-01-19T15:04:26.400000+00:00); line 5: timestamp='1609470000' (read as "
        "1970-01-19T15:04:30+00:00); line 6: timestamp='1609473600' (read as "
        "1970-01-19T15:04:33.600000+00:00); line 7: timestamp='1609477200' (read as "
        "1970-01-19T15:04:37.200000+00:00). Fix: these look like seconds: set "
        "ingestion.source.epoch_unit=s."
    ),
    "scientific notation, no unit": (
        "bad.csv: cannot use this file as candles (1 problem(s)):\n- column 'timestamp': "
        "timestamp written in scientific notation in 24 row(s); first: line 2: "
        "timestamp='1.70027E+12'; line 3: timestamp='1.70027E+12'; line 4: "
        "timestamp='1.70027E+12'; line 5: timestamp='1.70027E+12'; line 6: "
        "timestamp='1.70027E+12'. Fix: precision was lost, typically by a spreadsheet "
        "re-save; export the file again without opening it in a spreadsheet, or format the "
        "column as whole numbers or full date-times before saving."
    ),
    "a suffix in a price column": (
        "bad.csv: cannot use this file as candles (1 problem(s)):\n- column 'high': value is "
        "not a number in 1 row(s); first: line 4: high='5K'. Fix: set "
        "ingestion.source.decimal (now '.') / thousands (now None) to the file's number "
        "format, or check ingestion.source.columns.high; if the token marks a missing value, "
        "add it to ingestion.source.na_values (now ['', 'NaN', 'nan', 'null', 'NULL', "
        "'None', '-'])."
    ),
    "junk in a decimal-comma file": (
        "bad.csv: cannot use this file as candles (1 problem(s)):\n- column 'close': value is "
        "not a number in 1 row(s); first: line 3: close='abc'. Fix: set "
        "ingestion.source.decimal (now ',') / thousands (now None) to the file's number "
        "format, or check ingestion.source.columns.close; if the token marks a missing "
        "value, add it to ingestion.source.na_values (now ['', 'NaN', 'nan', 'null', 'NULL', "
        "'None', '-'])."
    ),
    "junk among grouped numbers": (
        "bad.csv: cannot use this file as candles (1 problem(s)):\n- column 'volume': value "
        "is not a number in 1 row(s); first: line 3: volume='abc'. Fix: set "
        "ingestion.source.decimal (now ',') / thousands (now '.') to the file's number "
        "format, or check ingestion.source.columns.volume; if the token marks a missing "
        "value, add it to ingestion.source.na_values (now ['', 'NaN', 'nan', 'null', 'NULL', "
        "'None', '-'])."
    ),
    # The middle is Python's own regular-expression error.
    "a format pandas cannot use": re.compile(
        re.escape(
            "bad.csv: column 'timestamp': cannot parse with "
            "ingestion.source.timestamp_format='%Y-%m-%d %H:%M:%S%z%z': "
        )
        + r"redefinition of group name .*\. "
        + re.escape(
            "Fix: set ingestion.source.timestamp_format (now %Y-%m-%d %H:%M:%S%z%z) to the "
            "strptime format of the file, e.g. '%d/%m/%Y %H:%M', or epoch_unit for epoch numbers."
        )
    ),
    "words among mixed offsets": (
        "bad.csv: cannot use this file as candles (2 problem(s)):\n- column 'timestamp': "
        "timestamp has no UTC offset while others do in 4 row(s); first: line 6: "
        "timestamp='2021-01-01 04:00:00'; line 7: timestamp='2021-01-01 05:00:00'; line 8: "
        "timestamp='later'; line 9: timestamp='2021-01-01 07:00:00'. Fix: write every "
        "timestamp with its offset, or none.\n- column 'timestamp': timestamp does not parse "
        "in 1 row(s); first: line 8: timestamp='later'. Fix: set "
        "ingestion.source.timestamp_format (now null, i.e. ISO 8601) to the strptime format "
        "of the file, e.g. '%d/%m/%Y %H:%M', or epoch_unit for epoch numbers."
    ),
    "missing volume filled, missing price refused": (
        "bad.csv: cannot use this file as candles (1 problem(s)):\n- column 'high': missing "
        "cell in an otherwise filled row in 1 row(s); first: line 7: high=''. Fix: fill the "
        "cell or delete the row (missing values are refused, not imputed; a row with a "
        "timestamp and every value missing is taken as a missing bar)."
    ),
    "a two-character separator": (
        "bad.csv: cannot use this file as candles (1 problem(s)):\n- column 'high': value is "
        "not a number in 1 row(s); first: line 4: high='abc'. Fix: set "
        "ingestion.source.decimal (now '.') / thousands (now None) to the file's number "
        "format, or check ingestion.source.columns.high; if the token marks a missing value, "
        "add it to ingestion.source.na_values (now ['', 'NaN', 'nan', 'null', 'NULL', "
        "'None', '-'])."
    ),
    "a position past the last column": (
        "bad.csv: required column(s) not found: volume=6; found 6 fields per line on line 1. "
        "Fix: the file has no header, so give 0-based positions, e.g. "
        "ingestion.source.columns.timestamp=0 (or set ingestion.source.header / skip_rows / "
        "sep if the wrong line was read)."
    ),
    "a header name with spaces": (
        "bad.csv: cannot use this file as candles (1 problem(s)):\n- column ' High ' (high): "
        "high is below max(open, close) in 1 row(s); first: line 4: open='102',  High ='50', "
        "close='103'. Fix: check that ingestion.source.columns maps each field to the right "
        "file column; or set ingestion.inconsistent_ohlc=drop to turn such rows into missing "
        "bars (counted in the data-quality report)."
    ),
    "junk with a volume suffix": (
        "bad.csv: cannot use this file as candles (1 problem(s)):\n- column 'volume': value "
        "is not a number in 1 row(s); first: line 4: volume='1.2.3K'. Fix: set "
        "ingestion.source.decimal (now '.') / thousands (now None) to the file's number "
        "format, or check ingestion.source.columns.volume; if the token marks a missing "
        "value, add it to ingestion.source.na_values (now ['', 'NaN', 'nan', 'null', 'NULL', "
        "'None', '-'])."
    ),
    "scientific notation and an empty cell": (
        "bad.csv: cannot use this file as candles (1 problem(s)):\n- column 'timestamp': "
        "timestamp written in scientific notation in 1 row(s); first: line 4: "
        "timestamp='1.60947E+12'. Fix: precision was lost, typically by a spreadsheet "
        "re-save; export the file again without opening it in a spreadsheet, or format the "
        "column as whole numbers or full date-times before saving."
    ),
    "conflicting duplicates": (
        "bad.csv: cannot use this file as candles (1 problem(s)):\n- column 'timestamp': the "
        "same timestamp appears with different values in 2 row(s); first: line 4: "
        "timestamp='2021-01-01 02:00:00', open='102', high='104', low='101', close='103', "
        "volume='5'; line 10: timestamp='2021-01-01 02:00:00', open='102', high='104', "
        "low='101', close='101.5', volume='5'. Fix: keep one row per bar: remove the "
        "conflicting duplicates from the file (identical duplicates are dropped "
        "automatically)."
    ),
    "too few contiguous bars": (
        "bad.csv: column 'timestamp': too few contiguous bars of 1h: need at least 5 "
        "(ingestion.min_segment_bars) in one gap-free segment, found 4 (line 2: "
        "timestamp='2021-01-01 00:00:00' to line 5: timestamp='2021-01-01 03:00:00') among 8 "
        "bars in 2 segment(s). Fix: use a longer file, check ingestion.interval, or lower "
        "ingestion.min_segment_bars."
    ),
    "header only": (
        "bad.csv: column 'timestamp': too few contiguous bars of 1h: need at least 5 "
        "(ingestion.min_segment_bars) in one gap-free segment, found 0 among 0 bars in 0 "
        "segment(s). Fix: use a longer file, check ingestion.interval, or lower "
        "ingestion.min_segment_bars."
    ),
    "stale bars refused": (
        "bad.csv: cannot use this file as candles:\n- column 'timestamp': 4 of 20 bars "
        "(20.0%) repeat the bar before them in all five values (forward-filled idle bars?), "
        "above ingestion.stale_warn_fraction=0.05 in 4 row(s); first: line 12: "
        "timestamp='2021-01-01 10:00:00', open='109', high='111', low='108', close='110', "
        "volume='5'; line 13: timestamp='2021-01-01 11:00:00', open='109', high='111', "
        "low='108', close='110', volume='5'; line 14: timestamp='2021-01-01 12:00:00', "
        "open='109', high='111', low='108', close='110', volume='5'; line 15: "
        "timestamp='2021-01-01 13:00:00', open='109', high='111', low='108', close='110', "
        "volume='5'. Fix: use a file without filled-in bars, or set "
        "ingestion.stale_bars=keep."
    ),
}


@pytest.mark.parametrize("name", list(REFUSALS))
def test_each_refusal_word_for_word(name: str):
    text, source = REFUSALS[name]()
    expected = EXPECTED[name]
    if isinstance(expected, re.Pattern):
        assert expected.fullmatch(refusal(text, **source))
    else:
        assert refusal(text, **source) == expected


def _logged(text: str, caplog: pytest.LogCaptureFixture, **policies: Any) -> list[str]:
    with caplog.at_level(logging.INFO, logger="lstm_forecast.pipelines.ingestion"):
        clean_candles(text, params(policies={"min_segment_bars": 3, **policies}))
    return [r.getMessage() for r in caplog.records if r.name.startswith("lstm_forecast")]


def test_the_summary_line_of_a_clean_file(caplog):
    rows = bar_rows(12)
    empty, value_less = ["", "", "", "", "", ""], [rows[8][0], *["null"] * 5]
    text = to_text([*rows[:3], empty, *rows[3:8], rows[4], value_less, *rows[10:]])
    assert _logged(text, caplog) == [LOGGED["summary"]]


def test_the_warning_for_dropped_inconsistent_rows(caplog):
    rows = _with({(2, 2): "50", (6, 3): "200"}, n=10)
    logged = _logged(to_text(rows), caplog, inconsistent_ohlc="drop")
    assert logged[0] == LOGGED["inconsistent dropped"]


def test_the_warning_for_stale_bars(caplog):
    assert _logged(_stale(20, range(10, 14)), caplog)[0] == LOGGED["stale bars"]


# Counted by hand from the files the tests build.
LOGGED = {
    "summary": (
        "Kept 10 of 13 rows from bad.csv (bars of 1h): 1 gap(s), 2 missing bar(s) "
        "(1 duplicate, 1 empty and 1 value-less rows dropped)."
    ),
    "inconsistent dropped": (
        "bad.csv: dropped 2 row(s) whose high/low contradict open/close "
        "(ingestion.inconsistent_ohlc=drop); they become missing bars. First: line 4: "
        "timestamp='2021-01-01 02:00:00', open='102', high='50', low='101', close='103'; "
        "line 8: timestamp='2021-01-01 06:00:00', open='106', high='108', low='200', "
        "close='107'"
    ),
    "stale bars": (
        "bad.csv: 4 of 20 bars (20.0%) repeat the bar before them in all five values "
        "(forward-filled idle bars?), first at line 12; the model learns nothing from them. "
        "Set ingestion.stale_bars=refuse to stop on such files."
    ),
}
