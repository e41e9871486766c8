"""The edges of timestamp parsing: limits in time, daylight saving, precision, the grid."""

from __future__ import annotations

import pandas as pd
import pytest
from pydantic import ValidationError

from lstm_forecast.ohlcv_csv.layout import interval_ns
from lstm_forecast.ohlcv_csv.parsing import strictly_increasing
from lstm_forecast.pipelines.ingestion.nodes import clean_candles
from lstm_forecast.pipelines.ingestion.params import IngestionParams

from ._helpers import bar_rows, params, refusal, to_text


def _stamps(*values: str | None) -> pd.Series:
    return pd.Series(pd.to_datetime(list(values), utc=True))


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        (("2021-01-01 00:00", "2021-01-01 01:00", "2021-01-01 05:00"), True),
        (("2021-01-01 00:00",), True),
        (("2021-01-01 00:00", "2021-01-01 00:00"), False),  # equal is not later
        (("2021-01-01 01:00", "2021-01-01 00:00"), False),
        (("2021-01-01 00:00", None, "2021-01-01 05:00"), False),  # a missing time
        ((None, "2021-01-01 00:00"), False),  # NaT is the smallest int64: not "earlier"
    ],
)
def test_strictly_increasing(values: tuple, expected: bool):
    assert strictly_increasing(_stamps(*values)) is expected


def _rounded(distinct_rows: int, distinct_times: int) -> str:
    """``distinct_rows`` different bars whose times fall on ``distinct_times`` values."""
    rows = bar_rows(distinct_rows)
    for i, row in enumerate(rows):
        row[0] = f"2021-01-01 {i % distinct_times:02d}:00:00"
    return to_text(rows)


@pytest.mark.parametrize(("distinct_rows", "distinct_times"), [(4, 2), (8, 4), (9, 3)])
def test_times_collapsed_to_half_the_rows_or_fewer_are_refused_as_precision_lost(
    distinct_rows: int, distinct_times: int
):
    message = refusal(_rounded(distinct_rows, distinct_times))
    assert f"only {distinct_times} distinct timestamps for {distinct_rows} different rows" in (
        message
    )


@pytest.mark.parametrize(("distinct_rows", "distinct_times"), [(3, 1), (8, 5)])
def test_a_few_clashing_times_are_refused_as_conflicting_duplicates(
    distinct_rows: int, distinct_times: int
):
    message = refusal(_rounded(distinct_rows, distinct_times))
    assert "the same timestamp appears with different values" in message
    assert "distinct timestamps" not in message


def test_a_local_time_skipped_by_daylight_saving_is_refused_not_raised():
    rows = bar_rows(8, start="2021-03-28 00:00:00")  # Berlin skips 02:00-03:00 on this day
    message = refusal(to_text(rows), timezone="Europe/Berlin")
    assert "line 4: timestamp='2021-03-28 02:00:00'" in message
    assert "export the file in UTC" in message


def test_a_time_outside_what_nanoseconds_hold_is_refused_not_raised():
    rows = bar_rows()
    rows[2][0] = "-1"  # pandas reads it as the year -1
    message = refusal(to_text(rows))
    assert "timestamp does not parse in 1 row(s); first: line 4: timestamp='-1'" in message


def _live(n: int) -> list[list[str]]:
    """``n`` bars ending with the bar that opened in the previous hour."""
    start = pd.Timestamp.now(tz="UTC").floor("h") - pd.Timedelta(hours=n)
    return bar_rows(n, start=start.strftime("%Y-%m-%d %H:%M:%S"))


def test_a_file_that_ends_an_hour_ago_is_accepted():
    rows = _live(8)
    candles, _ = clean_candles(to_text(rows), params())
    assert candles["timestamp"].iloc[-1] == pd.Timestamp(rows[-1][0], tz="UTC")
    in_ms = [[str(pd.Timestamp(r[0], tz="UTC").value // 10**6), *r[1:]] for r in rows]
    candles, _ = clean_candles(to_text(in_ms), params(epoch_unit="ms"))
    assert candles["timestamp"].iloc[-1] == pd.Timestamp(rows[-1][0], tz="UTC")


def test_epochs_from_the_first_hour_of_1990_are_accepted():
    rows = bar_rows(8, start="1990-01-01 00:00:00")
    in_s = [[str(pd.Timestamp(r[0], tz="UTC").value // 10**9), *r[1:]] for r in rows]
    candles, _ = clean_candles(to_text(in_s), params(epoch_unit="s"))
    assert candles["timestamp"].iloc[0] == pd.Timestamp("1990-01-01", tz="UTC")


def test_nanosecond_epochs_keep_every_digit():
    rows = bar_rows()
    in_ns = [[str(pd.Timestamp(r[0], tz="UTC").value), *r[1:]] for r in rows]
    candles, _ = clean_candles(to_text(in_ns), params(epoch_unit="ns"))
    expected = [pd.Timestamp(r[0], tz="UTC") for r in rows]
    assert candles["timestamp"].tolist() == expected


def test_a_calendar_interval_is_refused_with_the_ones_that_work():
    with pytest.raises(ValidationError) as caught:
        IngestionParams.model_validate(params(interval="1ME"))
    assert (
        "'1ME' is not a fixed-length pandas offset alias; use e.g. 1min, 15min, 1h, 4h or 1D "
        "(calendar intervals such as months have no fixed length)"
    ) in str(caught.value)


def test_an_interval_must_be_longer_than_zero():
    with pytest.raises(ValidationError, match="'0h' must be a positive interval"):
        IngestionParams.model_validate(params(interval="0h"))
    assert interval_ns("1ns") == 1
