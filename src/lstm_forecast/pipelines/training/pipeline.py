"""Training pipeline: every registered model kind, each in its own namespace."""

from kedro.pipeline import Node, Pipeline

from lstm_forecast import models

from .nodes import train_model

_SHARED_INPUTS = {"features", "feature_scaler", "train_windows", "val_windows"}


def create_pipeline(**kwargs) -> Pipeline:
    """Create the training pipeline: windows -> ``<kind>.trained_model`` for every kind."""
    return Pipeline(
        [
            Pipeline(
                [
                    Node(
                        func=models.for_kind(train_model, kind),
                        inputs=[
                            "features",
                            "feature_scaler",
                            "train_windows",
                            "val_windows",
                            "params:training",
                        ],
                        outputs=["trained_model", "training_history", "training_summary"],
                        name="train",
                    )
                ],
                namespace=kind,
                inputs=_SHARED_INPUTS,
                parameters={"params:training"},
            )
            for kind in models.names()
        ],
        tags=["training"],
    )
