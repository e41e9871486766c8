"""The metric functions against values worked out by hand on small arrays."""

from __future__ import annotations

import math

import numpy as np
import pytest

from lstm_forecast.timeseries import metrics

ACTUAL = np.array([100.0, 102.0, 101.0, 105.0])
FORECAST = np.array([101.0, 101.0, 103.0, 104.0])  # errors +1, -1, +2, -1
LAST = np.array([99.0, 100.0, 102.0, 101.0])  # persistence: errors -1, -2, +1, -4


def test_mae_rmse_mape_by_hand():
    assert metrics.mae(ACTUAL, FORECAST) == pytest.approx(5 / 4)
    assert metrics.rmse(ACTUAL, FORECAST) == pytest.approx(math.sqrt(7 / 4))
    expected_mape = 100 / 4 * (1 / 100 + 1 / 102 + 2 / 101 + 1 / 105)
    assert metrics.mape(ACTUAL, FORECAST) == pytest.approx(expected_mape)


def test_relative_mae_by_hand_and_persistence_is_exactly_one():
    # MAE(forecast) = 5/4, MAE(persistence) = 8/4.
    assert metrics.relative_mae(ACTUAL, FORECAST, LAST) == pytest.approx(5 / 8)
    assert metrics.relative_mae(ACTUAL, LAST, LAST) == 1.0
    rng = np.random.default_rng(1)
    prices = 40_000 + np.cumsum(rng.normal(0, 200, 500))
    assert metrics.relative_mae(prices[1:], prices[:-1], prices[:-1]) == 1.0


def test_naive_scale_and_mase_by_hand():
    values = np.array([10.0, 12.0, 11.0, 20.0, 18.0])
    assert metrics.naive_mae_scale(values) == pytest.approx((2 + 1 + 9 + 2) / 4)
    # A gap before the fourth value: the 11 -> 20 step is not a one-step change.
    assert metrics.naive_mae_scale(values, np.array([0, 0, 0, 1, 1])) == pytest.approx(5 / 3)
    assert metrics.mase(ACTUAL, FORECAST, scale=2.5) == pytest.approx(0.5)
    with pytest.raises(ValueError, match="positive"):
        metrics.mase(ACTUAL, FORECAST, scale=0.0)


def test_wilson_interval_matches_the_textbook_value():
    # 8 hits out of 10: the Wilson 95% interval is 0.4902 .. 0.9433.
    low, high = metrics.wilson_interval(8, 10)
    assert low == pytest.approx(0.4902, abs=1e-4)
    assert high == pytest.approx(0.9433, abs=1e-4)
    assert metrics.wilson_interval(0, 5)[0] == 0.0
    assert all(math.isnan(bound) for bound in metrics.wilson_interval(0, 0))


def test_directional_accuracy_by_hand():
    # Actual moves: +1, +2, -1, +4; forecast moves: +2, +1, +1, +3 -> 3 of 4 right.
    result = metrics.directional_accuracy(ACTUAL, FORECAST, LAST)
    assert (result["hits"], result["n"], result["value"]) == (3, 4, 0.75)
    assert result["ci95_low"] < 0.75 < result["ci95_high"]
    assert result["p_value_vs_coin"] == pytest.approx(10 / 16)  # P(X<=1 or X>=3), X~B(4, 1/2)
    # Flat moves call no direction and are left out.
    flat = metrics.directional_accuracy([1.0, 2.0, 3.0], [2.0, 1.0, 1.0], [1.0, 1.0, 2.0])
    assert (flat["hits"], flat["n"]) == (0, 1)


def test_persistence_calls_no_direction():
    result = metrics.directional_accuracy(ACTUAL, LAST, LAST)
    assert result["n"] == 0
    assert result["value"] is None


def _t3_two_sided_p(statistic: float) -> float:
    # Student t with 3 df has a closed-form CDF.
    x = abs(statistic) / math.sqrt(3)
    return 1 - (2 / math.pi) * (x / (1 + x * x) + math.atan(x))


def test_diebold_mariano_absolute_loss_by_hand():
    errors = np.array([1.0, 2.0, -3.0, 4.0])
    baseline = np.array([2.0, -2.0, 2.0, 2.0])
    # d = |e| - |b| = -1, 0, 1, 2; mean 0.5; gamma_0 = (2.25 + .25 + .25 + 2.25) / 4 = 1.25;
    # DM = 0.5 / sqrt(1.25 / 4); HLN factor sqrt((4 + 1 - 2) / 4) -> sqrt(0.6).
    result = metrics.diebold_mariano(errors, baseline, loss="absolute")
    assert result["statistic"] == pytest.approx(math.sqrt(0.6))
    assert result["p_value"] == pytest.approx(_t3_two_sided_p(math.sqrt(0.6)))
    assert result["mean_loss_difference"] == pytest.approx(0.5)
    assert (result["loss"], result["horizon"], result["n"]) == ("absolute", 1, 4)


def test_diebold_mariano_squared_loss_by_hand():
    errors = np.array([1.0, 2.0, -3.0, 4.0])
    baseline = np.array([2.0, -2.0, 2.0, 2.0])
    # d = e^2 - b^2 = -3, 0, 5, 12; mean 3.5; gamma_0 = (42.25 + 12.25 + 2.25 + 72.25) / 4.
    gamma_0 = 129.0 / 4
    expected = 3.5 / math.sqrt(gamma_0 / 4) * math.sqrt(0.75)
    result = metrics.diebold_mariano(errors, baseline, loss="squared")
    assert result["statistic"] == pytest.approx(expected)
    assert result["p_value"] == pytest.approx(_t3_two_sided_p(expected))


