"""One test per policy of real exports: missing bars, volume suffixes and gaps, inconsistent
OHLC, stale bars, implausible or rounded timestamps, and the file's own words in messages.
"""

from __future__ import annotations

import logging

import pandas as pd
import pytest

from lstm_forecast.pipelines.ingestion.nodes import clean_candles

from ._helpers import bar_rows, params, refusal, to_text


def _epochs(rows: list[list[str]], unit_ns: int) -> list[list[str]]:
    """``rows`` with their timestamps as epoch integers of ``unit_ns`` nanoseconds."""
    return [[str(pd.Timestamp(r[0], tz="UTC").value // unit_ns), *r[1:]] for r in rows]


# ------------------------------------------------------------------------ missing values
def test_a_row_with_a_timestamp_and_only_null_values_is_a_missing_bar():
    rows = bar_rows(10)
    rows[4][1:] = ["null"] * 5
    candles, report = clean_candles(to_text(rows), params())
    assert len(candles) == 9
    assert pd.Timestamp("2021-01-01 04:00", tz="UTC") not in set(candles["timestamp"])
    assert candles["segment"].tolist() == [0] * 4 + [1] * 5
    assert report["missing_value_rows_dropped"] == 1
    assert report["null_rows_dropped"] == 0
    assert (report["gaps"], report["missing_bars"]) == (1, 1)
    assert report["gap_list"] == [
        {
            "start": "2021-01-01T04:00:00+00:00",
            "end": "2021-01-01T04:00:00+00:00",
            "missing_bars": 1,
        }
    ]


# Refused under the default policies, each message naming the token and the policy to change:
# (row, column index, value) -> what the refusal must say.
_REFUSED_BY_DEFAULT = {
    "a partly null row": (
        4,
        2,
        "null",
        [
            "column 'high': missing cell in an otherwise filled row in 1 row(s); "
            "first: line 6: high='null'."
        ],
    ),
    "missing volume": (
        3,
        5,
        "-",
        [
            "column 'volume': missing cell in an otherwise filled row in 1 row(s)",
            "line 5: volume='-'",
            "ingestion.missing_volume=zero",
        ],
    ),
    "inconsistent ohlc": (
        2,
        2,
        "50",
        ["line 4: open='102', high='50', close='103'", "ingestion.inconsistent_ohlc=drop"],
    ),
}


@pytest.mark.parametrize(
    ("row", "column", "value", "expected"), _REFUSED_BY_DEFAULT.values(), ids=_REFUSED_BY_DEFAULT
)
def test_refused_by_default_quoting_the_token_and_naming_the_policy(row, column, value, expected):
    rows = bar_rows()
    rows[row][column] = value
    message = refusal(to_text(rows))
    for fragment in expected:
        assert fragment in message


def test_a_token_outside_na_values_is_refused_until_listed():
    rows = bar_rows(10)
    rows[4][1:] = ["n/a"] * 5
    message = refusal(to_text(rows))
    assert "column 'open': value is not a number in 1 row(s); first: line 6: open='n/a'" in message
    assert "add it to ingestion.source.na_values" in message
    candles, report = clean_candles(to_text(rows), params(na_values="n/a|null"))
    assert len(candles) == 9
    assert report["missing_value_rows_dropped"] == 1


# ---------------------------------------------------------------------------------- volume
def test_volume_suffixes_are_read_in_any_case():
    rows = bar_rows(6)
    for row, volume in zip(rows, ["105.76K", "1.06M", "2B", "3k", "7", "0.5m"], strict=True):
        row[5] = volume
    candles, _ = clean_candles(to_text(rows), params())
    assert candles["volume"].tolist() == pytest.approx(
        [105_760.0, 1_060_000.0, 2e9, 3_000.0, 7.0, 500_000.0], rel=1e-12
    )


def test_volume_suffixes_switched_off_are_refused_naming_the_switch():
    rows = bar_rows()
    rows[0][5] = "105.76K"
    message = refusal(to_text(rows), volume_suffixes=False)
    assert (
        "column 'volume': value is not a number in 1 row(s); first: line 2: volume='105.76K'"
        in (message)
    )
    assert "set ingestion.source.volume_suffixes=true" in message


def test_missing_volume_zero_fills_the_bar_and_counts_it():
    rows = bar_rows()
    rows[3][5] = "-"
    candles, report = clean_candles(to_text(rows), params(policies={"missing_volume": "zero"}))
    assert len(candles) == 8
    assert candles["volume"].tolist() == [5.0, 5.0, 5.0, 0.0, 5.0, 5.0, 5.0, 5.0]
    assert report["missing_volume_filled"] == 1
    assert report["gaps"] == 0


# ----------------------------------------------------------------------- inconsistent OHLC
def test_inconsistent_ohlc_rows_are_dropped_as_missing_bars_and_listed(caplog):
    rows = bar_rows(10)
    rows[2][2] = "50"  # high below open and close
    rows[6][3] = "200"  # low above open and close
    with caplog.at_level(logging.WARNING):
        candles, report = clean_candles(
            to_text(rows), params(policies={"inconsistent_ohlc": "drop", "min_segment_bars": 3})
        )
    assert len(candles) == 8
    assert candles["segment"].tolist() == [0, 0, 1, 1, 1, 2, 2, 2]
    assert report["inconsistent_ohlc_rows_dropped"] == 2
    assert report["inconsistent_ohlc_rows"][0] == {
        "line": 4,
        "cells": {
            "timestamp": "2021-01-01 02:00:00",
            "open": "102",
            "high": "50",
            "low": "101",
            "close": "103",
            "volume": "5",
        },
    }
    assert report["inconsistent_ohlc_rows"][1]["line"] == 8
    assert (report["gaps"], report["missing_bars"]) == (2, 2)
    assert "dropped 2 row(s) whose high/low contradict open/close" in caplog.text
    assert "line 4: timestamp='2021-01-01 02:00:00', open='102', high='50'" in caplog.text


# ------------------------------------------------------------------------------ stale bars
def _with_stale(n: int, stale: range) -> str:
    """``n`` bars where the bars at ``stale`` repeat the values of the bar before them."""
    rows = bar_rows(n)
    for i in stale:
        rows[i][1:] = rows[i - 1][1:]
    return to_text(rows)


def test_stale_bars_are_counted_and_warned_about_above_the_share(caplog):
    with caplog.at_level(logging.WARNING):
        _, report = clean_candles(_with_stale(20, range(10, 14)), params())
    assert report["stale_bars"] == 4
    assert report["stale_fraction"] == 0.2
    assert report["stale_bar_lines"] == [12, 13, 14, 15]
    assert "4 of 20 bars (20.0%) repeat the bar before them in all five values" in caplog.text
    assert "first at line 12" in caplog.text


def test_a_few_stale_bars_are_counted_without_a_warning(caplog):
    with caplog.at_level(logging.WARNING):
        _, report = clean_candles(_with_stale(30, range(10, 11)), params())
    assert report["stale_bars"] == 1
    assert report["stale_fraction"] == round(1 / 30, 6)
    assert "repeat the bar before them" not in caplog.text


def test_stale_bars_refuse_stops_above_the_share():
    message = refusal(_with_stale(20, range(10, 14)), policies={"stale_bars": "refuse"})
    assert "4 of 20 bars (20.0%) repeat the bar before them" in message
    assert "above ingestion.stale_warn_fraction=0.05" in message
    assert "line 12: timestamp='2021-01-01 10:00:00', open='109'" in message


# ------------------------------------------------------------------------------ timestamps
@pytest.mark.parametrize(
    ("file_unit_ns", "set_unit", "words", "fitting"),
    [
        (10**9, "ms", "milliseconds", "s"),  # seconds read as milliseconds: 1970
        (10**6, "us", "microseconds", "ms"),  # milliseconds read as microseconds: 1970
        (10**6, "s", "seconds", "ms"),  # milliseconds read as seconds: year 52970
        (1, "s", "seconds", "ns"),  # nanoseconds read as seconds
    ],
)
def test_epochs_in_the_wrong_unit_are_refused_with_the_unit_that_fits(
    file_unit_ns: int, set_unit: str, words: str, fitting: str
):
    rows = _epochs(bar_rows(), file_unit_ns)
    message = refusal(to_text(rows), epoch_unit=set_unit)
    assert (
        f"column 'timestamp': epoch number read as {words} falls before 1990-01-01 or more "
        f"than a day in the future in 8 row(s); first: line 2: timestamp='{rows[0][0]}'"
    ) in message
    assert f"set ingestion.source.epoch_unit={fitting}" in message


def test_an_epoch_read_as_1970_shows_the_time_it_was_read_as():
    rows = _epochs(bar_rows(), 10**9)
    message = refusal(to_text(rows), epoch_unit="ms")
    assert "line 2: timestamp='1609459200' (read as 1970-01-19T15:04:19.200000+00:00)" in message


def test_an_epoch_column_that_mixes_units_is_refused_as_such():
    rows = _epochs(bar_rows(), 10**6)
    rows[:3] = _epochs(bar_rows()[:3], 10**9)  # the oldest rows in seconds
    message = refusal(to_text(rows), epoch_unit="ms")
    assert "in 3 row(s); first: line 2: timestamp='1609459200'" in message
    assert "the column mixes units: these rows look like seconds, the others fit milliseconds" in (
        message
    )


def test_date_strings_more_than_a_day_ahead_are_refused():
    rows = bar_rows(8, start="2099-01-01 00:00:00")
    message = refusal(to_text(rows))
    assert (
        "column 'timestamp': timestamp is more than a day in the future in 8 row(s); "
        "first: line 2: timestamp='2099-01-01 00:00:00' (read as 2099-01-01T00:00:00+00:00)"
    ) in message


@pytest.mark.parametrize("unit", ["ms", None])
def test_epochs_in_scientific_notation_are_refused_as_precision_lost(unit: str | None):
    rows = bar_rows(24)
    for row in rows:  # what a spreadsheet shows, and saves, for 1700265600000
        row[0] = "1.70027E+12"
    message = refusal(to_text(rows), epoch_unit=unit)
    assert (
        "column 'timestamp': timestamp written in scientific notation in 24 row(s); "
        "first: line 2: timestamp='1.70027E+12'; line 3: timestamp='1.70027E+12'"
    ) in message
    assert "precision was lost" in message
    assert "grid" not in message


def test_a_timestamp_column_collapsed_to_few_values_is_refused_as_precision_lost():
    rows = bar_rows(24)
    for row in rows:  # hourly bars whose times were cut to the day
        row[0] = "2021-01-01"
    message = refusal(to_text(rows))
    assert (
        "column 'timestamp': only 1 distinct timestamps for 24 different rows (times rounded "
        "together) in 24 row(s); first: line 2: timestamp='2021-01-01'"
    ) in message
    assert "precision was lost" in message


# --------------------------------------------------------------------------------- wording
def test_messages_use_the_file_header_names_and_tokens():
    rows = bar_rows()
    rows[2][2] = "5e1"
    message = refusal(
        to_text(rows, header="Date,Open,High,Low,Close,Volume"), columns={"timestamp": "Date"}
    )
    assert "column 'High' (high): high is below max(open, close) in 1 row(s)" in message
    assert "line 4: Open='102', High='5e1', Close='103'" in message


def test_headerless_messages_name_the_position():
    rows = bar_rows()
    rows[3][5] = "-1"
    positions = {"timestamp": 0, "open": 1, "high": 2, "low": 3, "close": 4, "volume": 5}
    message = refusal(to_text(rows, header=None), header=False, columns=positions)
    assert "column 5 (0-based; volume): volume is negative or infinite" in message
    assert "line 4: volume='-1'" in message


def test_the_report_records_the_interval():
    rows = [[f"2021-01-{d:02d}", "1", "2", "0.5", "1.5", "10"] for d in range(1, 13)]
    _, report = clean_candles(to_text(rows), params(interval="1D"))
    assert report["interval"] == "1D"
    assert report["interval_seconds"] == 86_400.0
    assert report["rows_kept"] == 12
