"""Training pipeline: the LSTM and the scikit-learn baseline, each in its model's namespace."""

from kedro.pipeline import Node, Pipeline

from .nodes import train_lstm, train_ridge


def create_pipeline(**kwargs) -> Pipeline:
    """Create the training pipeline: windows -> ``model_checkpoint`` and ``ridge_model``."""
    lstm = Pipeline(
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
        namespace="lstm",
        prefix_datasets_with_namespace=False,
    )
    ridge = Pipeline(
        [
            Node(
                func=train_ridge,
                inputs=[
                    "scaled_features",
                    "train_windows",
                    "params:training.ridge",
                    "params:features.window_length",
                ],
                outputs="ridge_model",
                name="train_ridge",
            ),
        ],
        namespace="ridge",
        prefix_datasets_with_namespace=False,
    )
    return Pipeline([lstm, ridge], tags=["training"])
