"""Export pipeline: one instance of the same template per model namespace."""

from kedro.pipeline import Node, Pipeline

from .nodes import export_onnx

# Model namespace -> the catalog dataset holding its trained artefact.
TRAINED_MODELS = {"lstm": "model_checkpoint", "ridge": "ridge_model"}


def create_pipeline(**kwargs) -> Pipeline:
    """Create the export pipeline: each trained model -> ``<model>.onnx_model``."""
    template = Pipeline(
        [
            Node(
                func=export_onnx,
                inputs=[
                    "trained_model",
                    "feature_scaler",
                    "split_boundaries",
                    "params:export",
                    "params:ingestion.interval",
                ],
                outputs="onnx_model",
                name="export_onnx",
            ),
        ]
    )
    return Pipeline(
        [
            Pipeline(
                template,
                namespace=model,
                inputs={
                    "trained_model": trained,
                    "feature_scaler": "feature_scaler",
                    "split_boundaries": "split_boundaries",
                },
                parameters={
                    "params:export": f"params:export.{model}",
                    "params:ingestion.interval": "params:ingestion.interval",
                },
            )
            for model, trained in TRAINED_MODELS.items()
        ],
        tags=["export"],
    )
