"""Edges of the torch-free core, each worked by hand: the boundary of every comparison
that the other tests only cross from afar (found by mutation testing, `make mutation`)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from lstm_forecast.errors import LineageError
from lstm_forecast.timeseries import baselines, metrics, scoring
from lstm_forecast.timeseries.evaluation import headline, verdict_line
from lstm_forecast.timeseries.features import compute_features
from lstm_forecast.timeseries.preparation import require_windows_match
from lstm_forecast.timeseries.targets import compute_targets
from lstm_forecast.timeseries.windows import valid_window_ends
from tests.synthetic import make_candles

from ._tables import feature_table, tiny_candles


def test_a_window_as_long_as_the_data_and_every_row_clean():
    ok = np.ones(4, dtype=bool)
    assert valid_window_ends(np.zeros(4), ok, ok, 4).tolist() == [3]
    # No bad row at all: the first window still ends at row L-1, never before.
    assert valid_window_ends(np.zeros(6), np.ones(6), np.ones(6), 3).tolist() == [2, 3, 4, 5]
    assert valid_window_ends(np.zeros(3), ok[:3], ok[:3], 4).dtype == np.int64


def test_mape_of_an_actual_of_one_and_mase_with_a_scale_below_one():
    assert metrics.mape(np.array([1.0, 2.0]), np.array([1.5, 2.0])) == pytest.approx(25.0)
    assert metrics.mase(np.array([1.0, 2.0]), np.array([1.5, 2.0]), 0.5) == pytest.approx(0.5)


def test_naive_scale_of_exactly_two_values():
    assert metrics.naive_mae_scale(np.array([100.0, 103.0])) == pytest.approx(3.0)


def test_directional_accuracy_default_confidence_and_no_call():
    actual = np.array([101.0, 99.0, 102.0, 98.0])
    forecast = np.array([102.0, 98.0, 101.0, 99.0])  # 4 of 4 right, n = 4
    result = metrics.directional_accuracy(actual, forecast, np.full(4, 100.0))
    # Wilson 95% for 4 hits of 4 (z = 1.959964): low = n / (n + z^2) = 0.5101, high = 1.
    assert result["ci95_low"] == pytest.approx(0.5101, abs=1e-4)
    assert result["ci95_high"] == 1.0
    assert result["p_value_vs_coin"] == pytest.approx(0.125)  # 2 * 0.5^4
    none = metrics.directional_accuracy(actual, np.full(4, 100.0), np.full(4, 100.0))
    assert none == {
        "value": None,
        "ci95_low": None,
        "ci95_high": None,
        "hits": 0,
        "n": 0,
        "p_value_vs_coin": None,
    }


def test_diebold_mariano_is_defined_from_two_points():
    result = metrics.diebold_mariano_losses(np.array([1.0, 3.0]), np.array([2.0, 2.0]), 1)
    # d = [-1, 1]: mean 0, so the statistic is 0 and the p-value 1.
    assert result["statistic"] == pytest.approx(0.0) and result["p_value"] == pytest.approx(1.0)


def test_an_actual_on_the_lower_quantile_is_inside_the_interval():
    levels = [0.05, 0.5, 0.95]
    quantiles = np.array([[90.0, 100.0, 110.0], [90.0, 100.0, 110.0]])
    covered = scoring.interval_coverage(np.array([90.0, 111.0]), quantiles, levels, 0.9)
    assert covered["coverage"] == 0.5


def test_hit_rates_per_level_of_a_three_axis_forecast():
    # [n=2, horizon=3, levels=2]: one rate per level, not per horizon step.
    quantiles = np.stack([np.full((2, 3), 1.0), np.full((2, 3), 3.0)], axis=-1)
    actual = np.array([[0.0, 2.0, 2.0], [2.0, 2.0, 4.0]])
    assert scoring.quantile_hit_rates(actual, quantiles) == [pytest.approx(1 / 6), 5 / 6]


def test_relative_mae_when_the_naive_error_is_below_one():
    levels = [0.1, 0.5, 0.9]
    actual = np.array([100.0, 100.5])
    quantiles = np.array([[99.0, 100.2, 101.0], [99.0, 100.2, 101.0]])
    result = scoring.score_horizon(actual, quantiles, levels, np.array([100.5, 100.0]))
    # MAE of the median 0.25, of the baseline 0.5.
    assert result["relative_mae"] == pytest.approx(0.5)


def test_ewma_volatility_starts_from_each_window_own_mean_square():
    sigma = baselines.ewma_volatility(np.array([[0.2, 0.0], [0.0, 0.0]]), decay=0.5)
    # Window 0: s0 = 0.02, then 0.5 * 0.02 + 0.5 * 0.04 = 0.03, then 0.015.
    np.testing.assert_allclose(sigma, [math.sqrt(0.015), 0.0])


def test_targets_reach_the_last_bar_when_the_horizon_is_the_whole_data():
    candles = tiny_candles(closes=[100.0, 110.0, 121.0], hours=[0, 1, 2], segment=[0, 0, 0])
    targets = compute_targets(candles, "close", 2)
    np.testing.assert_array_equal(targets[0], [110.0, 121.0])


def test_window_ends_at_the_table_edges():
    table = pd.DataFrame({"timestamp": pd.date_range("2024-01-01", periods=3, freq="h")})
    first = pd.DataFrame({"end_row": [0, 2], "origin_time": table["timestamp"].iloc[[0, 2]]})
    require_windows_match(table, first, "w")
    past = pd.DataFrame({"end_row": [3], "origin_time": [pd.Timestamp("2024-01-01 03:00")]})
    with pytest.raises(LineageError, match="w does not index"):
        require_windows_match(table, past, "w")


def test_a_p_value_equal_to_alpha_is_not_significant():
    def scores(p_value: float) -> dict:
        entry = {
            "diebold_mariano": {"b": {"statistic": -3.0, "p_value": p_value}},
            "crps_skill": {"b": 0.2},
            "coverage": {"0.9": None},
        }
        return {"m": {"by_horizon": {"1": entry}}}

    assert "h=1 ties b" in verdict_line("m", scores(0.05), ("b",), 1, alpha=0.05)
    line = verdict_line("m", scores(0.0499), ("b",), 1, alpha=0.05)
    assert line == "m: h=1 beats b (skill +0.200, p=0.0499); no 90% interval."


def test_directional_accuracy_passes_its_confidence_to_the_interval():
    actual = np.array([101.0, 99.0, 102.0, 98.0])
    forecast = np.array([102.0, 98.0, 101.0, 99.0])
    result = metrics.directional_accuracy(actual, forecast, np.full(4, 100.0), confidence=0.8)
    # 80%: z = 1.281552, low = 4 / (4 + z^2) = 0.708921.
    assert result["ci95_low"] == pytest.approx(0.708921, abs=1e-6)


def test_metric_refusals_name_their_reason():
    with pytest.raises(ValueError, match="MAPE is undefined when an actual value is 0"):
        metrics.mape(np.array([0.0, 2.0]), np.array([1.0, 2.0]))
    with pytest.raises(ValueError, match="naive scale needs at least two consecutive values"):
        metrics.naive_mae_scale(np.array([100.0]))
    with pytest.raises(ValueError, match="Metrics need at least one point"):
        metrics.mae(np.array([]), np.array([]))


def test_diebold_mariano_names_its_small_sample_correction():
    result = metrics.diebold_mariano_losses(np.array([1.0, 3.0, 2.0]), np.array([2.0, 2.0, 2.5]), 1)
    assert result["correction"] == (
        "Harvey-Leybourne-Newbold (1997), Student t with n-1 df, two-sided"
    )


def test_ewma_volatility_default_decay_is_riskmetrics_0_94():
    # s0 = 0.005; 0.94 * 0.005 + 0.06 * 0.01 = 0.0053; then 0.94 * 0.0053 = 0.004982.
    sigma = baselines.ewma_volatility(np.array([[0.1, 0.0]]))
    np.testing.assert_allclose(sigma, [math.sqrt(0.004982)], rtol=1e-12)


def test_features_keep_the_index_of_the_candles():
    candles = tiny_candles(closes=[100.0, 110.0], hours=[0, 1], segment=[0, 0])
    candles.index = [10, 11]
    assert compute_features(candles).index.tolist() == [10, 11]


def test_forecast_all_ewma_and_garch_at_their_origins():
    table = feature_table(make_candles(300, seed=4), "log_return", 3)
    ends, levels, length = np.array([250, 260]), np.array([0.05, 0.5, 0.95]), 24
    val_start = table["timestamp"].iloc[200]
    prices = baselines.forecast_all(
        table, ends, val_start, horizon=3, levels=levels, window_length=length, decay=0.9
    )
    last = table["close"].to_numpy()[ends]
    returns = table["log_return"].to_numpy()
    # EWMA: sigma from each window's own returns (rows e-23..e); variance h * sigma^2.
    windows = np.stack([returns[e - length + 1 : e + 1] for e in ends])
    sigma = baselines.ewma_volatility(windows, 0.9)
    z = 1.6448536269514722
    spread = np.log(prices["ewma"][:, :, 2] / last[:, None])
    np.testing.assert_allclose(spread, z * sigma[:, None] * np.sqrt([1.0, 2.0, 3.0]), rtol=1e-9)
    # GARCH: row 0 has no return, so row e is position e - 1 of the finite returns, and
    # rows 1..199 (before val_start) are the training returns.
    variance, _ = baselines.garch_cumulative_variance(returns[1:], 199, ends - 1, 3)
    spread = np.log(prices["garch"][:, :, 2] / last[:, None])
    np.testing.assert_allclose(spread, z * np.sqrt(variance), rtol=1e-9)


def test_headline_without_a_90_percent_interval_says_none():
    entry = {
        "relative_mae": 0.9,
        "coverage": {"0.9": None},
        "crps_skill": {"b": 0.1},
        "diebold_mariano": {"b": {"statistic": -1.0, "p_value": 0.3}},
    }
    numbers = headline({"m": {"by_horizon": {"1": entry}}}, ["m"], ("b",), 1)
    assert numbers == {
        "m_relative_mae_h1": 0.9,
        "m_coverage90_h1": None,
        "m_crps_skill_vs_b_h1": 0.1,
        "m_dm_p_vs_b_h1": 0.3,
    }
