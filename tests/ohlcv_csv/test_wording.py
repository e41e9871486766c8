"""Quoting the file: its lines by number and its cells as written."""

from __future__ import annotations

import pytest

from lstm_forecast.ohlcv_csv.layout import SourceParams
from lstm_forecast.ohlcv_csv.wording import FileView, _file_lines
from tests.pipelines.ingestion._helpers import params

TEXT = "head\r\nfirst,1\r\n\nthird,3\rr\nlast,4"


@pytest.mark.parametrize(
    ("numbers", "lines"),
    [
        ([2, 5], {2: "first,1", 5: "last,4"}),  # CRLF ends and a last line without one
        ([1, 3], {1: "head", 3: ""}),  # an empty line is a line
        ([4], {4: "third,3\rr"}),  # only the line end's CR goes
        ([6, 9], {}),  # past the end
        ([], {}),
    ],
)
def test_file_lines_by_number(numbers: list[int], lines: dict[int, str]):
    assert _file_lines(TEXT, numbers) == lines


def test_file_lines_of_a_file_ending_in_a_newline_has_an_empty_last_line():
    assert _file_lines("a\nb\n", [2, 3, 4]) == {2: "b", 3: ""}


def test_file_lines_keep_what_the_line_holds():
    assert _file_lines("\nx \r\nyX\r\n", [1, 2, 3]) == {1: "", 2: "x ", 3: "yX"}


def test_tokens_of_a_short_row_are_empty_for_the_fields_it_lacks():
    source = SourceParams.model_validate(params()["source"])
    text = "timestamp,open,high,low,close,volume\n2021-01-01 00:00:00,100\n"
    positions = {"timestamp": 0, "open": 1, "high": 2, "volume": 5}
    view = FileView(text, source, positions, {"timestamp": "Time", "open": "O"})
    assert view.tokens([0], ["timestamp", "open", "high", "volume"]) == {
        0: {"Time": "2021-01-01 00:00:00", "O": "100", "high": "", "volume": ""}
    }
    # A row past the end of the file has no cells.
    assert view.tokens([7], ["timestamp", "open"]) == {7: {"Time": "", "O": ""}}
