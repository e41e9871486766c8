"""Property tests: messy CSV text gives valid candles or a ``CandleDataError``, nothing else."""

from __future__ import annotations

import os

import pandas as pd
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from lstm_forecast.errors import CandleDataError
from lstm_forecast.pipelines.ingestion.nodes import clean_candles

from ._helpers import HEADER, HOUR_NS, assert_candle_invariants, params

MIN_BARS = 4  # ingestion.min_segment_bars in these tests
JUNK = [
    "",
    "abc",
    "nan",
    "-1",
    "0",
    "inf",
    "-inf",
    "1e400",
    " 7 ",
    "1,5",
    '"',
    "NaN",
    "None",
    "2021-13-45 00:00",
    "12:30",
    "1609459200000",
    "2021-01-01T00:00:00+05:30",
    "0x1F",
    "null",
    "-",
    "105.76K",
    "1.70027E+12",
    "2099-01-01 00:00",
]
START = pd.Timestamp("2021-01-01", tz="UTC")
PROPERTY_SETTINGS = settings(
    # INGESTION_EXAMPLES=5000 for a long hunt; the default keeps the module fast.
    max_examples=int(os.environ.get("INGESTION_EXAMPLES", "100")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)


@st.composite
def clean_bars(draw: st.DrawFn) -> tuple[list[list[str]], list[int]]:
    """Valid bars with random gaps, as CSV fields, and the segment each bar belongs to."""
    n = draw(st.integers(min_value=1, max_value=25))
    hour, segment = 0, 0
    rows, segments = [], []
    for i in range(n):
        if i and draw(st.integers(0, 5)) == 0:  # about one bar in six follows a gap
            hour += draw(st.integers(1, 3))
            segment += 1
        opening = draw(st.floats(1, 1e6))
        closing = draw(st.floats(1, 1e6))
        high = max(opening, closing) * draw(st.floats(1, 1.1))
        low = min(opening, closing) * draw(st.floats(0.9, 1))
        volume = draw(st.floats(0, 1e9))
        stamp = (START + pd.Timedelta(hours=hour)).strftime("%Y-%m-%d %H:%M:%S")
        rows.append([stamp, *(repr(v) for v in (opening, high, low, closing, volume))])
        segments.append(segment)
        hour += 1
    return rows, segments


@st.composite
def benign_mess(draw: st.DrawFn) -> tuple[str, list[list[str]], list[int], int, int]:
    """Clean bars shuffled, with identical duplicates and empty rows added."""
    rows, segments = draw(clean_bars())
    duplicates = draw(st.lists(st.sampled_from(rows), max_size=5))
    empties = draw(st.integers(0, 3))
    messy = draw(st.permutations(rows + duplicates + [[""] * 6] * empties))
    return _text(messy), rows, segments, len(duplicates), empties


@st.composite
def any_mess(draw: st.DrawFn) -> str:
    """Shuffled bars with duplicates, empty rows, junk cells, off-grid times, bad OHLC."""
    rows, _ = draw(clean_bars())
    rows = [list(row) for row in rows]
    rows += [list(draw(st.sampled_from(rows))) for _ in range(draw(st.integers(0, 3)))]
    rows += [[""] * 6 for _ in range(draw(st.integers(0, 2)))]
    for _ in range(draw(st.integers(0, 3))):
        row = draw(st.sampled_from(rows))
        kind = draw(st.sampled_from(["junk", "off_grid", "swap_high_low", "conflict"]))
        if kind == "junk":
            row[draw(st.integers(0, 5))] = draw(st.sampled_from(JUNK))
        elif kind == "off_grid" and row[0]:
            row[0] = row[0][:-5] + draw(st.sampled_from(["30:00", "00:01", "59:59"]))
        elif kind == "swap_high_low":
            row[2], row[3] = row[3], row[2]
        elif kind == "conflict":
            twin = list(row)
            twin[4] = draw(st.sampled_from(JUNK[3:]) | st.floats(1, 1e6).map(repr))
            rows.append(twin)
    return _text(draw(st.permutations(rows)))


def _params() -> dict:
    return params(policies={"min_segment_bars": MIN_BARS})


def _text(rows: list[list[str]]) -> str:
    return "\n".join([HEADER, *(",".join(row) for row in rows)]) + "\n"


@PROPERTY_SETTINGS
@given(any_mess())
def test_messy_text_gives_valid_candles_or_a_candle_data_error(text: str):
    try:
        candles, report = clean_candles(text, _params())
    except CandleDataError as exc:
        assert "bad.csv" in str(exc)
        event(f"refused: {str(exc).splitlines()[-1][:40]}")
        return
    event("accepted")
    assert_candle_invariants(candles)
    assert report["rows_kept"] == len(candles)
    assert candles.groupby("segment").size().max() >= MIN_BARS


@PROPERTY_SETTINGS
@given(benign_mess())
def test_order_duplicates_and_empty_rows_do_not_change_the_result(case):
    text, rows, segments, duplicates, empties = case
    longest = max(segments.count(s) for s in set(segments))
    try:
        candles, report = clean_candles(text, _params())
    except CandleDataError as exc:
        assert longest < MIN_BARS, exc
        assert "too few contiguous bars" in str(exc)
        return
    expected, _ = clean_candles(_text(rows), _params())
    pd.testing.assert_frame_equal(candles, expected)
    assert_candle_invariants(candles, HOUR_NS)
    assert candles["segment"].tolist() == segments
    assert report["duplicate_rows_dropped"] == duplicates
    assert report["null_rows_dropped"] == empties
    assert report["gaps"] == segments[-1]
