"""Validation pipeline: the same checks for every model kind, then publication."""

from kedro.pipeline import Node, Pipeline

from lstm_forecast import models

from .forecaster import publish_forecaster, validate_forecaster
from .nodes import forecast_test_split, publish_validated, validate_onnx

_SHARED_INPUTS = {"features", "feature_scaler", "test_windows", "candles"}
_PARAMETERS = {"params:validation", "params:onnxruntime"}


def create_pipeline(**kwargs) -> Pipeline:
    """Create the validation pipeline, per kind: checks -> published ``onnx_model`` and
    ``forecaster`` -> test-split forecasts (which therefore only come from a validated file)."""
    return Pipeline(
        [
            Pipeline(
                [
                    Node(
                        func=models.for_kind(validate_onnx, kind),
                        inputs=[
                            "staged_onnx_model",
                            "trained_model",
                            "features",
                            "feature_scaler",
                            "test_windows",
                            "params:validation",
                            "params:onnxruntime",
                        ],
                        outputs="validation_report",
                        name="validate_onnx",
                    ),
                    Node(
                        func=publish_validated,
                        inputs=["staged_onnx_model", "validation_report"],
                        outputs="onnx_model",
                        name="publish_validated",
                    ),
                    Node(
                        func=models.for_kind(validate_forecaster, kind),
                        inputs=[
                            "staged_forecaster",
                            "staged_forecaster_sidecar",
                            "trained_model",
                            "candles",
                            "test_windows",
                            "params:validation",
                            "params:onnxruntime",
                        ],
                        outputs="forecaster_validation_report",
                        name="validate_forecaster",
                    ),
                    Node(
                        func=publish_forecaster,
                        inputs=[
                            "staged_forecaster",
                            "staged_forecaster_sidecar",
                            "forecaster_validation_report",
                            "validation_report",
                        ],
                        outputs=["forecaster", "forecaster_sidecar"],
                        name="publish_forecaster",
                    ),
                    Node(
                        func=forecast_test_split,
                        inputs=["onnx_model", "features", "test_windows", "params:onnxruntime"],
                        outputs="test_predictions",
                        name="forecast_test_split",
                    ),
                ],
                namespace=kind,
                inputs=_SHARED_INPUTS,
                parameters=_PARAMETERS,
            )
            for kind in models.names()
        ],
        tags=["validation"],
    )
