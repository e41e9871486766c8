"""The ridge kind: JSON artefact, calibrated residual quantiles, ONNX parity."""

from __future__ import annotations

import json

import numpy as np
import onnxruntime as ort

from lstm_forecast import models
from lstm_forecast.models.ridge import RidgeParams
from lstm_forecast.onnx.contract import INPUT_NAME, OUTPUT_NAME
from lstm_forecast.pipelines.export.params import ExportParams
from tests.models._data import training_data


def test_artifact_is_plain_json_and_quantiles_are_ordered():
    data, _, _ = training_data()
    artifact = models.get("ridge").fit(data, RidgeParams(alpha=1.0)).artifact
    restored = json.loads(json.dumps(artifact))
    forecast = models.get("ridge").predictor(restored)(data.windows(data.val_ends))
    assert forecast.shape == (len(data.val_ends), 3, 3)
    assert (np.diff(forecast, axis=-1) >= 0).all()
    # Residual quantiles come from the validation split: the central 80% band holds about
    # 80% of the validation targets, by construction.
    inside = (data.targets[data.val_ends] >= forecast[..., 0]) & (
        data.targets[data.val_ends] <= forecast[..., 2]
    )
    assert 0.75 <= inside.mean() <= 0.85


def test_onnx_graph_agrees_with_the_reference():
    data, _, _ = training_data()
    kind = models.get("ridge")
    artifact = kind.fit(data, RidgeParams(alpha=1.0)).artifact
    model = kind.to_onnx(artifact, ExportParams())
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    windows = data.windows(data.val_ends)
    np.testing.assert_allclose(
        session.run([OUTPUT_NAME], {INPUT_NAME: windows})[0],
        kind.predictor(artifact)(windows),
        rtol=1e-5,
        atol=1e-6,
    )