def test_diebold_mariano_two_step_horizon_adds_the_lag_one_autocovariance():
    errors = np.array([1.0, 2.0, -3.0, 4.0])
    baseline = np.array([2.0, -2.0, 2.0, 2.0])
    # centred d = -1.5, -0.5, 0.5, 1.5; gamma_1 = (0.75 - 0.25 + 0.75) / 4 = 0.3125.
    variance = (1.25 + 2 * 0.3125) / 4
    expected = 0.5 / math.sqrt(variance) * math.sqrt((4 + 1 - 4 + 2 / 4) / 4)
    result = metrics.diebold_mariano(errors, baseline, loss="absolute", horizon=2)
    assert result["statistic"] == pytest.approx(expected)


def test_diebold_mariano_of_a_forecast_against_itself_is_undefined():
    result = metrics.diebold_mariano(LAST - ACTUAL, LAST - ACTUAL)
    assert result["statistic"] is None
    assert result["p_value"] is None
    assert result["mean_loss_difference"] == 0.0


def test_inputs_are_checked():
    with pytest.raises(ValueError, match="align"):
        metrics.mae([1.0, 2.0], [1.0])
    with pytest.raises(ValueError, match="at least one"):
        metrics.mae([], [])
    with pytest.raises(ValueError, match="loss"):
        metrics.diebold_mariano(ACTUAL, FORECAST, loss="hinge")
    with pytest.raises(ValueError, match="zero error"):
        metrics.relative_mae(ACTUAL, FORECAST, ACTUAL)


def _t5_two_sided_p(statistic: float) -> float:
    # Student t with 5 df: P(|T| <= t) = 2/pi (theta + sin cos (1 + 2/3 cos^2)),
    # theta = atan(t / sqrt 5).
    theta = math.atan(abs(statistic) / math.sqrt(5))
    inside = (
        2
        / math.pi
        * (theta + math.sin(theta) * math.cos(theta) * (1 + 2 / 3 * math.cos(theta) ** 2))
    )
    return 1 - inside


# Per-forecast losses (e.g. CRPS) of a model that is clearly better than its baseline.
MODEL_LOSS = np.array([1.0, 2.0, 1.0, 2.0])
BASELINE_LOSS = np.array([3.0, 3.0, 4.0, 4.0])


def test_diebold_mariano_losses_sign_and_argument_order_by_hand():
    # d = model - baseline = -2, -1, -3, -2; mean -2; centred 0, 1, -1, 0; gamma_0 = 2/4;
    # DM = -2 / sqrt(0.5 / 4) = -4 sqrt 2; HLN sqrt((4 + 1 - 2) / 4) -> -2 sqrt 6.
    better = metrics.diebold_mariano_losses(MODEL_LOSS, BASELINE_LOSS)
    assert better["statistic"] == pytest.approx(-2 * math.sqrt(6))
    assert better["mean_loss_difference"] == pytest.approx(-2.0)
    assert better["p_value"] == pytest.approx(_t3_two_sided_p(2 * math.sqrt(6)))
    assert better["p_value"] < 0.05
    # The model clearly worse: the same test with the roles swapped flips the sign only.
    worse = metrics.diebold_mariano_losses(BASELINE_LOSS, MODEL_LOSS)
    assert worse["statistic"] == pytest.approx(2 * math.sqrt(6))
    assert worse["mean_loss_difference"] == pytest.approx(2.0)
    assert worse["p_value"] == pytest.approx(better["p_value"])


def test_diebold_mariano_losses_three_steps_ahead_uses_lags_one_and_two_only():
    d = np.array([1.0, 3.0, 2.0, 4.0, 0.0, 2.0])
    # mean 2; centred c = -1, 1, 0, 2, -2, 0 (biased autocovariances, divide by n = 6):
    # gamma_0 = 10/6; gamma_1 = (-1 + 0 + 0 - 4 + 0)/6 = -5/6; gamma_2 = (0 + 2 + 0 + 0)/6 = 2/6
    # (gamma_3 = -4/6 must not enter). Long-run variance 10/6 + 2 (-5/6 + 2/6) = 4/6;
    # DM = 2 / sqrt(4/6 / 6) = 6; HLN factor sqrt((6 + 1 - 6 + 3 * 2 / 6) / 6) = sqrt(1/3).
    result = metrics.diebold_mariano_losses(d + 5.0, np.full(6, 5.0), horizon=3)
    assert result["statistic"] == pytest.approx(6 / math.sqrt(3))
    assert result["p_value"] == pytest.approx(_t5_two_sided_p(6 / math.sqrt(3)))
    assert (result["horizon"], result["n"]) == (3, 6)


def test_diebold_mariano_losses_without_a_positive_long_run_variance_is_undefined():
    # d alternates 2, 0: gamma_0 = 1, gamma_1 = -5/6, so gamma_0 + 2 gamma_1 < 0 at h = 2.
    d = np.array([2.0, 0.0, 2.0, 0.0, 2.0, 0.0])
    result = metrics.diebold_mariano_losses(d, np.zeros(6), horizon=2)
    assert (result["statistic"], result["p_value"]) == (None, None)
    assert result["mean_loss_difference"] == pytest.approx(1.0)
    # At h = 1 the same series has a test.
    assert metrics.diebold_mariano_losses(d, np.zeros(6))["statistic"] is not None
    with pytest.raises(ValueError, match="at least 1"):
        metrics.diebold_mariano_losses(d, np.zeros(6), horizon=0)
