"""One test per refusal (and per repair) of ``clean_candles``, on small hand-made files.

Every refusal must name the file, the column and the file line at fault.
"""

from __future__ import annotations

import pandas as pd
import pytest
from pydantic import ValidationError

from lstm_forecast.pipelines.ingestion.nodes import clean_candles
from lstm_forecast.pipelines.ingestion.params import IngestionParams

from ._helpers import HEADER, assert_candle_invariants, bar_rows, params, refusal, to_text


def test_malformed_csv_is_refused_with_its_line():
    rows = bar_rows()
    rows[3][0] = '"' + rows[3][0]  # an unterminated quote swallows the rest of the file
    message = refusal(to_text(rows))
    assert "malformed CSV" in message
    assert "line 5" in message  # header is line 1, so data row 3 is line 5


def test_missing_column_lists_the_columns_found():
    message = refusal(to_text(bar_rows()), columns={"volume": "vol"})
    assert "volume='vol'" in message
    assert "'timestamp', 'open', 'high', 'low', 'close', 'volume'" in message
    assert "line 1" in message


def test_column_names_match_case_insensitively():
    text = to_text(bar_rows(), header=" Timestamp,OPEN,High,Low,Close,Volume")
    candles, _ = clean_candles(text, params())
    assert len(candles) == 8


def test_headerless_file_needs_positions():
    message = refusal(to_text(bar_rows(), header=None), header="false")
    assert "timestamp='timestamp'" in message
    assert "ingestion.source.columns.timestamp=0" in message


