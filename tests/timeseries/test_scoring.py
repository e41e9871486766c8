"""Pinball loss, CRPS from quantiles, coverage and width, against hand-worked values."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from lstm_forecast.timeseries import scoring

LEVELS = [0.1, 0.5, 0.9]
# Two forecasts with the same quantiles 8, 10, 13; the actuals are 10 and 20.
ACTUAL = np.array([10.0, 20.0])
QUANTILES = np.array([[8.0, 10.0, 13.0], [8.0, 10.0, 13.0]])
# Pinball by hand, rho_tau(y, q) = tau (y - q) if y >= q else (1 - tau)(q - y):
#   y = 10: tau 0.1 -> 0.1 * 2 = 0.2; tau 0.5 -> 0;   tau 0.9 -> 0.1 * 3 = 0.3
#   y = 20: tau 0.1 -> 0.1 * 12 = 1.2; tau 0.5 -> 5; tau 0.9 -> 0.9 * 7 = 6.3
PINBALL = {"0.1": 0.7, "0.5": 2.5, "0.9": 3.3}
# CRPS ~= 2/Q sum_q pinball: y = 10 -> 2/3 * 0.5 = 1/3; y = 20 -> 2/3 * 12.5 = 25/3.
CRPS = [1 / 3, 25 / 3]


def test_pinball_loss_by_hand_and_the_level_is_not_mirrored():
    actual = np.array([10.0, 10.0, 10.0])
    forecast = np.array([8.0, 10.0, 13.0])
    # tau = 0.9: 0.9 * 2, 0, 0.1 * 3 -> 2.1 / 3; tau = 0.1: 0.1 * 2, 0, 0.9 * 3 -> 2.9 / 3.
    assert scoring.pinball_loss(actual, forecast, 0.9) == pytest.approx(2.1 / 3)
    assert scoring.pinball_loss(actual, forecast, 0.1) == pytest.approx(2.9 / 3)
    for level, expected in PINBALL.items():
        column = LEVELS.index(float(level))
        assert scoring.pinball_loss(ACTUAL, QUANTILES[:, column], float(level)) == pytest.approx(
            expected
        )


def test_crps_from_quantiles_is_two_over_q_times_the_summed_pinball():
    np.testing.assert_allclose(scoring.crps_per_forecast(ACTUAL, QUANTILES, LEVELS), CRPS)
    # The same numbers in the [n, horizon, q] layout: one CRPS per forecast and step.
    actual = np.array([[10.0, 20.0]])
    quantiles = QUANTILES[None, :, :]
    crps = scoring.crps_per_forecast(actual, quantiles, LEVELS)
    assert crps.shape == (1, 2)
    np.testing.assert_allclose(crps[0], CRPS)


@pytest.mark.parametrize(
    ("observation", "exact"),
    [
        # CRPS of N(0, 1) at y: y (2 Phi(y) - 1) + 2 phi(y) - 1/sqrt(pi) (Gneiting & Raftery).
        (0.0, 2 * 0.3989422804 - 1 / math.sqrt(math.pi)),
        (1.0, (2 * 0.8413447461 - 1) + 2 * 0.2419707245 - 1 / math.sqrt(math.pi)),
    ],
)
def test_crps_from_many_gaussian_quantiles_approaches_the_closed_form(observation, exact):
    levels = np.arange(1, 100) / 100
    quantiles = stats.norm.ppf(levels)
    crps = scoring.crps_per_forecast(np.array([observation]), quantiles[None, :], levels)
    assert crps[0] == pytest.approx(exact, rel=0.02)


FULL_LEVELS = [0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95]


def test_coverage_and_width_use_each_interval_s_own_quantile_pair():
    # Every forecast: q05 = 1, q10 = 2, q25 = 4, q50 = 5, q75 = 6, q90 = 9, q95 = 10.
    quantiles = np.tile([1.0, 2.0, 4.0, 5.0, 6.0, 9.0, 10.0], (5, 1))
    actual = np.array([0.5, 1.5, 3.0, 5.0, 10.0])
    # 90% [1, 10]: 1.5, 3, 5, 10 (bounds count as inside); 80% [2, 9]: 3, 5; 50% [4, 6]: 5.
    expected = {0.9: (0.8, 9.0), 0.8: (0.4, 7.0), 0.5: (0.2, 2.0)}
    for nominal, (coverage, width) in expected.items():
        result = scoring.interval_coverage(actual, quantiles, FULL_LEVELS, nominal)
        assert result == {"coverage": pytest.approx(coverage), "mean_width": pytest.approx(width)}


def test_coverage_is_none_when_the_levels_lack_the_interval():
    assert scoring.interval_coverage(ACTUAL, QUANTILES, LEVELS, 0.9) is None
    # One bound present is not enough: 0.05 is there, 0.95 is not.
    assert scoring.interval_coverage(ACTUAL, QUANTILES, [0.05, 0.5, 0.9], 0.9) is None
    assert scoring.interval_coverage(ACTUAL, QUANTILES, LEVELS, 0.5) is None
    # 80% = [q10, q90] = [8, 13]: 10 inside, 20 outside.
    assert scoring.interval_coverage(ACTUAL, QUANTILES, LEVELS, 0.8) == {
        "coverage": 0.5,
        "mean_width": 5.0,
    }


def test_quantile_hit_rates_by_hand():
    # 10 <= 8? no, <= 10 yes, <= 13 yes; 20 is above all three.
    assert scoring.quantile_hit_rates(ACTUAL, QUANTILES) == [0.0, 0.5, 0.5]


def test_score_horizon_by_hand():
    scores = scoring.score_horizon(ACTUAL, QUANTILES, LEVELS, baseline_median=np.array([9.0, 10.0]))
    assert scores["crps"] == pytest.approx(13 / 3)
    assert scores["pinball"] == {key: pytest.approx(value) for key, value in PINBALL.items()}
    # Median errors 0 and 10; persistence errors 1 and 10.
    assert scores["mae_median"] == pytest.approx(5.0)
    assert scores["relative_mae"] == pytest.approx(5.0 / 5.5)
    assert scores["coverage"] == {
        "0.5": None,
        "0.8": {"coverage": 0.5, "mean_width": 5.0},
        "0.9": None,
    }
    assert scores["quantile_hit_rate"] == {"0.1": 0.0, "0.5": 0.5, "0.9": 0.5}


def test_score_horizon_needs_the_median_and_a_zero_error_baseline_gives_none():
    with pytest.raises(ValueError, match=r"median 0\.5"):
        scoring.score_horizon(ACTUAL, QUANTILES[:, [0, 2]], [0.1, 0.9], ACTUAL)
    assert scoring.score_horizon(ACTUAL, QUANTILES, LEVELS, ACTUAL)["relative_mae"] is None
