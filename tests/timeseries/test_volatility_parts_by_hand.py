"""Small parts of the volatility features, by hand: weekday, segment position, masking, means."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from lstm_forecast.timeseries.volatility_features import (
    day_of_week,
    masked,
    segment_position,
    trailing_mean,
)


def test_day_of_week_is_the_utc_weekday_as_float64():
    # 2024-01-01 was a Monday (0); 2024-01-07 a Sunday (6).
    utc = pd.Series(pd.to_datetime(["2024-01-01 00:00", "2024-01-07 23:00"], utc=True))
    weekday = day_of_week(utc)
    assert weekday.dtype == np.float64
    assert weekday.tolist() == [0.0, 6.0]
    # Monday 20:00 in New York is Tuesday 01:00 UTC: the UTC weekday, 1.
    local = utc.iloc[:1].dt.tz_convert("America/New_York") + pd.Timedelta(hours=20 + 5)
    assert local.dt.day_of_week.tolist() == [0]  # still Monday there
    assert day_of_week(local).tolist() == [1.0]


def test_day_of_week_reads_naive_times_as_utc():
    # Naive times carry no zone: read as UTC, not converted (tz_convert would refuse them).
    naive = pd.Series(pd.to_datetime(["2024-01-01 00:00", "2024-01-07 23:00", "1970-01-01 00:00"]))
    assert naive.dt.tz is None
    assert day_of_week(naive).tolist() == [0.0, 6.0, 3.0]  # Monday, Sunday; the epoch a Thursday


def test_segment_position_counts_bars_before_each_row_in_its_segment():
    starts = np.array([True, False, False, True, False, True])
    assert segment_position(starts).tolist() == [0, 1, 2, 0, 1, 0]


def test_masked_blanks_rows_with_fewer_than_lookback_bars_before_them():
    position = np.array([0, 1, 2, 0, 1, 2, 3])
    values = masked(np.arange(7, dtype=np.float64), position, 2)
    # Rows at positions 0 and 1 have fewer than 2 bars before them; position 2 has exactly 2.
    assert [math.isnan(v) for v in values] == [True, True, False, True, True, False, False]
    assert values[[2, 5, 6]].tolist() == [2.0, 5.0, 6.0]


def test_trailing_mean_of_a_series_exactly_one_span_long_has_its_last_row():
    # Three values, span 3: one full window, (1 + 2 + 6) / 3 = 3 at the last row.
    means = trailing_mean(np.array([1.0, 2.0, 6.0]), 3)
    assert [math.isnan(v) for v in means] == [True, True, False]
    assert means[2] == 3.0
    # One value fewer than the span: no window at all, every row NaN.
    assert np.isnan(trailing_mean(np.array([1.0, 2.0]), 3)).all()
