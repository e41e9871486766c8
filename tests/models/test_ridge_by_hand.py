"""The ridge kind's fit and calibration against answers worked out by hand.

A simulated series whose targets are an exact linear function of the window on the
training rows, and that function plus chosen residuals on the validation rows: the fit
must recover the function, and the offsets must be the quantiles of exactly those
residuals (numpy's default, linear interpolation between order statistics).
"""

from __future__ import annotations

import numpy as np
import pytest

from lstm_forecast.models import TrainingData
from lstm_forecast.models.ridge import KIND, RidgeParams

LENGTH, N_FEATURES, HORIZON = 3, 2, 3
QUANTILES = (0.1, 0.5, 0.9)
TRAIN_ENDS = np.arange(LENGTH - 1, 30)
VAL_ENDS = np.arange(30, 35)
# Validation residuals (target - point), one column per horizon step, one row per window.
RESIDUALS = np.array(
    [
        [-2.0, 0.0, 4.0],
        [-1.0, 0.0, 3.0],
        [0.0, 0.0, 2.0],
        [1.0, 0.0, 1.0],
        [2.0, 10.0, 0.0],
    ]
)
# np.quantile's default: position (n - 1) * q = 4q between the sorted residuals.
#   step 1, sorted -2 -1 0 1 2: q 0.1 -> -2 + 0.4 * 1 = -1.6; q 0.5 -> 0; q 0.9 -> 1.6
#   step 2, sorted 0 0 0 0 10: q 0.1 -> 0; q 0.5 -> 0; q 0.9 -> 0 + 0.6 * 10 = 6
#   step 3, sorted 0 1 2 3 4: q 0.1 -> 0.4; q 0.5 -> 2; q 0.9 -> 3.6
OFFSETS = np.array([[-1.6, 0.0, 1.6], [0.0, 0.0, 6.0], [0.4, 2.0, 3.6]])


def _series() -> tuple[TrainingData, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(3)
    matrix = rng.standard_normal((40, N_FEATURES)).astype(np.float32)
    weights = rng.standard_normal((HORIZON, LENGTH * N_FEATURES))
    intercept = np.array([0.5, -1.0, 2.0])
    targets = np.full((40, HORIZON), np.nan, dtype=np.float32)
    for end in range(LENGTH - 1, 40):
        flat = matrix[end - LENGTH + 1 : end + 1].reshape(-1).astype(np.float64)
        targets[end] = flat @ weights.T + intercept
    targets[VAL_ENDS] += RESIDUALS
    data = TrainingData(
        matrix=matrix,
        targets=targets,
        train_ends=TRAIN_ENDS,
        val_ends=VAL_ENDS,
        window_length=LENGTH,
        feature_names=("a", "b"),
        quantiles=QUANTILES,
        seed=0,
    )
    return data, weights, intercept


def test_the_fit_recovers_the_linear_function_in_the_flattening_order() -> None:
    data, weights, intercept = _series()
    trained = KIND.fit(data, RidgeParams(alpha=0.0))
    artifact = trained.artifact
    assert trained.summary == {"train_windows": 28, "val_windows": 5, "alpha": 0.0}
    # Inputs flattened time-major: [t-2: a, b, t-1: a, b, t: a, b], as the ONNX Reshape does.
    np.testing.assert_allclose(artifact["coef"], weights, atol=1e-4)
    np.testing.assert_allclose(artifact["intercept"], intercept, atol=1e-4)
    assert artifact["alpha"] == 0.0


def test_the_offsets_are_the_validation_residual_quantiles_per_step() -> None:
    data, _, _ = _series()
    artifact = KIND.fit(data, RidgeParams(alpha=0.0)).artifact
    np.testing.assert_allclose(artifact["offsets"], OFFSETS, atol=1e-4)


def test_the_predictor_adds_each_steps_offsets_to_the_point() -> None:
    data, weights, intercept = _series()
    artifact = KIND.fit(data, RidgeParams(alpha=0.0)).artifact
    window = np.arange(LENGTH * N_FEATURES, dtype=np.float32).reshape(1, LENGTH, N_FEATURES)
    point = window.reshape(-1) @ weights.T + intercept
    expected = point[:, None] + OFFSETS  # [horizon, quantile]
    np.testing.assert_allclose(KIND.predictor(artifact)(window)[0], expected, atol=1e-3)


def test_the_penalty_shrinks_the_weights() -> None:
    data, weights, _ = _series()
    loose = np.asarray(KIND.fit(data, RidgeParams(alpha=0.0)).artifact["coef"])
    tight = np.asarray(KIND.fit(data, RidgeParams(alpha=1e3)).artifact["coef"])
    assert np.linalg.norm(tight) < 0.5 * np.linalg.norm(loose)
    assert np.linalg.norm(loose) == pytest.approx(np.linalg.norm(weights), rel=1e-4)
