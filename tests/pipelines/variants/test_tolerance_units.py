"""The variants stage's tolerance check, in each of its units, against figures by hand.

Five forecasts of one step at levels 0.05/0.5/0.95. The float model says 100/110/120 for
the first four (realised 110, 125, 95, 119) and 2000/2100/2200 for the fifth (not yet
realised). The variant is $2 lower on the first four and $5 higher on the fifth's top.

Pinball loss at level t: t * (y - q) when y >= q, else (1 - t) * (q - y); the CRPS of a
forecast is 2/3 of its three losses' sum (scoringrules' crps_quantile).
    float:   y=110: 0.5+0+0.5 = 1 -> 2/3;  y=125: 1.25+7.5+4.75 = 13.5 -> 9
             y=95: 4.75+7.5+1.25 = 13.5 -> 9;  y=119: 0.95+4.5+0.05 = 5.5 -> 11/3
             mean 67/12
    variant: y=110: 0.6+1+0.4 = 2 -> 4/3;  y=125: 1.35+8.5+6.65 = 16.5 -> 11
             y=95: 2.85+6.5+1.15 = 10.5 -> 7;  y=119: 1.05+5.5+0.95 = 7.5 -> 5
             mean 73/12, a change of +0.5 (USD)
    90% interval [q0.05, q0.95]: float holds 110 and 119 (2 of 4), the variant [98, 118]
    holds 110 only (1 of 4): coverage 0.5 -> 0.25, a change of -0.25 (a share: 25 points)
    prices: |diff| is 2 on 12 values, 5 on one, 0 on two: max 5, mean 29/15;
    relative to the float price: max 2/100 = 0.02 (the $5 is 5/2200 = 0.0023)
"""

from __future__ import annotations

import numpy as np
import pytest

from lstm_forecast.onnx.optimisation import price_parity
from lstm_forecast.pipelines.variants.params import VariantTolerance
from lstm_forecast.pipelines.variants.runtimes import outside

LEVELS = (0.05, 0.5, 0.95)
REFERENCE = np.array([[[100.0, 110.0, 120.0]]] * 4 + [[[2000.0, 2100.0, 2200.0]]])
CANDIDATE = REFERENCE - np.array([[[2.0, 2.0, 2.0]]] * 4 + [[[0.0, 0.0, -5.0]]])
ACTUAL = np.array([[110.0], [125.0], [95.0], [119.0], [np.nan]])


def test_price_parity_in_prices_crps_and_coverage() -> None:
    parity = price_parity(REFERENCE, CANDIDATE, ACTUAL, LEVELS)
    assert parity["windows"] == 5
    assert parity["max_abs_price_diff"] == pytest.approx(5.0)
    assert parity["mean_abs_price_diff"] == pytest.approx(29 / 15)
    assert parity["max_rel_price_diff"] == pytest.approx(0.02, rel=1e-9)
    assert parity["crps_fp32"] == pytest.approx(67 / 12)
    assert parity["crps"] == pytest.approx(73 / 12)
    assert parity["crps_change"] == pytest.approx(0.5)
    assert parity["coverage_90_fp32"] == pytest.approx(0.5)
    assert parity["coverage_90"] == pytest.approx(0.25)
    assert parity["coverage_90_change"] == pytest.approx(-0.25)


def test_without_a_90_percent_interval_coverage_is_not_compared() -> None:
    levels = (0.1, 0.5, 0.9)
    parity = price_parity(REFERENCE, CANDIDATE, ACTUAL, levels)
    assert parity["coverage_90_change"] is None
    assert outside(parity, _tolerance(max_coverage_change=0.0)) == []


def _tolerance(**bounds: float) -> dict[str, float | None]:
    return VariantTolerance(**bounds).model_dump()


@pytest.mark.parametrize(
    ("key", "at", "below", "shown"),
    [
        ("max_abs_price_diff", 5.0, 4.99, "5"),  # USD
        ("mean_abs_price_diff", 29 / 15, 1.93, "1.933"),  # USD
        ("max_rel_price_diff", 0.02, 0.0199, "0.02"),  # a share of the price
        ("max_crps_change", 0.5, 0.49, "0.5"),  # USD of mean CRPS
        ("max_coverage_change", 0.25, 0.24, "0.25"),  # a share: 0.25 = 25 points
    ],
)
def test_each_bound_holds_at_its_value_and_fails_just_below(
    key: str, at: float, below: float, shown: str
) -> None:
    parity = price_parity(REFERENCE, CANDIDATE, ACTUAL, LEVELS)
    assert outside(parity, _tolerance(**{key: at + 1e-12})) == []
    assert outside(parity, _tolerance(**{key: below})) == [f"{key} {shown} > {below:g}"]


def test_a_better_crps_or_coverage_is_a_change_too() -> None:
    # The same two forecasts the other way round: CRPS falls by 0.5, coverage rises 25 points.
    parity = price_parity(CANDIDATE, REFERENCE, ACTUAL, LEVELS)
    assert parity["crps_change"] == pytest.approx(-0.5)
    assert parity["coverage_90_change"] == pytest.approx(0.25)
    failures = outside(parity, _tolerance(max_crps_change=0.49, max_coverage_change=0.24))
    assert failures == ["max_crps_change 0.5 > 0.49", "max_coverage_change 0.25 > 0.24"]


def test_coverage_tolerance_is_a_share_not_points() -> None:
    # One point of coverage is 0.01: a 25-point change passes a 0.3 bound, fails a 0.2 one.
    parity = price_parity(REFERENCE, CANDIDATE, ACTUAL, LEVELS)
    assert outside(parity, _tolerance(max_coverage_change=0.3)) == []
    assert outside(parity, _tolerance(max_coverage_change=0.2)) != []


def test_unchecked_bounds_and_a_nan_difference() -> None:
    parity = price_parity(REFERENCE, CANDIDATE, ACTUAL, LEVELS)
    assert outside(parity, _tolerance()) == []  # null everywhere: nothing checked
    broken = price_parity(REFERENCE, CANDIDATE * np.nan, ACTUAL, LEVELS)
    assert outside(broken, _tolerance(max_abs_price_diff=1e9)) == ["max_abs_price_diff nan > 1e+09"]
