"""Export pipeline."""

from kedro.pipeline import Node, Pipeline

from .nodes import export_onnx


def create_pipeline(**kwargs) -> Pipeline:
    """Create the export pipeline: ``model_checkpoint`` -> ``onnx_model``."""
    return Pipeline(
        [
            Node(
                func=export_onnx,
                inputs=[
                    "model_checkpoint",
                    "feature_scaler",
                    "split_boundaries",
                    "params:export",
                    "params:ingestion.interval",
                ],
                outputs="onnx_model",
                name="export_onnx",
            ),
        ],
        tags=["export"],
    )
