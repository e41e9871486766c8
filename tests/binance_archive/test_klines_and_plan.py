"""Kline parsing (ms and µs in one file, headers) and archive planning, without a server."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from lstm_forecast.binance_archive import CorruptArchiveError, parse_klines, plan_archives
from lstm_forecast.errors import FetchError

from .archive_server import kline_csv, rows_of


def test_ms_and_us_rows_in_one_file_give_the_same_times():
    ms = kline_csv("2021-04-01", unit="ms").splitlines(keepends=True)
    us = kline_csv("2021-04-01", unit="us").splitlines(keepends=True)
    mixed = b"".join(ms[:12] + us[12:])  # the switch happens inside the file
    frame = parse_klines(mixed, "mixed.csv")
    expected = rows_of("2021-04-01")["opened"].reset_index(drop=True)
    pd.testing.assert_series_equal(frame["timestamp"], expected, check_names=False)
    assert frame["close"].tolist() == rows_of("2021-04-01")["close"].astype(float).tolist()


def test_a_header_line_is_tolerated():
    data = b"open_time,open,high,low,close,volume,close_time\n" + kline_csv("2021-04-01")
    frame = parse_klines(data, "with_header.csv")
    assert len(frame) == len(rows_of("2021-04-01"))


def test_seconds_are_refused_naming_the_line():
    data = b"1617235200000,1,1,1,1,1\n1617235200,1,1,1,1,1\n"
    with pytest.raises(CorruptArchiveError, match="line 2: open time 1617235200 is neither"):
        parse_klines(data, "seconds.csv")


def test_plan_months_then_days_of_the_current_month():
    plan = plan_archives("ETHUSDT", "4h", "2020-11", None, date(2021, 1, 3))
    assert [a.period for a in plan] == ["2020-11", "2020-12", "2021-01-01", "2021-01-02"]
    assert plan[0].url("https://x.test/") == (
        "https://x.test/data/spot/monthly/klines/ETHUSDT/4h/ETHUSDT-4h-2020-11.zip"
    )
    assert plan[-1].url("https://x.test") == (
        "https://x.test/data/spot/daily/klines/ETHUSDT/4h/ETHUSDT-4h-2021-01-02.zip"
    )


@pytest.mark.parametrize(
    ("start", "end", "interval", "message"),
    [
        ("2021-13", None, "1h", "not a month"),
        ("2021-05", "2021-04", "1h", "is after fetch.end"),
        ("2021-05", None, "7m", "interval '7m'"),
    ],
)
def test_plan_refuses_bad_input(start, end, interval, message):
    with pytest.raises(FetchError, match=message):
        plan_archives("BTCUSDT", interval, start, end, date(2021, 9, 1))
