"""The ridge kind's fit and calibration against answers worked out by hand.

A simulated series whose targets are an exact linear function of the window on the
training rows, and that function plus chosen residuals on the validation rows: the fit
must recover the function, and the offsets must be the quantiles of exactly those
residuals (numpy's default, linear interpolation between order statistics).
"""

from __future__ import annotations

import logging

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import numpy_helper

from lstm_forecast.models import TrainingData
from lstm_forecast.models.ridge import KIND, RidgeParams
from lstm_forecast.onnx.contract import INPUT_NAME, OUTPUT_NAME
from lstm_forecast.pipelines.export.params import ExportParams

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


def test_the_artifact_and_its_record(caplog: pytest.LogCaptureFixture) -> None:
    data, _, _ = _series()
    with caplog.at_level(logging.INFO, logger="lstm_forecast.models.ridge"):
        trained = KIND.fit(data, RidgeParams(alpha=0.0))
    assert caplog.messages == [
        "Fitted the ridge baseline on 28 windows x 6 inputs; residual quantiles from 5 "
        "validation windows."
    ]
    assert list(trained.history.columns) == ["epoch"]
    assert trained.history.empty  # no epochs: one closed-form fit
    meta = trained.artifact["meta"]
    assert (meta["kind"], meta["window_length"], meta["horizon"]) == ("ridge", LENGTH, HORIZON)
    assert meta["quantiles"] == list(QUANTILES)
    # Stored as float32 values (what the ONNX initializers hold), not float64 ones.
    for key in ("coef", "intercept", "offsets"):
        stored = np.asarray(trained.artifact[key], dtype=np.float64)
        np.testing.assert_array_equal(stored, stored.astype(np.float32))
    window = np.ones((2, LENGTH, N_FEATURES), dtype=np.float32)
    assert KIND.predictor(trained.artifact)(window).dtype == np.float32


def test_the_onnx_graph_and_its_weights_by_hand() -> None:
    data, weights, intercept = _series()
    artifact = KIND.fit(data, RidgeParams(alpha=0.0)).artifact
    model = KIND.to_onnx(artifact, ExportParams())
    onnx.checker.check_model(model)
    assert model.ir_version == 8
    assert [(o.domain, o.version) for o in model.opset_import] == [("", ExportParams().opset)]
    assert model.graph.name == "ridge_quantiles"

    def dims(value: onnx.ValueInfoProto) -> list[str | int]:
        return [d.dim_param or d.dim_value for d in value.type.tensor_type.shape.dim]

    assert dims(model.graph.input[0]) == ["batch", LENGTH, N_FEATURES]
    assert dims(model.graph.output[0]) == ["batch", HORIZON, len(QUANTILES)]
    held = KIND.weights(artifact)
    assert set(held) == {"coef", "intercept", "offsets"}
    np.testing.assert_allclose(held["coef"], weights.T, atol=1e-4)
    np.testing.assert_allclose(held["intercept"], intercept, atol=1e-4)
    np.testing.assert_allclose(held["offsets"], OFFSETS, atol=1e-4)
    initializers = {i.name: numpy_helper.to_array(i) for i in model.graph.initializer}
    for name, value in held.items():  # what the weight check compares, bit for bit
        np.testing.assert_array_equal(initializers[name], value)
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    window = np.arange(LENGTH * N_FEATURES, dtype=np.float32).reshape(1, LENGTH, N_FEATURES)
    expected = (window.reshape(-1) @ weights.T + intercept)[:, None] + OFFSETS
    got = session.run([OUTPUT_NAME], {INPUT_NAME: np.repeat(window, 2, axis=0)})[0]
    np.testing.assert_allclose(got, np.stack([expected, expected]), atol=1e-3)