def test_data_line_taken_for_header_is_refused():
    positions = dict(zip(HEADER.split(","), range(6), strict=True))
    rows = bar_rows()
    for row in rows:
        row[0] = str(pd.Timestamp(row[0], tz="UTC").value // 10**6)
    message = refusal(to_text(rows, header=None), columns=positions, epoch_unit="ms")
    assert "line 1 should be the header but looks like data" in message
    assert "'1609459200000'" in message
    assert "ingestion.source.header=false" in message


def test_comma_decimal_without_decimal_param_suggests_it():
    rows = bar_rows()
    rows[1][4] = "102,5"
    text = "\n".join(";".join(row) for row in [HEADER.split(","), *rows])
    message = refusal(text, sep=";")
    assert "column 'close'" in message
    assert "line 3: close='102,5'" in message
    assert "ingestion.source.decimal=comma" in message


# One cell edited in an otherwise good file: (row, column index, value) -> what the refusal
# must say. Row r is file line r + 2 (the header is line 1).
_BAD_CELLS = {
    "unparseable number": (
        2,
        2,
        "abc",
        ["column 'high'", "line 4: high='abc'", "ingestion.source.decimal"],
    ),
    "unparseable timestamp": (
        4,
        0,
        "2021-02-30 10:00:00",
        ["column 'timestamp'", "line 6: timestamp='2021-02-30 10:00:00'", "timestamp_format"],
    ),
    "off-grid timestamp": (
        1,
        0,
        "2021-01-01 01:30:00",
        [
            "column 'timestamp'",
            "not on the 1h grid",
            "line 3: timestamp='2021-01-01 01:30:00' (read as 2021-01-01T01:30:00+00:00)",
            "ingestion.interval",
        ],
    ),
    **{
        f"partial null {blank!r}": (
            5,
            4,
            blank,
            [
                "column 'close'",
                "missing cell in an otherwise filled row in 1 row(s)",
                f"line 7: close={blank!r}",
            ],
        )
        for blank in ("", "nan", "NaN")
    },
    "partial null timestamp": (5, 0, "", ["column 'timestamp'", "line 7"]),
    "high below open or close": (
        2,
        2,
        "50",
        [
            "column 'high'",
            "high is below max(open, close)",
            "line 4: open='102', high='50', close='103'",
        ],
    ),
    "low above open or close": (
        2,
        3,
        "102.5",
        ["column 'low'", "line 4: open='102', low='102.5', close='103'"],
    ),
    **{
        f"price {price}": (
            3,
            1,
            price,
            ["column 'open'", "price is not a positive finite number", f"line 5: open={price!r}"],
        )
        for price in ("0", "-3", "inf")
    },
    "negative volume": (3, 5, "-1", ["column 'volume'", "line 5: volume='-1'"]),
}


@pytest.mark.parametrize(
    ("row", "column", "value", "expected"), _BAD_CELLS.values(), ids=_BAD_CELLS
)
def test_one_bad_cell_is_refused_naming_column_line_and_fix(row, column, value, expected):
    rows = bar_rows()
    rows[row][column] = value
    message = refusal(to_text(rows))
    for fragment in expected:
        assert fragment in message


def test_epoch_timestamps_without_unit_suggest_it():
    rows = bar_rows()
    for row in rows:
        row[0] = str(pd.Timestamp(row[0], tz="UTC").value // 10**6)
    message = refusal(to_text(rows))
    assert "column 'timestamp'" in message
    assert f"line 2: timestamp='{rows[0][0]}'" in message
    assert "ingestion.source.epoch_unit=ms" in message


def test_epoch_timestamps_in_wrong_unit_are_refused():
    rows = bar_rows()
    for row in rows:
        row[0] = str(pd.Timestamp(row[0], tz="UTC").value)  # ns, read as seconds
    message = refusal(to_text(rows), epoch_unit="s")
    assert "column 'timestamp'" in message
    assert "line 2" in message
    assert "epoch_unit" in message


def test_every_failed_rule_is_reported_at_once_with_at_most_five_rows():
    rows = bar_rows(12)
    for row in rows[1:8]:
        row[5] = "-1"
    rows[9][2] = "1"
    message = refusal(to_text(rows))
    assert "in 7 row(s)" in message
    assert "line 7" in message
    assert "line 8" not in message.split("\n")[-2]  # the volume paragraph stops at 5 rows
    assert "column 'high'" in message
    assert "line 11" in message


def test_conflicting_duplicates_are_refused():
    rows = bar_rows()
    twin = list(rows[2])
    twin[4] = "101.5"
    message = refusal(to_text([*rows, twin]))
    assert "column 'timestamp'" in message
    assert "same timestamp appears with different values" in message
    assert "line 4:" in message
    assert "line 10:" in message


def test_identical_duplicates_are_dropped_and_counted():
    rows = bar_rows()
    candles, report = clean_candles(to_text([*rows, rows[2], rows[2], rows[5]]), params())
    expected, _ = clean_candles(to_text(rows), params())
    pd.testing.assert_frame_equal(candles, expected)
    assert report["duplicate_rows_dropped"] == 3
    assert report["rows_read"] == 11
    assert report["rows_kept"] == 8


def test_empty_rows_are_dropped_and_counted():
    rows = bar_rows()
    text = to_text([*rows[:3], ["", "", "", "", "", ""], *rows[3:]]) + "\n"
    candles, report = clean_candles(text, params())
    assert len(candles) == 8
    assert report["null_rows_dropped"] == 2  # the ",,,,," row and the trailing blank line


def test_empty_row_does_not_shift_line_numbers():
    rows = bar_rows()
    rows[6][5] = "-2"
    message = refusal(to_text([*rows[:3], ["", "", "", "", "", ""], *rows[3:]]))
    assert "line 9: volume='-2'" in message


def test_too_few_contiguous_bars_are_refused():
    rows = bar_rows(9)
    del rows[4]  # a gap after 4 bars leaves segments of 4 and 4 bars
    message = refusal(to_text(rows))
    assert "column 'timestamp'" in message
    assert "need at least 5" in message
    assert "found 4" in message
    assert (
        "(line 2: timestamp='2021-01-01 00:00:00' to line 5: timestamp='2021-01-01 03:00:00')"
        in message
    )


def test_header_only_file_is_refused_as_too_short():
    message = refusal(to_text([]))
    assert "found 0" in message


def test_gaps_start_segments_and_are_reported():
    rows = bar_rows(12)
    del rows[8:10]  # 2 missing bars
    del rows[3]  # 1 missing bar
    candles, report = clean_candles(to_text(rows), params(policies={"min_segment_bars": 4}))
    assert candles["segment"].tolist() == [0, 0, 0, 1, 1, 1, 1, 2, 2]
    assert report["gaps"] == 2
    assert report["missing_bars"] == 3
    assert report["gap_list"][1] == {
        "start": "2021-01-01T08:00:00+00:00",
        "end": "2021-01-01T09:00:00+00:00",
        "missing_bars": 2,
    }


def test_newest_first_input_is_sorted():
    rows = bar_rows()
    candles, _ = clean_candles(to_text(rows[::-1]), params())
    assert_candle_invariants(candles)
    assert candles["open"].tolist() == [float(row[1]) for row in rows]


def test_naive_local_times_are_converted_from_the_timezone():
    candles, _ = clean_candles(to_text(bar_rows()), params(timezone="Asia/Tokyo"))
    assert candles["timestamp"].iloc[0] == pd.Timestamp("2020-12-31 15:00", tz="UTC")


def test_aware_times_are_converted_to_utc():
    rows = bar_rows()
    for row in rows:
        row[0] = pd.Timestamp(row[0], tz="UTC").tz_convert("Europe/Berlin").isoformat()
    candles, _ = clean_candles(to_text(rows), params())
    assert candles["timestamp"].iloc[0] == pd.Timestamp("2021-01-01 00:00", tz="UTC")


def test_ambiguous_local_time_is_refused():
    rows = bar_rows(8, start="2021-10-31 00:00:00")  # 02:00 happens twice in Berlin
    message = refusal(to_text(rows), timezone="Europe/Berlin")
    assert "column 'timestamp'" in message
    assert "line 4: timestamp='2021-10-31 02:00:00'" in message
    assert "export the file in UTC" in message


def test_custom_timestamp_format():
    rows = bar_rows()
    for row in rows:
        row[0] = pd.Timestamp(row[0]).strftime("%d/%m/%Y %H:%M")
    candles, _ = clean_candles(to_text(rows), params(timestamp_format="%d/%m/%Y %H:%M"))
    assert candles["timestamp"].iloc[-1] == pd.Timestamp("2021-01-01 07:00", tz="UTC")


@pytest.mark.parametrize(
    ("source", "needle"),
    [
        ({"interval": "1fortnight"}, "interval\n  Value error, '1fortnight' is not a fixed-length"),
        ({"interval": "1ME"}, "interval\n  Value error, '1ME' is not a fixed-length"),
        ({"epoch_unit": "minutes"}, "source.epoch_unit\n  Input should be 's', 'ms', 'us' or 'ns'"),
        ({"header": "maybe"}, "source.header\n  Input should be a valid boolean"),
        ({"skip_rows": "two"}, "source.skip_rows\n  Input should be a valid integer"),
        ({"timezone": "Mars/Olympus"}, "source.timezone\n  Value error, 'Mars/Olympus' is not a"),
        ({"na_valuez": "x"}, "unknown key 'na_valuez': did you mean 'na_values'?"),
    ],
)
def test_bad_parameters_are_refused_naming_the_key(source: dict, needle: str):
    source = dict(source)  # a copy: the parametrized dict is reused if the test runs again
    interval = source.pop("interval", "1h")
    with pytest.raises(ValidationError) as caught:
        IngestionParams.model_validate(params(interval=interval, **source))
    assert needle in str(caught.value)


def test_four_hour_interval():
    rows = bar_rows(24)[::4]
    candles, report = clean_candles(to_text(rows), params(interval="4h"))
    assert_candle_invariants(candles, step_ns=4 * 3_600_000_000_000)
    assert report["gaps"] == 0


def test_aware_times_across_daylight_saving_are_converted():
    rows = bar_rows(8, start="2021-10-30 22:00:00")  # Berlin leaves summer time at 01:00 UTC
    for row in rows:
        row[0] = pd.Timestamp(row[0], tz="UTC").tz_convert("Europe/Berlin").isoformat()
    candles, report = clean_candles(to_text(rows), params())
    assert len(candles) == 8
    assert report["gaps"] == 0


def test_naive_times_mixed_with_aware_ones_are_refused():
    rows = bar_rows()
    for row in rows[:4]:
        row[0] = pd.Timestamp(row[0], tz="UTC").tz_convert("Europe/Berlin").isoformat()
    message = refusal(to_text(rows))
    assert "column 'timestamp'" in message
    assert "no UTC offset while others do" in message
    assert "line 6: timestamp='2021-01-01 04:00:00'" in message


def test_positions_given_as_strings_on_a_headerless_file():
    columns = {name: str(i) for i, name in enumerate(HEADER.split(","))}
    candles, _ = clean_candles(
        to_text(bar_rows(), header=None), params(header="false", columns=columns)
    )
    assert len(candles) == 8


def test_two_fields_on_one_column_are_refused():
    message = refusal(to_text(bar_rows()), columns={"close": "open"})
    assert "['open', 'close'] all point at the same file column" in message
