"""The volatility-scaled head's start (an OLS of log squared targets) on simulated series
with known answers (its forward pass: test_volatility_head_by_hand.py).

The series: ``ln y^2 = a + b c + d`` where ``c`` is the centred log-variance feature and ``d``
is +delta or -delta on the two rows of each pair (same ``c``). The OLS then recovers ``a``
and ``b`` exactly, and the intercept shift that makes the mean fitted variance the mean
squared target is ``ln((e^delta + e^-delta) / 2) = ln cosh delta``.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from lstm_forecast.models import volatility_scaling as vs
from lstm_forecast.models.volatility_scaling import (
    harmonics,
    scaling_settings,
    standard_start,
)

A = np.array([-9.0, -8.0])  # per horizon step
B = np.array([0.8, 1.3])
DELTA = 0.4
N = 40  # rows, in pairs


def _series(seasonal: np.ndarray | None = None, delta: float = DELTA) -> dict:
    """Feature matrix (scaled), targets (scaled) and scaler of the simulated series."""
    rng = np.random.default_rng(0)
    c = np.repeat(rng.normal(size=N // 2), 2)  # centred log-variance, the same in each pair
    d = np.tile([delta, -delta], N // 2)
    hours = np.arange(N) % 24
    theta = 2 * np.pi * hours / 24
    log_square = A[None, :] + c[:, None] * B[None, :] + d[:, None]
    if seasonal is not None:
        terms = np.column_stack(harmonics(np.sin(theta), np.cos(theta), seasonal.shape[1] // 2))
        log_square = log_square + terms @ seasonal.T
    signs = np.where(np.arange(N) % 3 == 0, -1.0, 1.0)[:, None]
    y = signs * np.exp(0.5 * log_square)
    scaler = {
        "feature_mean": [5.0, -10.0, 0.1, -0.1],
        "feature_scale": [1.0, 2.0, 0.7, 0.7],
        "target_mean": [0.001, -0.002],
        "target_scale": [0.01, 0.02],
    }
    raw = np.column_stack([rng.normal(size=N), c - 10.0, np.sin(theta), np.cos(theta)])
    matrix = (raw - scaler["feature_mean"]) / scaler["feature_scale"]
    targets = (y - scaler["target_mean"]) / scaler["target_scale"]
    return {
        "names": ("other", "log_var", "hour_sin", "hour_cos"),
        "scaler": scaler,
        "matrix": matrix.astype(np.float32).astype(np.float64),
        "targets": targets,
    }


def _settings(series: dict, harmonics_count: int = 0, ends=None) -> dict:
    ends = np.arange(N) if ends is None else ends
    return scaling_settings(
        ["log_var"],
        series["names"],
        series["scaler"],
        series["matrix"],
        series["targets"],
        ends,
        harmonics_count,
    )


def test_the_start_recovers_a_known_intercept_and_slope():
    series = _series()
    settings = _settings(series)
    # c is recovered from the float32 matrix: exact up to float32 rounding.
    np.testing.assert_allclose(settings["slope"], B[:, None], atol=1e-5)
    np.testing.assert_allclose(settings["intercept"], A + math.log(math.cosh(DELTA)), atol=1e-5)
    assert settings["features"] == ["log_var"]
    assert settings["index"] == [1]
    assert settings["feature_mean"] == [-10.0]
    assert settings["feature_scale"] == [2.0]
    assert settings["target_scale"] == [0.01, 0.02]
    np.testing.assert_allclose(settings["target_offset"], [0.1, -0.1])
    assert settings["seasonal"] == [[], []]
    assert settings["seasonal_index"] == settings["seasonal_harmonics"] == []
    assert settings["seasonal_mean"] == settings["seasonal_scale"] == []
    # Without harmonics asked for, none enter (hour_sin and hour_cos are features here).
    default = scaling_settings(
        ["log_var"], series["names"], series["scaler"], series["matrix"], series["targets"],
        np.arange(N),
    )  # fmt: skip
    assert default == settings


def test_the_start_reads_only_the_training_rows_and_skips_missing_values():
    series = _series()
    # Rows 40.. are not training windows: garbage there must not move the fit.
    series["matrix"] = np.vstack([series["matrix"], np.full((4, 4), 7.0)])
    series["targets"] = np.vstack([series["targets"], np.full((4, 2), 50.0)])
    series["targets"][0, 1] = np.nan  # a missing target drops that row for step 2 only
    ends = np.arange(N)
    settings = _settings(series, ends=ends)
    np.testing.assert_allclose(settings["slope"][0], [B[0]], atol=1e-5)
    np.testing.assert_allclose(settings["intercept"][0], A[0] + math.log(math.cosh(DELTA)), 1e-6)
    # Step 2 lost row 0 (d = +delta) and keeps its pair partner: no longer a balanced pair.
    assert abs(settings["intercept"][1] - (A[1] + math.log(math.cosh(DELTA)))) < 0.05
    np.testing.assert_allclose(settings["slope"][1], [B[1]], atol=0.05)
    # A missing feature value drops the row for every step.
    series["matrix"][1, 1] = np.nan
    dropped = _settings(series, ends=ends)
    assert np.isfinite(dropped["intercept"]).all() and np.isfinite(dropped["slope"]).all()
    assert dropped["intercept"][0] != settings["intercept"][0]


def test_seasonal_harmonics_enter_the_regression_with_known_coefficients():
    seasonal = np.array([[0.3, -0.2, 0.1, 0.05], [-0.1, 0.4, 0.0, -0.2]])
    # No +-delta here: the hours of a pair differ, so it would leak into the harmonics.
    series = _series(seasonal, delta=0.0)
    settings = _settings(series, harmonics_count=2)
    assert settings["seasonal_index"] == [2, 3]
    assert settings["seasonal_harmonics"] == [2]
    assert settings["seasonal_mean"] == [0.1, -0.1]
    assert settings["seasonal_scale"] == [0.7, 0.7]
    np.testing.assert_allclose(settings["seasonal"], seasonal, atol=1e-5)
    np.testing.assert_allclose(settings["slope"], B[:, None], atol=1e-5)
    np.testing.assert_allclose(settings["intercept"], A, atol=1e-5)


def test_a_tiny_square_is_floored_at_a_ten_thousandth_of_the_mean():
    # squares 0, 4, 4, 4 (mean 3): the zero becomes 3e-4. v = 1, 1, 2, 2: two groups, so
    # the fit is each group's mean of ln y^2.
    v = np.array([[1.0], [1.0], [2.0], [2.0]])
    y = np.array([[0.0], [2.0], [-2.0], [2.0]])
    intercept, slope = vs._log_variance_ols(v, y)
    low = (math.log(3e-4) + math.log(4.0)) / 2
    high = math.log(4.0)
    shift = math.log(3.0) - math.log((2 * math.exp(low) + 2 * math.exp(high)) / 4)
    np.testing.assert_allclose(slope, [[high - low]])
    np.testing.assert_allclose(intercept, [2 * low - high + shift])


def test_seasonal_pairs_and_their_harmonics_counts():
    scaler = {"feature_mean": [0.0, 1.0, 2.0, 3.0, 4.0], "feature_scale": [1.0, 2.0, 3.0, 4.0, 5.0]}
    names = ("x", "dow_sin", "dow_cos", "hour_sin", "hour_cos")
    found = vs._seasonal(names, scaler, 5)
    # hour first (as many harmonics as asked), then the weekday (at most 3).
    assert found == {
        "seasonal_index": [3, 4, 1, 2],
        "seasonal_harmonics": [5, 3],
        "seasonal_mean": [3.0, 4.0, 1.0, 2.0],
        "seasonal_scale": [4.0, 5.0, 2.0, 3.0],
    }
    assert vs._seasonal(names, scaler, 2)["seasonal_harmonics"] == [2, 2]
    assert vs._seasonal(names[:3], scaler, 4)["seasonal_harmonics"] == [3]
    # dow_sin without dow_cos: only the hour pair, at its place in this feature list.
    assert vs._seasonal(names[:2] + names[3:], scaler, 4)["seasonal_index"] == [2, 3]
    assert vs._seasonal(names, scaler, 0)["seasonal_index"] == []
    with pytest.raises(ValueError) as err:
        vs._seasonal(("x", "hour_sin"), scaler, 1)
    assert str(err.value) == (
        "training.lstm.volatility_harmonics needs hour_sin/hour_cos or dow_sin/dow_cos "
        "among the features."
    )


def test_a_missing_feature_or_scaler_is_refused():
    series = _series()
    with pytest.raises(ValueError) as err:
        scaling_settings(
            ["rv", "log_var"], series["names"], series["scaler"], series["matrix"],
            series["targets"], np.arange(N),
        )  # fmt: skip
    assert str(err.value) == (
        "training.lstm.volatility_scaling names ['rv'], which this run's features do not "
        "include (['other', 'log_var', 'hour_sin', 'hour_cos']). Choose a log-variance "
        "feature of the feature set, e.g. features.feature_set=volatility with "
        "log_range_rv_24, or set training.lstm.volatility_scaling=null."
    )
    with pytest.raises(ValueError) as err:
        scaling_settings(
            ["log_var"], series["names"], None, series["matrix"], series["targets"], np.arange(N)
        )
    assert str(err.value) == "volatility_scaling needs the feature scaler in the training data."


def test_the_standard_start_makes_the_monotone_head_give_normal_quantiles():
    levels = torch.tensor([0.05, 0.25, 0.5, 0.9])
    bias = standard_start(levels)
    assert bias.dtype == torch.float32
    z = torch.cat([bias[:1], bias[:1] + torch.cumsum(torch.nn.functional.softplus(bias[1:]), 0)])
    normal = torch.distributions.Normal(0.0, 1.0).icdf(levels.double()).float()
    torch.testing.assert_close(z, normal, atol=1e-5, rtol=1e-5)
    assert bias[0].item() == pytest.approx(-1.6448536, abs=1e-6)
