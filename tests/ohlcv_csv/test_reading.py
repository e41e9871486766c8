"""The pyarrow reader and pandas' reader give the same candles, report or refusal."""

from __future__ import annotations

import warnings
from unittest import mock

import pandas as pd
import pytest
from hypothesis import given

from lstm_forecast.errors import CandleDataError
from lstm_forecast.ohlcv_csv import reading
from lstm_forecast.ohlcv_csv.layout import FIELDS, SourceParams
from lstm_forecast.pipelines.ingestion.nodes import clean_candles
from tests.pipelines.ingestion._helpers import HEADER, PROJECT, SHIPPED, bar_rows, params, to_text
from tests.pipelines.ingestion.test_properties import PROPERTY_SETTINGS, _params, any_mess


def _outcome(text: str, ingestion: dict) -> tuple:
    try:
        candles, report = clean_candles(text, ingestion)
    except CandleDataError as exc:
        return "refused", str(exc)
    return "accepted", candles, report


def _both(text: str, ingestion: dict) -> tuple[tuple, tuple]:
    fast = _outcome(text, ingestion)
    with mock.patch.object(reading, "_read_typed", return_value=None):
        general = _outcome(text, ingestion)
    return fast, general


def _assert_same(fast: tuple, general: tuple) -> None:
    assert fast[0] == general[0], (fast, general)
    if fast[0] == "refused":
        assert fast[1] == general[1]
    else:
        pd.testing.assert_frame_equal(fast[1], general[1])
        assert fast[2] == general[2]


@PROPERTY_SETTINGS
@given(any_mess())
def test_messy_text_gets_the_same_outcome_from_both_readers(text: str):
    _assert_same(*_both(text, _params()))


def test_the_shipped_file_is_read_by_pyarrow_into_the_same_candles():
    text = (PROJECT / SHIPPED).read_text()
    source = SourceParams.model_validate(params(SHIPPED)["source"])
    positions, _ = reading._resolve_positions(text, source)
    assert reading._read_typed(text, source, positions) is not None  # the fast path is taken
    _assert_same(*_both(text, params(SHIPPED)))


@pytest.mark.parametrize(
    "variant",
    ["crlf", "quoted", "blank_line", "no_final_newline", "missing_cells", "future", "bom"],
)
def test_layout_details_get_the_same_outcome_from_both_readers(variant: str):
    rows = bar_rows(12)
    text = to_text(rows)
    if variant == "crlf":
        text = text.replace("\n", "\r\n")
    elif variant == "quoted":
        text = to_text([[f'"{cell}"' for cell in row] for row in rows])
    elif variant == "blank_line":
        text = to_text([*rows[:5], [""], *rows[5:]])
    elif variant == "no_final_newline":
        text = text.rstrip("\n")
    elif variant == "missing_cells":
        rows[3][2] = ""
        rows[7] = [rows[7][0], "null", "null", "null", "null", "null"]
        text = to_text(rows)
    elif variant == "future":
        text = to_text(bar_rows(12, start="2099-01-01 00:00:00"))
    elif variant == "bom":
        text = "\ufeff" + text
    _assert_same(*_both(text, params()))


def _typed(text: str, **source: object) -> pd.DataFrame | None:
    layout = SourceParams.model_validate(params(**source)["source"])
    positions, _ = reading._resolve_positions(text, layout)
    return reading._read_typed(text, layout, positions)


def _wide(rows: list[list[str]]) -> str:
    return to_text([[*row, "x", "y"] for row in rows], header=HEADER + ",trades,note")


POSITIONS = {field: i for i, field in enumerate(FIELDS)}

# Files the fast reader is for. Declining one costs time, not correctness (the general
# reader gives the same frame), so only this test notices a fast path that stopped working.
TAKEN = {
    "plain": lambda: to_text(bar_rows(12)),
    "no final newline": lambda: to_text(bar_rows(12)).rstrip("\n"),
    "one data row": lambda: to_text(bar_rows(1)),  # too short for candles, but read fast
    "more columns than used": lambda: _wide(bar_rows(12)),
    "missing tokens": lambda: to_text([*bar_rows(3), ["2021-01-01 03:00:00", *["null"] * 5]]),
    "quoted missing tokens": lambda: to_text(
        [*bar_rows(3), ['"2021-01-01 03:00:00"', *['""'] * 5]]
    ),
    "headerless": lambda: to_text(bar_rows(12), header=None),
    "semicolons": lambda: to_text(bar_rows(12)).replace(",", ";"),
}


@pytest.mark.parametrize("name", list(TAKEN))
def test_the_fast_reader_takes_plain_files(name: str):
    text = TAKEN[name]()
    source = {"header": False, "columns": POSITIONS} if name == "headerless" else {}
    if name == "semicolons":
        source = {"sep": ";"}
    typed = _typed(text, **source)
    layout = SourceParams.model_validate(params(**source)["source"])
    read, _ = reading.read_table(text, layout)
    assert pd.api.types.is_datetime64_dtype(read["timestamp"])  # typed: the fast path
    assert typed is not None
    assert list(typed.columns) == list(FIELDS)
    assert typed["timestamp"].iloc[0] == pd.Timestamp("2021-01-01 00:00:00")
    assert typed["open"].iloc[0] == 100.0
    if len(typed) > 1:
        _assert_same(*_both(text, params(**source)))


