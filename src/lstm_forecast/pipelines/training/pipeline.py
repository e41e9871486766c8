"""Training pipeline."""

from kedro.pipeline import Node, Pipeline

from .nodes import train_lstm


def create_pipeline(**kwargs) -> Pipeline:
    """Create the training pipeline: windows -> ``model_checkpoint`` + loss curves."""
    return Pipeline(
        [
            Node(
                func=train_lstm,
                inputs=[
                    "scaled_features",
                    "train_windows",
                    "val_windows",
                    "params:training",
                    "params:features.window_length",
                ],
                outputs=["model_checkpoint", "training_history", "training_summary"],
                name="train_lstm",
            ),
        ],
        tags=["training"],
    )
