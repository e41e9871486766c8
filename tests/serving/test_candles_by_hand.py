"""The candle checks of a request, each rule worked out by hand on three hourly bars.

The bars open at epoch 0, 3600 and 7200 s (1970-01-01 00:00, 01:00 and 02:00 UTC); each is
open 10, high 12, low 9, close 11, volume 5, which passes every rule. Each test breaks one
thing and states the one answer expected, pointer and words included.
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from lstm_forecast.serving.candles import (
    _field,
    check_window,
    clean_windows,
    iso,
    refuse,
    to_arrays,
)

HOUR = 3600
GOOD = (10.0, 12.0, 9.0, 11.0, 5.0)


def bars(n: int = 3, start: int = 0) -> tuple[np.ndarray, np.ndarray]:
    values = np.array([GOOD] * n, np.float64)
    times = np.arange(n, dtype=np.float64) * HOUR + start
    return values, times


def check(values, times, needed=3, **kwargs):
    return check_window(values, times, needed, HOUR, "/candles", **kwargs)


def test_iso_and_field_names():
    """Epoch 3600 s is 01:00 UTC on 1970-01-01; digits of a pointer become [i]."""
    assert iso(3600.0) == "1970-01-01T01:00:00Z"
    assert _field("/windows/3/candles") == "windows[3].candles"
    assert _field("/candles/2/close") == "candles[2].close"


def test_to_arrays_keeps_the_column_order_and_shape():
    """open, high, low, close, volume in that order; no candles is a [0, 5] array."""
    candle = SimpleNamespace(time=7200, open=1, high=2.0, low=0.5, close=1.5, volume=3)
    values, times = to_arrays([candle])
    assert values.tolist() == [[1.0, 2.0, 0.5, 1.5, 3.0]] and times.tolist() == [7200.0]
    assert values.dtype == times.dtype == np.float64  # from ints too
    assert to_arrays([])[0].shape == (0, 5)


def test_too_few_candles_names_the_list():
    """2 bars for a model needing 3: context_length is 3 - 1 = 2."""
    values, times = bars(2)
    assert check(values, times) == [
        {
            "pointer": "/candles",
            "field": "candles",
            "problem": "2 candles, the model needs at least 3 (context_length 2 + 1 for "
            "the first return), oldest first",
        }
    ]


def test_a_clean_window_passes_and_only_the_last_bars_are_checked():
    """4 bars, 3 needed: a NaN in the first (unused) bar is no problem."""
    values, times = bars(4)
    assert check(values, times) == []
    values[0, 3] = np.nan
    assert check(values, times) == []
    values[1, 3] = np.nan  # now inside the last three: request bar 1, opened 01:00
    assert check(values, times) == [
        {
            "pointer": "/candles/1/close",
            "field": "candles[1].close",
            "bar": 1,
            "time": "1970-01-01T01:00:00Z",
            "problem": "is NaN or infinite",
        }
    ]


def test_offset_and_template_place_the_bar_in_the_request():
    """Bar 2 of the window is bar 12 of a list that starts at offset 10; columns first."""
    values, times = bars()
    values[2, 4] = np.inf
    (error,) = check(values, times, offset=10, template="/windows/0/{column}/{bar}")
    assert error["pointer"] == "/windows/0/volume/12"
    assert error["field"] == "windows[0].volume[12]"
    assert error["bar"] == 12 and error["time"] == "1970-01-01T02:00:00Z"


def test_high_below_low_is_one_error_not_three():
    """high 8 < low 9 also breaks high >= max(open, close); only the first is reported."""
    values, times = bars()
    values[1, 1] = 8.0
    assert [(e["pointer"], e["problem"]) for e in check(values, times)] == [
        ("/candles/1/high", "high is below low")
    ]


@pytest.mark.parametrize(
    ("column", "value", "field", "problem"),
    [
        (1, 10.5, "high", "high is below max(open, close)"),  # close 11 > high 10.5 >= low 9
        (2, 10.5, "low", "low is above min(open, close)"),  # open 10 < low 10.5 <= high 12
        (4, -1.0, "volume", "volume is negative or infinite"),
    ],
)
def test_each_ingestion_rule_speaks_its_own_words(column, value, field, problem):
    values, times = bars()
    values[2, column] = value
    assert check(values, times) == [
        {
            "pointer": f"/candles/2/{field}",
            "field": f"candles[2].{field}",
            "bar": 2,
            "time": "1970-01-01T02:00:00Z",
            "problem": problem,
        }
    ]


def test_non_positive_prices_name_each_price_in_rule_order():
    """open 0 and low 0 (low <= min(open, close) still holds): open first, then low."""
    values, times = bars()
    values[0, 0] = values[0, 2] = 0.0
    assert [(e["pointer"], e["problem"]) for e in check(values, times)] == [
        ("/candles/0/open", "price is not a positive finite number"),
        ("/candles/0/low", "price is not a positive finite number"),
    ]


def test_bars_off_the_grid_are_named_by_time():
    """Opened at 00:30, 01:30, 02:30: each is off the 3600 s grid; the steps are fine."""
    values, times = bars(start=1800)
    errors = check(values, times)
    assert [e["pointer"] for e in errors] == [
        "/candles/0/time",
        "/candles/1/time",
        "/candles/2/time",
    ]
    assert errors[0]["field"] == "candles[0].time" and errors[0]["time"] == "1970-01-01T00:30:00Z"
    assert errors[0]["problem"].startswith("timestamp is not on the 3600 s grid")


def test_newest_first_is_one_error_for_the_list():
    values, times = bars()
    problems = check(values, times[::-1].copy())
    assert problems == [
        {
            "pointer": "/candles",
            "field": "candles",
            "problem": "the candles are newest first; send them oldest first",
        }
    ]


@pytest.mark.parametrize(
    ("last", "problem"),
    [
        # 01:00 -> 03:00 is two steps: one bar (02:00) missing
        (
            3 * HOUR,
            "a gap: 1 bar(s) missing after 1970-01-01T01:00:00Z; a window must be consecutive",
        ),
        # 01:00 -> 04:00: two bars missing
        (
            4 * HOUR,
            "a gap: 2 bar(s) missing after 1970-01-01T01:00:00Z; a window must be consecutive",
        ),
        # the same open time twice (a step of 0)
        (HOUR, "not after the bar before it (1970-01-01T01:00:00Z): candles go oldest first"),
        # before the bar before it, though the first step goes forward
        (0, "not after the bar before it (1970-01-01T01:00:00Z): candles go oldest first"),
    ],
)
def test_order_and_gap_problems_name_the_later_bar(last, problem):
    values, times = bars()
    times[2] = last
    errors = [e for e in check(values, times) if e["pointer"] == "/candles/2/time"]
    assert errors[-1]["problem"] == problem and errors[-1]["bar"] == 2


def test_a_step_that_is_not_a_whole_number_of_bars():
    """01:00 -> 01:30 is 1800 s; 01:30 is also off the grid (reported first)."""
    values, times = bars()
    times[2] = 5400.0
    errors = check(values, times)
    assert [e["problem"] for e in errors][-1] == (
        "1800 s after the bar before it; the model's interval is 3600 s"
    )
    assert len(errors) == 2


def test_clean_windows_gates_each_window_on_its_own():
    """Of [b, n, 5] windows, only the one with a broken bar is flagged."""
    good_values, good_times = bars()
    cases = {
        "nan": (0, 0, np.nan),
        "zero price": (1, 3, 0.0),
        "negative volume": (2, 4, -0.5),
        "high below close": (0, 1, 10.5),
        "low above open": (1, 2, 10.5),
    }
    for name, (bar, column, value) in cases.items():
        values = np.stack([good_values, good_values.copy()])
        values[1, bar, column] = value
        gate = clean_windows(values, np.stack([good_times, good_times]), HOUR)
        assert gate.tolist() == [True, False], name
    zero_volume = np.stack([good_values, good_values.copy()])
    zero_volume[1, :, 4] = 0.0  # volume 0 is allowed, prices equal to high/low too
    zero_volume[1, 0, 1] = zero_volume[1, 0, 3]
    assert clean_windows(zero_volume, np.stack([good_times] * 2), HOUR).tolist() == [True, True]
    for times in (good_times + 1800, np.array([0.0, 3600.0, 10800.0])):
        gate = clean_windows(np.stack([good_values] * 2), np.stack([good_times, times]), HOUR)
        assert gate.tolist() == [True, False]


def test_refuse_names_the_first_problem_and_counts_the_rest():
    errors = [{"field": "candles[2].close", "problem": "is NaN or infinite"}, {"field": "x"}]
    problem = refuse(errors)
    assert (problem.status, problem.title) == (422, "Candles refused")
    assert problem.detail == "candles[2].close: is NaN or infinite (and 1 more)"
    assert problem.errors == errors
    assert refuse(errors[:1]).detail == "candles[2].close: is NaN or infinite"


def test_a_bar_without_a_time_is_named_with_time_none():
    """A NaN open time is off the grid and no whole step after 01:00; it has no ISO time."""
    values, times = bars()
    times[2] = np.nan
    errors = check(values, times)
    assert [(e["pointer"], e["time"]) for e in errors] == [("/candles/2/time", None)] * 2
    assert errors[1]["problem"] == "nan s after the bar before it; the model's interval is 3600 s"


def test_a_nan_in_one_bar_does_not_hide_another_bars_problem():
    """NaN close in bar 0 and volume -1 in bar 2: both named, each once."""
    values, times = bars()
    values[0, 3], values[2, 4] = np.nan, -1.0
    assert [(e["pointer"], e["problem"]) for e in check(values, times)] == [
        ("/candles/0/close", "is NaN or infinite"),
        ("/candles/2/volume", "volume is negative or infinite"),
    ]


def test_a_bar_with_high_equal_to_low_is_fine():
    """Bar 0 at 10 throughout (high = low) passes; only bar 2's volume is refused."""
    values, times = bars()
    values[0, :4] = 10.0
    values[2, 4] = -1.0
    assert [e["pointer"] for e in check(values, times)] == ["/candles/2/volume"]


def test_every_bar_at_one_time_is_out_of_order_not_newest_first():
    """Steps of 0 are not a reversed list: each later bar is named."""
    values, _ = bars()
    errors = check(values, np.zeros(3))
    assert [e["pointer"] for e in errors] == ["/candles/1/time", "/candles/2/time"]
    assert errors[0]["problem"] == (
        "not after the bar before it (1970-01-01T00:00:00Z): candles go oldest first"
    )


def test_a_step_of_one_second_is_named_in_seconds():
    """02:00:01 after 01:00 is 3601 s: off the grid, then not a whole bar."""
    values, times = bars()
    times[2] = 3601.0
    errors = check(values, times)
    assert errors[-1]["problem"] == "1 s after the bar before it; the model's interval is 3600 s"


def test_iso_is_utc_whatever_the_local_zone(monkeypatch):
    """Epoch 0 is 1970-01-01 00:00 UTC, also on a machine set to New York (19:00 the day
    before there)."""
    import time

    monkeypatch.setenv("TZ", "America/New_York")
    time.tzset()
    try:
        assert iso(0.0) == "1970-01-01T00:00:00Z"
    finally:
        monkeypatch.undo()
        time.tzset()
