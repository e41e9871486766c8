"""Export pipeline: every registered model kind to a staged ONNX file."""

from kedro.pipeline import Node, Pipeline

from lstm_forecast import models

from .nodes import export_onnx

_SHARED_INPUTS = {"feature_scaler", "split_boundaries", "data_quality_report"}


def create_pipeline(**kwargs) -> Pipeline:
    """Create the export pipeline: ``<kind>.trained_model`` -> ``<kind>.staged_onnx_model``."""
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
                    )
                ],
                namespace=kind,
                inputs=_SHARED_INPUTS,
                parameters={"params:export"},
            )
            for kind in models.names()
        ],
        tags=["export"],
    )
