"""The HAR baseline's small parts by hand: the bar range from high and low, the bar interval,
naive times, what its training quantiles may read, and the fit summary's layout."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from lstm_forecast.timeseries import har
from tests.synthetic import make_candles

from ._tables import feature_table

LEVELS = np.array([0.05, 0.5, 0.95])


def test_the_range_comes_from_high_and_low_without_a_log_high_low_column():
    table = pd.DataFrame({"high": [110.0, 50.0], "low": [100.0, 40.0]})
    np.testing.assert_allclose(har._log_range(table), np.log([1.1, 1.25]), rtol=1e-15)
    ranged = table.assign(log_high_low=[0.5, 0.25])
    assert har._log_range(ranged).tolist() == [0.5, 0.25]  # the feature wins when present
    with pytest.raises(ValueError) as refused:
        har._log_range(pd.DataFrame({"close": [1.0]}))
    assert str(refused.value) == (
        "The har baseline needs each bar's range: a `log_high_low` column (or `high` and "
        "`low`) in the feature table; it has ['close']."
    )


@pytest.mark.parametrize("unit", ["ns", "us", "s"])
def test_the_bar_interval_is_the_most_common_step_in_any_unit(unit):
    # Ingestion writes nanoseconds; a column pandas 3 made in microseconds gave 1/1000 of it.
    stamps = pd.Series(pd.Timestamp("2024-01-01") + pd.to_timedelta([0, 1, 2, 4], "h"))
    assert har.bar_interval(stamps.dt.as_unit(unit)) == pd.Timedelta(1, "h")


def test_naive_times_are_read_as_utc():
    naive = pd.DatetimeIndex(pd.Timestamp("2024-01-01") + pd.to_timedelta(range(48), "h"))
    np.testing.assert_array_equal(
        har.seasonal_dummies(naive), har.seasonal_dummies(naive.tz_localize("UTC"))
    )


def test_the_training_quantiles_read_no_return_from_val_start_on():
    """Origins before val_start, two tables equal before it: the same quantiles when prices
    jump threefold at val_start. Levels 0 and 1 are the extreme standardised returns, so the
    one return of ln 3 would move them if any target at or after val_start were read."""
    candles = make_candles(600, seed=4)
    table = feature_table(candles, "log_return", 3)
    val_start, ends, levels = table["timestamp"].iloc[400], np.array([300, 390]), [0.0, 0.5, 1.0]
    before = har.har_quantiles(table, ends, val_start, horizon=3, levels=levels)
    moved = candles.copy()
    moved.loc[moved.index >= 400, ["open", "high", "low", "close"]] *= 3.0
    after_table = feature_table(moved, "log_return", 3)
    after = har.har_quantiles(after_table, ends, val_start, horizon=3, levels=levels)
    np.testing.assert_array_equal(after, before)


def test_the_fit_summary_counts_training_rows_and_rounds_to_four_places():
    table = feature_table(make_candles(500, seed=5), "log_return", 2)
    val_start = table["timestamp"].iloc[300]
    _, _, summary = har.har_cumulative_variance(table, np.array([450]), val_start, 2)
    assert set(summary) == {
        "coefficients_k1_intercept_m1_m24_m168",
        "ratio_by_step",
        "training_rows_by_step",
    }
    # One segment, rows 0..299 before val_start: origins t with t + k < 300 fit step k.
    assert summary["training_rows_by_step"] == [299, 298]
    for number in (*summary["ratio_by_step"], *summary["coefficients_k1_intercept_m1_m24_m168"]):
        assert isinstance(number, float) and number == round(number, 4)
    assert (
        len(summary["ratio_by_step"]) == 2
        and len(summary["coefficients_k1_intercept_m1_m24_m168"]) == 4
    )
