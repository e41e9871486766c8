"""Scoring models against baselines per horizon: skill, DM direction and the verdict line."""

from __future__ import annotations

import math

import numpy as np
import pytest

from lstm_forecast.timeseries.evaluation import best_baselines, headline, score_all, verdict_line

LEVELS = np.array([0.05, 0.5, 0.95])
# Four windows, two horizon steps. Every forecast is centred on the actual close with
# quantiles y - w, y, y + w: pinball 0.05 w + 0 + 0.05 w, so CRPS = 2/3 * 0.1 w = w / 15.
ACTUAL = np.array([[100.0, 101.0], [103.0, 104.0], [98.0, 97.0], [101.0, 100.0]])
LAST = np.array([99.0, 100.0, 100.0, 102.0])
GOOD_WIDTH = np.array([[1.0, 1.0], [2.0, 1.0], [1.0, 2.0], [2.0, 2.0]])
WIDE_WIDTH = np.full((4, 2), 10.0)


def _quantiles(width: np.ndarray) -> np.ndarray:
    return np.stack([ACTUAL - width, ACTUAL, ACTUAL + width], axis=2)


FORECASTS = {"good": _quantiles(GOOD_WIDTH), "wide": _quantiles(WIDE_WIDTH)}


def test_score_all_by_hand_skill_and_dm_direction_per_horizon():
    scores = score_all(ACTUAL, LAST, FORECASTS, ("wide",), LEVELS)
    good, wide = scores["good"]["by_horizon"], scores["wide"]["by_horizon"]
    assert set(good) == {"1", "2"}
    # Mean width 1.5 vs 10 at both steps: CRPS 0.1 vs 2/3, skill 1 - 1.5/10.
    for h in ("1", "2"):
        assert good[h]["crps"] == pytest.approx(0.1)
        assert wide[h]["crps"] == pytest.approx(2 / 3)
        assert good[h]["crps_skill"] == {"wide": pytest.approx(0.85)}
        assert good[h]["relative_mae"] == 0.0  # the median is the actual close
        assert good[h]["coverage"]["0.9"] == {"coverage": 1.0, "mean_width": 3.0}
        # A baseline is not scored against itself.
        assert wide[h]["crps_skill"] == {} and wide[h]["diebold_mariano"] == {}
    assert scores["good"]["mean_crps"] == pytest.approx(0.1)
    # d = (w_good - 10) / 15. h=1: d*15 = -9, -8, -9, -8: mean -8.5, centred +-0.5,
    # gamma_0 = 0.25/225, DM = -34, HLN sqrt(3/4). h=2 (lags 0 and 1): d*15 = -9, -9, -8, -8,
    # gamma_1 = 0.0625/225, long-run variance 0.375/225, DM = -8.5*2/sqrt(0.375),
    # HLN sqrt((4 + 1 - 4 + 2/4) / 4) = sqrt(0.375) -> -17.
    dm_1, dm_2 = good["1"]["diebold_mariano"]["wide"], good["2"]["diebold_mariano"]["wide"]
    assert dm_1["statistic"] == pytest.approx(-34 * math.sqrt(0.75))
    assert (dm_1["horizon"], dm_2["horizon"]) == (1, 2)
    assert dm_2["statistic"] == pytest.approx(-17.0)
    assert dm_1["mean_loss_difference"] == pytest.approx(-8.5 / 15)


def test_verdict_says_beats_loses_to_or_ties():
    scores = score_all(ACTUAL, LAST, FORECASTS, ("wide",), LEVELS)
    line = verdict_line("good", scores, ("wide",), 2, alpha=0.05)
    assert line.startswith("good: h=1 beats wide (skill +0.850, p=")
    assert "; h=2 beats wide (skill +0.850, p=" in line
    assert line.endswith("; 90% interval covers 100.0% at h=2 (outside 88-92%).")

    # The same forecasts with the roles swapped: the wide one loses.
    swapped = score_all(ACTUAL, LAST, FORECASTS, ("good",), LEVELS)
    line = verdict_line("wide", swapped, ("good",), 2, alpha=0.05)
    assert "h=1 loses to good (skill -5.667" in line  # 1 - 10/1.5
    assert "h=2 loses to good" in line
    assert "beats" not in line

    # Significance is judged at alpha: p ~ 1e-4 is no evidence at alpha = 1e-6.
    assert "h=1 ties wide" in verdict_line("good", scores, ("wide",), 2, alpha=1e-6)


def test_verdict_and_headline_of_a_forecast_equal_to_its_baseline():
    same = {"model": FORECASTS["wide"], "wide": FORECASTS["wide"].copy()}
    scores = score_all(ACTUAL, LAST, same, ("wide",), LEVELS)
    dm = scores["model"]["by_horizon"]["1"]["diebold_mariano"]["wide"]
    assert (dm["statistic"], dm["p_value"]) == (None, None)
    line = verdict_line("model", scores, ("wide",), 2, alpha=0.05)
    assert "h=1 ties wide (skill +0.000, p=n/a)" in line