@pytest.mark.parametrize(
    ("source", "why"),
    [
        ({"sep": "; "}, "a separator of two characters"),
        ({"decimal": ","}, "decimal commas"),
        ({"thousands": ","}, "thousands separators"),
        ({"timestamp_format": "%Y-%m-%d %H:%M:%S"}, "a timestamp format"),
        ({"epoch_unit": "s"}, "epoch numbers"),
        ({"timezone": "Europe/Berlin"}, "local times"),
    ],
)
def test_the_fast_reader_declines_what_only_pandas_reads(source: dict, why: str):
    text = to_text(bar_rows(3)).replace(",", source.get("sep", ","))
    assert _typed(text, **source) is None, why


@pytest.mark.parametrize("after", [2, 4])
def test_a_lone_carriage_return_is_left_to_the_general_reader(after: int):
    # A lone CR ends a row for pyarrow but not a line for the line numbers in messages; on
    # the first data line the csv module cannot even split it (it raised before).
    lines = to_text(bar_rows(8)).replace("\n", "\r\n").split("\r\n")
    text = "\r\n".join(lines[:after]) + "\r" + "\r\n".join(lines[after:])
    assert _typed(text) is None
    candles, report = clean_candles(text, params())
    assert (len(candles), report["rows_read"]) == (8, 8)


def test_a_two_character_separator_is_read_without_pandas_warning():
    text = to_text(bar_rows(8)).replace(",", "; ")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        candles, _ = clean_candles(text, params(sep="; "))
    assert len(candles) == 8


def test_the_fast_reader_keeps_a_blank_line_as_an_empty_row_on_its_own_line():
    rows = [*bar_rows(3), [""], *bar_rows(3, start="2021-01-01 03:00:00")]
    typed = _typed(to_text(rows))
    assert typed is not None
    assert typed.iloc[3].isna().all()
    assert typed["timestamp"].iloc[4] == pd.Timestamp("2021-01-01 03:00:00")


def test_text_chunks_read_line_by_line_for_pandas_python_engine():
    chunks = reading._TextChunks("\na;b\r\nc;d")
    assert [chunks.readline(), chunks.readline(), chunks.readline(), chunks.readline()] == [
        "\n",
        "a;b\r\n",
        "c;d",
        "",
    ]
    rest = reading._TextChunks("x\ny\nz\n")
    assert rest.readline() == "x\n"
    assert list(rest) == ["y\n", "z\n"]  # iteration goes on from where reading stopped


@pytest.mark.parametrize(
    ("line", "sep", "fields"),
    [
        ('a;"b;c";d \r\n', ";", ["a", "b;c", "d "]),  # quotes, a kept trailing space
        ("X,aX\n", ",", ["X", "aX"]),
        ("", ",", []),
        ("a\rb,c", ",", None),  # the csv module refuses a lone CR inside a line
    ],
)
def test_split_fields_of_one_line(line: str, sep: str, fields: list[str] | None):
    assert reading._split_fields(line, sep) == fields


@pytest.mark.parametrize(
    ("text", "lines", "head"),
    [
        ("a\nb\nc", 2, "a\nb\n"),
        ("a\nb\nc", 1, "a\n"),
        ("\nb\n", 1, "\n"),  # an empty first line
        ("a\nb", 5, "a\nb"),  # fewer lines than asked
        ("a\nb", 0, ""),
    ],
)
def test_head_is_the_first_lines_with_their_ends(text: str, lines: int, head: str):
    assert reading._head(text, lines) == head


def test_text_chunks_read_by_size_then_to_the_end():
    chunks = reading._TextChunks("abcdef")
    assert chunks.read(0) == ""
    assert chunks.read(2) == "ab"
    assert chunks.read(-1) == "cdef"
    assert chunks.read(None) == ""
    assert reading._TextChunks("xyz").read(None) == "xyz"


def test_a_byte_order_mark_is_not_part_of_the_first_column_name():
    rows = bar_rows()
    text = "\ufeff" + to_text(rows, header="timestamp,open,high,low,close,Xvolume")
    candles, _ = clean_candles(text, params(columns={"volume": "Xvolume"}))
    assert len(candles) == len(rows)


def test_a_header_with_half_its_names_numeric_is_still_a_header():
    rows = bar_rows()
    text = to_text(rows, header="timestamp,open,high,2020,2021,2022")
    columns = {"low": "2020", "close": "2021", "volume": "2022"}
    candles, _ = clean_candles(text, params(columns=columns))
    assert len(candles) == len(rows)
