"""The data-quality report, every field counted by hand from a small file."""

from __future__ import annotations

import logging

import pandas as pd
import pytest

from lstm_forecast.errors import CandleDataError
from lstm_forecast.ohlcv_csv.quality import GAP_POLICY
from lstm_forecast.pipelines.ingestion.nodes import clean_candles

from ._helpers import HEADER, params

# Line numbers of the file are on the left; 03:00, 07:00 and 08:00 are missing bars.
FILE = f"""{HEADER}
2021-01-01 00:00:00,100,102,99,101,5
2021-01-01 01:00:00,101,103,100,102,6
2021-01-01 02:00:00,102,104,101,103,7
2021-01-01 01:00:00,101,103,100,102,6
,,,,,
2021-01-01 04:00:00,104,106,103,105,8
2021-01-01 05:00:00,104,106,103,105,8
2021-01-01 06:00:00,106,108,105,107,9
2021-01-01 07:00:00,null,null,null,null,null
2021-01-01 09:00:00,109,111,108,110,10
2021-01-01 10:00:00,110,112,109,111,11
2021-01-01 11:00:00,111,113,110,112,12
"""


def test_every_field_of_the_report():
    candles, report = clean_candles(FILE, params(policies={"min_segment_bars": 2}))
    assert report == {
        "source_file": "bad.csv",
        "interval": "1h",
        "interval_seconds": 3600.0,
        "rows_read": 12,  # lines 2-13
        "rows_kept": 9,
        "duplicate_rows_dropped": 1,  # line 5 repeats line 3
        "null_rows_dropped": 1,  # line 6
        "missing_value_rows_dropped": 1,  # line 10: a timestamp and nothing else
        "missing_volume_filled": 0,
        "inconsistent_ohlc_rows_dropped": 0,
        "inconsistent_ohlc_rows": [],
        "stale_bars": 1,  # 05:00 repeats 04:00
        "stale_fraction": 0.111111,  # 1 of 9 bars
        "stale_bar_lines": [8],
        "gaps": 2,
        "missing_bars": 3,
        "segments": 3,
        "gap_list": [
            {
                "start": "2021-01-01T03:00:00+00:00",
                "end": "2021-01-01T03:00:00+00:00",
                "missing_bars": 1,
            },
            {
                "start": "2021-01-01T07:00:00+00:00",
                "end": "2021-01-01T08:00:00+00:00",
                "missing_bars": 2,
            },
        ],
        "gap_list_truncated": False,
        "start": "2021-01-01T00:00:00+00:00",
        "end": "2021-01-01T11:00:00+00:00",
        "gap_policy": GAP_POLICY,
    }
    assert candles["segment"].tolist() == [0, 0, 0, 1, 1, 1, 2, 2, 2]
    assert candles["volume"].tolist() == [5, 6, 7, 8, 8, 9, 10, 11, 12]


def _pairs_with_gaps(gaps: int) -> str:
    """Two bars, one missing, two bars, ...: ``gaps`` gaps of one bar each."""
    lines = [HEADER]
    start = pd.Timestamp("2021-01-01")
    for pair in range(gaps + 1):
        for bar in range(2):
            hour = 3 * pair + bar
            stamp = start + pd.Timedelta(hours=hour)
            price = 100 + hour
            lines.append(f"{stamp},{price},{price + 2},{price - 1},{price + 1},{hour}")
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize(("gaps", "truncated"), [(50, False), (51, True)])
def test_the_gap_list_stops_at_fifty_and_says_so(gaps: int, truncated: bool):
    _, report = clean_candles(_pairs_with_gaps(gaps), params(policies={"min_segment_bars": 2}))
    assert report["gaps"] == gaps
    assert report["missing_bars"] == gaps
    assert report["segments"] == gaps + 1
    assert len(report["gap_list"]) == 50
    assert report["gap_list_truncated"] is truncated
    assert report["gap_list"][-1]["missing_bars"] == 1


def _one_stale_in_twenty() -> str:
    lines = [HEADER]
    for hour in range(20):
        price = 100 + min(hour, 9)  # bar 10 repeats bar 9 ...
        price += max(hour - 10, 0)  # ... and every later bar moves on again
        lines.append(f"2021-01-01 {hour:02d}:00:00,{price},{price + 2},{price - 1},{price + 1},5")
    return "\n".join(lines) + "\n"


def test_a_stale_share_equal_to_the_limit_is_neither_warned_about_nor_refused(caplog):
    text = _one_stale_in_twenty()  # 1 of 20 bars: exactly stale_warn_fraction=0.05
    policies = {"stale_bars": "refuse", "stale_warn_fraction": 0.05}
    with caplog.at_level(logging.WARNING):
        _, report = clean_candles(text, params(policies=policies))
    assert (report["stale_bars"], report["stale_fraction"]) == (1, 0.05)
    assert "repeat the bar before them" not in caplog.text
    with pytest.raises(CandleDataError, match="1 of 20 bars"):
        clean_candles(text, params(policies={**policies, "stale_warn_fraction": 0.049}))