@pytest.mark.parametrize(
    ("coverage", "words"),
    [
        (0.9, "covers 90.0% at h=24 (within 88-92%)"),
        (0.88, "covers 88.0% at h=24 (within 88-92%)"),
        (0.92, "covers 92.0% at h=24 (within 88-92%)"),
        (0.879, "covers 87.9% at h=24 (outside 88-92%)"),
        (0.921, "covers 92.1% at h=24 (outside 88-92%)"),
        (None, "no 90% interval"),
    ],
)
def test_verdict_coverage_band_is_judged_at_the_last_horizon(coverage, words):
    def entry(value):
        return {
            "diebold_mariano": {"rw": {"statistic": -3.0, "p_value": 0.01}},
            "crps_skill": {"rw": 0.1},
            "coverage": {"0.9": None if value is None else {"coverage": value}},
        }

    # h=1's coverage is deliberately bad: only h=24's is judged.
    scores = {"m": {"by_horizon": {"1": entry(0.5), "24": entry(coverage)}}}
    line = verdict_line("m", scores, ("rw",), 24, alpha=0.05)
    assert words in line
    assert "h=1 beats rw (skill +0.100, p=0.01); h=24 beats rw" in line


def test_headline_picks_h1_and_the_last_horizon():
    scores = score_all(ACTUAL, LAST, FORECASTS, ("wide",), LEVELS)
    numbers = headline(scores, ["good"], ("wide",), 2)
    assert set(numbers) == {
        f"good_{name}_h{h}"
        for h in (1, 2)
        for name in (
            "relative_mae",
            "coverage90",
            "crps_skill_vs_wide",
            "dm_p_vs_wide",
            "crps_skill_vs_best",
            "dm_p_vs_best",
        )
    }
    assert numbers["good_crps_skill_vs_wide_h2"] == pytest.approx(0.85)
    # The only baseline is the best one.
    assert numbers["good_crps_skill_vs_best_h2"] == numbers["good_crps_skill_vs_wide_h2"]
    assert numbers["good_dm_p_vs_best_h1"] == numbers["good_dm_p_vs_wide_h1"]
    assert numbers["good_coverage90_h1"] == 1.0
    assert numbers["good_relative_mae_h2"] == 0.0
    assert numbers["good_dm_p_vs_wide_h2"] == pytest.approx(
        scores["good"]["by_horizon"]["2"]["diebold_mariano"]["wide"]["p_value"]
    )
    assert numbers["good_dm_p_vs_wide_h1"] < 0.001
    # horizon 1: a single set of numbers.
    assert len(headline(scores, ["good"], ("wide",), 1)) == 6


def test_best_baseline_is_the_lowest_crps_per_step_and_headline_and_verdict_use_it():
    def entry(crps, skill, p):
        return {
            "crps": crps,
            "relative_mae": 1.0,
            "coverage": {"0.9": {"coverage": 0.9}},
            "crps_skill": skill,
            "diebold_mariano": {b: {"statistic": -1.0, "p_value": v} for b, v in p.items()},
        }

    # Step 1: b has the lower CRPS; step 2: a has.
    scores = {
        "a": {"by_horizon": {"1": entry(2.0, {}, {}), "2": entry(1.0, {}, {})}},
        "b": {"by_horizon": {"1": entry(1.5, {}, {}), "2": entry(3.0, {}, {})}},
        "m": {
            "by_horizon": {
                "1": entry(1.0, {"a": 0.5, "b": 0.3}, {"a": 0.01, "b": 0.02}),
                "2": entry(0.9, {"a": 0.1, "b": 0.7}, {"a": 0.03, "b": 0.04}),
            }
        },
    }
    assert best_baselines(scores, ("a", "b")) == {"1": "b", "2": "a"}
    numbers = headline(scores, ["m"], ("a", "b"), 2)
    assert numbers["m_crps_skill_vs_best_h1"] == 0.3
    assert numbers["m_dm_p_vs_best_h1"] == 0.02
    assert numbers["m_crps_skill_vs_best_h2"] == 0.1
    assert numbers["m_dm_p_vs_best_h2"] == 0.03
    assert "best baseline h=1 b, h=2 a" in verdict_line("m", scores, ("a", "b"), 2, 0.05)
    # Given explicitly (the run summary only has the models' scores), it is used as given.
    line = verdict_line("m", {"m": scores["m"]}, ("a", "b"), 2, 0.05, best={"1": "a", "2": "a"})
    assert "best baseline h=1 a, h=2 a" in line


def test_headline_reports_the_90_percent_interval_not_another_one():
    def entry(coverage_80, coverage_90):
        return {
            "relative_mae": 0.99,
            "coverage": {"0.8": {"coverage": coverage_80}, "0.9": {"coverage": coverage_90}},
            "crps_skill": {"rw": 0.1},
            "diebold_mariano": {"rw": {"statistic": -3.0, "p_value": 0.01}},
        }

    scores = {"m": {"by_horizon": {"1": entry(0.7, 0.91), "24": entry(0.6, 0.85)}}}
    numbers = headline(scores, ["m"], ("rw",), 24)
    assert (numbers["m_coverage90_h1"], numbers["m_coverage90_h24"]) == (0.91, 0.85)
    assert numbers["m_dm_p_vs_rw_h24"] == 0.01
