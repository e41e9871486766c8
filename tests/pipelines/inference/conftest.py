"""A published ridge forecaster built by the real stage nodes, for the inference tests."""

from __future__ import annotations

import pytest

from lstm_forecast.params import OnnxRuntimeParams
from lstm_forecast.pipelines.export.nodes import export_forecaster
from lstm_forecast.pipelines.export.params import ExportParams
from lstm_forecast.pipelines.inference.params import InferenceParams
from lstm_forecast.pipelines.validation.forecaster import publish_forecaster, validate_forecaster
from lstm_forecast.pipelines.validation.nodes import validate_onnx
from lstm_forecast.pipelines.validation.params import ValidationParams

RUNTIME = OnnxRuntimeParams()


@pytest.fixture(scope="session")
def published(stage_outputs) -> dict:
    """The ridge kind's staged and published forecaster, on the shared stage outputs."""
    ridge = stage_outputs["ridge"]
    staged, sidecar = export_forecaster(
        ridge["staged"],
        ridge["trained"],
        stage_outputs["candles"],
        stage_outputs["test"],
        ExportParams(),
        kind="ridge",
    )
    report = validate_forecaster(
        staged,
        sidecar,
        ridge["trained"],
        stage_outputs["candles"],
        stage_outputs["test"],
        ValidationParams(),
        RUNTIME,
        kind="ridge",
    )
    model_report = validate_onnx(
        ridge["staged"],
        ridge["trained"],
        stage_outputs["table"],
        stage_outputs["scaler"],
        stage_outputs["test"],
        ValidationParams(),
        RUNTIME,
        kind="ridge",
    )
    forecaster, sidecar = publish_forecaster(staged, sidecar, report, model_report)
    return {"staged": staged, "forecaster": forecaster, "sidecar": sidecar, "report": report}


@pytest.fixture
def params() -> InferenceParams:
    return InferenceParams(model="ridge", tail_rows=None, batch_size=64)
