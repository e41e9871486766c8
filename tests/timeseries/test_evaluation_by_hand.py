"""``verdict_line``: the sign of a significant Diebold-Mariano statistic decides the word."""

from __future__ import annotations

import pytest
from scipy import stats

from lstm_forecast.timeseries.evaluation import verdict_line


def _scores(statistic: float) -> dict:
    # A DM statistic of +-0.9 on 100 forecasts: two-sided p = 2 * t.sf(0.9, 99) ~ 0.37.
    p_value = float(2.0 * stats.t.sf(abs(statistic), df=99))
    entry = {
        "diebold_mariano": {"rw": {"statistic": statistic, "p_value": p_value}},
        "crps_skill": {"rw": -0.01 if statistic > 0 else 0.01},
        "coverage": {"0.9": {"coverage": 0.9}},
    }
    return {"m": {"by_horizon": {"1": entry}}}


@pytest.mark.parametrize(
    ("statistic", "word"),
    [(0.9, "loses to"), (-0.9, "beats")],
)
def test_a_small_significant_statistic_is_judged_by_its_sign(statistic, word):
    # At alpha = 0.5, p ~ 0.37 is significant: a positive statistic (higher loss) loses,
    # however close to 0 it is.
    line = verdict_line("m", _scores(statistic), ("rw",), 1, alpha=0.5, best={})
    assert line.startswith(f"m: h=1 {word} rw (skill ")
    assert ", p=0.37)" in line
    # At the usual alpha = 0.05 the same evidence is a tie.
    assert "h=1 ties rw" in verdict_line("m", _scores(statistic), ("rw",), 1, 0.05, best={})
