"""Export pipeline: every registered model kind to staged ONNX files (model, forecaster)."""

from kedro.pipeline import Node, Pipeline

from lstm_forecast import models

from .nodes import export_forecaster, export_onnx

_SHARED_INPUTS = {
    "feature_scaler",
    "split_boundaries",
    "data_quality_report",
    "candles",
    "test_windows",
}


def create_pipeline(**kwargs) -> Pipeline:
    """Create the export pipeline, per kind: ``trained_model`` -> ``staged_onnx_model`` ->
    ``staged_forecaster`` (+ its JSON sidecar)."""
    return Pipeline(
        [
            Pipeline(
                [
                    Node(
                        func=models.for_kind(export_onnx, kind),
                        inputs=[
                            "trained_model",
                            "feature_scaler",
                            "split_boundaries",
                            "data_quality_report",
                            "params:export",
                        ],
                        outputs="staged_onnx_model",
                        name="export_onnx",
                    ),
                    Node(
                        func=models.for_kind(export_forecaster, kind),
                        inputs=[
                            "staged_onnx_model",
                            "trained_model",
                            "candles",
                            "test_windows",
                            "params:export",
                        ],
                        outputs=["staged_forecaster", "staged_forecaster_sidecar"],
                        name="export_forecaster",
                    ),
                ],
                namespace=kind,
                inputs=_SHARED_INPUTS,
                parameters={"params:export"},
            )
            for kind in models.names()
        ],
        tags=["export"],
    )
