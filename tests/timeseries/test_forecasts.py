"""Quantile forecasts as a long table and back."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from lstm_forecast.timeseries import forecasts

ORIGINS = pd.Series(pd.to_datetime(["2024-01-01 00:00", "2024-01-01 05:00"], utc=True))
LAST = np.array([100.0, 200.0])
LEVELS = [0.05, 0.5, 0.95]
# prices[i, h, q] = 1000 i + 10 h + q: every cell tells where it came from.
PRICES = np.array(
    [[[1000 * i + 10 * h + q for q in range(3)] for h in range(2)] for i in range(2)], dtype=float
)
ACTUAL = np.array([[101.0, 102.0], [201.0, 202.0]])


def test_to_frame_lays_out_one_row_per_origin_and_step():
    frame = forecasts.to_frame(ORIGINS, LAST, PRICES, LEVELS, "1h", ACTUAL)
    assert list(frame.columns) == [
        "origin_time", "h", "forecast_time", "last_close", "actual_close", "q0.05", "q0.5",
        "q0.95",
    ]  # fmt: skip
    assert frame["h"].tolist() == [1, 2, 1, 2]
    assert frame["forecast_time"].tolist() == list(
        pd.to_datetime(
            ["2024-01-01 01:00", "2024-01-01 02:00", "2024-01-01 06:00", "2024-01-01 07:00"],
            utc=True,
        )
    )
    assert frame["last_close"].tolist() == [100.0, 100.0, 200.0, 200.0]
    assert frame["actual_close"].tolist() == [101.0, 102.0, 201.0, 202.0]
    assert frame["q0.05"].tolist() == [0.0, 10.0, 1000.0, 1010.0]
    assert frame["q0.95"].tolist() == [2.0, 12.0, 1002.0, 1012.0]


def test_to_frame_and_from_frame_round_trip():
    frame = forecasts.to_frame(ORIGINS, LAST, PRICES, LEVELS, pd.Timedelta(15, "min"), ACTUAL)
    assert frame["forecast_time"].iloc[1] == ORIGINS[0] + pd.Timedelta(30, "min")
    back = forecasts.from_frame(frame)
    np.testing.assert_array_equal(back["prices"], PRICES)
    np.testing.assert_array_equal(back["actual"], ACTUAL)
    np.testing.assert_array_equal(back["last_close"], LAST)
    np.testing.assert_array_equal(back["levels"], LEVELS)
    assert list(pd.DatetimeIndex(back["origin_time"])) == list(ORIGINS)


def test_round_trip_without_actuals_and_through_parquet(tmp_path):
    frame = forecasts.to_frame(ORIGINS, LAST, PRICES, LEVELS, "1h")
    assert "actual_close" not in frame
    path = tmp_path / "forecasts.parquet"
    frame.to_parquet(path)
    back = forecasts.from_frame(pd.read_parquet(path))
    assert back["actual"] is None
    np.testing.assert_array_equal(back["prices"], PRICES)
    assert forecasts.level_column(0.05) == "q0.05"


@pytest.mark.parametrize(
    ("interval", "alias"),
    [("15min", "15min"), ("1h", "1h"), ("2h", "2h"), ("1D", "1D"), ("90s", "90s")],
)
def test_interval_of_names_the_bar_interval_with_its_count(interval, alias):
    # Two steps per origin: the second row is step 2 (twice the interval ahead).
    frame = forecasts.to_frame(ORIGINS, LAST, PRICES, LEVELS, interval)
    assert forecasts.interval_of(frame) == alias
    # One step per origin: the second row is the next origin, five hours later.
    one_step = forecasts.to_frame(ORIGINS, LAST, PRICES[:, :1], LEVELS, interval)
    assert forecasts.interval_of(one_step) == alias
