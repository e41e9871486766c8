"""Validation pipeline."""

from kedro.pipeline import Node, Pipeline

from .nodes import assert_validation_passed, forecast_test_split, validate_onnx_parity


def create_pipeline(**kwargs) -> Pipeline:
    """Create the validation pipeline: checker, parity, then the forecasts on the test split."""
    return Pipeline(
        [
            Node(
                func=validate_onnx_parity,
                inputs=[
                    "onnx_model",
                    "model_checkpoint",
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
        ],
        tags=["validation"],
    )
