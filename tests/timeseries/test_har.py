"""The seasonal HAR baseline: its regressors by hand, no look-ahead, and that it earns its
place on a series whose variance has a known hour-of-day pattern."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from lstm_forecast.timeseries import baselines, har, metrics, scoring
from tests.synthetic import make_candles

from ._tables import feature_table

LEVELS = np.array([0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95])


def test_parkinson_variance_by_hand():
    # ln(high/low) = 0.02: 0.0004 / (4 ln 2) = 1.4427e-4.
    assert har.parkinson_variance(np.array([0.02, 0.0])).tolist() == pytest.approx(
        [0.0004 / (4 * math.log(2)), 0.0]
    )


def test_trailing_means_by_hand_use_fewer_bars_at_the_start():
    means = har.trailing_means(np.array([1.0, 2.0, 3.0, 6.0]), spans=(1, 2, 3))
    expected = [
        [1.0, 1.0, 1.0],
        [2.0, 1.5, 1.5],
        [3.0, 2.5, 2.0],
        [6.0, 4.5, 11 / 3],
    ]
    np.testing.assert_allclose(means, expected, rtol=1e-12)


def test_design_matrix_by_hand_dummies_of_the_target_bar():
    # Origin Sunday 2024-01-07 22:00 UTC; step 3 targets Monday 01:00: hour 1, weekday 0.
    origins = pd.DatetimeIndex(["2024-01-07 22:00", "2024-01-09 05:00"], tz="UTC")
    log_means = np.array([[-9.0, -8.0, -7.0], [-6.0, -5.0, -4.0]])
    design = har.design_matrix(log_means, origins, 3, pd.Timedelta(hours=1))
    assert design.shape == (2, 1 + 3 + 23 + 6)
    first, second = np.zeros(33), np.zeros(33)
    first[:4] = [1.0, -9.0, -8.0, -7.0]
    first[4 + 0] = 1.0  # hour 1 is the first hour column (hour 0 is the reference)
    # Monday is the reference weekday: no weekday column is set.
    second[:4] = [1.0, -6.0, -5.0, -4.0]
    second[4 + 7] = 1.0  # Tuesday 08:00: hour 8 ...
    second[4 + 23 + 0] = 1.0  # ... and Tuesday, the first weekday column
    np.testing.assert_array_equal(design, np.vstack([first, second]))


def test_seasonal_dummies_read_the_utc_time_of_a_zoned_index():
    times = pd.DatetimeIndex(["2024-01-02 03:00"], tz="UTC").tz_convert("Asia/Tokyo")
    dummies = har.seasonal_dummies(times)
    assert np.flatnonzero(dummies[0]).tolist() == [2, 23]  # hour 3, Tuesday


def test_ols_recovers_a_known_har_and_maps_variance_to_squared_returns():
    # ln pv_{t+1} = -8 + 0.5 ln pv_t + noise: the step-1 fit finds 0.5 on the last bar.
    rows, train = 4_000, 3_000
    rng = np.random.default_rng(2)
    log_pv = np.empty(rows)
    log_pv[0] = -16.0
    for t in range(1, rows):
        log_pv[t] = -8.0 + 0.5 * log_pv[t - 1] + rng.normal(0.0, 0.5)
    table = _table_from_log_variance(log_pv, rng)
    val_start = table["timestamp"].iloc[train]
    _, every_row, summary = har.har_cumulative_variance(table, np.array([3_500]), val_start, 2)
    intercept, m1, m24, m168 = summary["coefficients_k1_intercept_m1_m24_m168"]
    assert m1 == pytest.approx(0.5, abs=0.05)
    # The long means barely move on this short-memory series, so they trade off against the
    # intercept; together they still give the process mean: E ln pv = -8 / (1 - 0.5) = -16.
    level = intercept + (m1 + m24 + m168) * -16.0
    assert level == pytest.approx(-16.0, abs=0.3)
    assert every_row.shape == (rows, 2) and (np.diff(every_row, axis=1) > 0).all()
    # In squared-return units: over the training rows, the mean one-step variance forecast
    # equals the mean squared next return (the training ratio's definition).
    # Origins 0 .. train-2 have their next bar in training (row 0 has no return itself).
    squared_next = table["log_return"].to_numpy()[1:train] ** 2
    np.testing.assert_allclose(every_row[: train - 1, 0].mean(), squared_next.mean(), rtol=1e-9)


def test_no_har_input_at_an_origin_reads_a_later_bar():
    """Shift-by-one leak test: the forecast at origin t is unchanged when every bar after t
    (in the test period, so the training fit is the same) moves."""
    candles = make_candles(700, seed=3)
    table = feature_table(candles, "log_return", 3)
    val_start, end = table["timestamp"].iloc[400], 600
    ends = np.array([550, end])
    before = baselines.har_quantiles(table, ends, val_start, horizon=3, levels=LEVELS)
    moved = candles.copy()
    later = moved.index > end
    rng = np.random.default_rng(1)
    moved.loc[later, ["open", "high", "low", "close"]] *= rng.uniform(0.8, 1.2, (later.sum(), 1))
    moved.loc[end + 1, "high"] *= 1.2
    after_table = feature_table(moved, "log_return", 3)
    after = baselines.har_quantiles(after_table, ends, val_start, horizon=3, levels=LEVELS)
    np.testing.assert_array_equal(after, before)
    # Bar t itself does count: widening its range moves the forecast made at t.
    present = candles.copy()
    present.loc[end, "high"] *= 1.05
    shifted = feature_table(present, "log_return", 3)
    now = baselines.har_quantiles(shifted, ends, val_start, horizon=3, levels=LEVELS)
    assert not np.allclose(now[1], before[1]) and np.array_equal(now[0], before[0])


def test_har_beats_ewma_on_a_series_with_an_hour_of_day_variance_pattern():
    rows, train, horizon = 24 * 7 * 30, 24 * 7 * 18, 3
    candles = _seasonal_candles(rows, seed=11)
    table = feature_table(candles, "log_return", horizon)
    ends = np.arange(train + 200, rows - horizon)
    prices = baselines.forecast_all(
        table,
        ends,
        table["timestamp"].iloc[train],
        horizon=horizon,
        levels=LEVELS,
        window_length=48,
    )
    close = candles["close"].to_numpy()
    actual = close[ends[:, None] + np.arange(1, horizon + 1)[None, :]]
    crps = {
        name: scoring.crps_per_forecast(actual[:, 0], prices[name][:, 0], LEVELS)
        for name in ("har", "ewma", "garch")
    }
    for other in ("ewma", "garch"):
        dm = metrics.diebold_mariano_losses(crps["har"], crps[other], 1)
        assert dm["statistic"] < 0 and dm["p_value"] < 0.01, (other, dm)
    # Calibrated: its 90% band covers close to 90% of the test closes at h=1.
    coverage = scoring.interval_coverage(actual[:, 0], prices["har"][:, 0], list(LEVELS), 0.9)
    assert 0.87 < coverage["coverage"] < 0.93


def _seasonal_candles(rows: int, seed: int) -> pd.DataFrame:
    """Hourly candles from a Brownian path sampled 12 times a bar, whose volatility is three
    times higher at 14:00-17:00 UTC than at night, and persistent (log-AR(1)) on top."""
    rng = np.random.default_rng(seed)
    stamps = pd.Timestamp("2024-01-01", tz="UTC") + pd.to_timedelta(np.arange(rows), unit="h")
    hour = stamps.hour.to_numpy()
    seasonal = np.where((hour >= 14) & (hour < 18), 3.0, 1.0) * np.where(hour < 6, 0.7, 1.0)
    level = np.empty(rows)
    level[0] = 0.0
    shocks = rng.normal(0.0, 0.15, rows)
    for t in range(1, rows):
        level[t] = 0.97 * level[t - 1] + shocks[t]
    sigma = 0.004 * seasonal * np.exp(level)
    substeps = rng.standard_normal((rows, 12)) * (sigma / math.sqrt(12))[:, None]
    path = np.log(30_000.0) + np.cumsum(substeps.reshape(-1)).reshape(rows, 12)
    open_ = np.concatenate([[path[0, 0]], path[:-1, -1]])
    high = np.maximum(path.max(axis=1), open_)
    low = np.minimum(path.min(axis=1), open_)
    return pd.DataFrame(
        {
            "timestamp": stamps,
            "open": np.exp(open_),
            "high": np.exp(high),
            "low": np.exp(low),
            "close": np.exp(path[:, -1]),
            "volume": np.full(rows, 100.0),
            "segment": np.zeros(rows, dtype=np.int64),
        }
    )


def _table_from_log_variance(log_pv: np.ndarray, rng: np.random.Generator) -> pd.DataFrame:
    """A feature table whose bars have Parkinson variance ``exp(log_pv)`` and Gaussian
    returns with twice that variance."""
    rows = len(log_pv)
    log_high_low = np.sqrt(np.exp(log_pv) * 4 * math.log(2))
    returns = np.sqrt(2 * np.exp(log_pv)) * rng.standard_normal(rows)
    returns[0] = math.nan
    return pd.DataFrame(
        {
            "timestamp": pd.Timestamp("2024-01-01", tz="UTC")
            + pd.to_timedelta(np.arange(rows), unit="h"),
            "close": 100.0 * np.exp(np.nancumsum(returns)),
            "segment": np.zeros(rows, dtype=np.int64),
            "log_return": returns,
            "log_high_low": log_high_low,
        }
    )
