"""Validation pipeline: the same checks for every model namespace."""

from kedro.pipeline import Node, Pipeline

from ..export.pipeline import TRAINED_MODELS
from .nodes import assert_validation_passed, forecast_test_split, validate_onnx_parity

_SHARED_INPUTS = ("scaled_features", "test_windows", "features")


def create_pipeline(**kwargs) -> Pipeline:
    """Create the validation pipeline: checker and parity, then test-split forecasts, per model."""
    template = Pipeline(
        [
            Node(
                func=validate_onnx_parity,
                inputs=[
                    "onnx_model",
                    "trained_model",
                    "scaled_features",
                    "test_windows",
                    "params:validation",
                ],
                outputs="validation_report",
                name="validate_onnx_parity",
            ),
            Node(
                func=assert_validation_passed,
                inputs="validation_report",
                outputs=None,
                name="assert_validation_passed",
            ),
            Node(
                func=forecast_test_split,
                inputs=[
                    "onnx_model",
                    "scaled_features",
                    "test_windows",
                    "features",
                    "params:validation",
                ],
                outputs="test_predictions",
                name="forecast_test_split",
            ),
        ]
    )
    return Pipeline(
        [
            Pipeline(
                template,
                namespace=model,
                inputs={"trained_model": trained, **{name: name for name in _SHARED_INPUTS}},
                parameters={"params:validation": "params:validation"},
            )
            for model, trained in TRAINED_MODELS.items()
        ],
        tags=["validation"],
    )
