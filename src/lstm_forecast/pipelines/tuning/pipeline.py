"""Tuning pipeline: `kedro run --pipelines=tuning` (never part of ``__default__``).

One node runs one Optuna study (the Kedro and kedro-mlflow convention: the study is one
node, its trials are nested MLflow runs). It reads the features stage's outputs from disk,
and the candles for the feature sets of the search space the features stage did not build.
"""

from kedro.pipeline import Node, Pipeline

from .nodes import tune_lstm


def create_pipeline(**kwargs) -> Pipeline:
    """Create the tuning pipeline: features -> Optuna study -> best parameters."""
    return Pipeline(
        [
            Node(
                func=tune_lstm,
                inputs=[
                    "candles",
                    "features",
                    "feature_scaler",
                    "split_boundaries",
                    "params:tuning",
                ],
                outputs=["tuning_best_params", "tuning_summary"],
                name="tune_lstm",
            )
        ],
        tags=["tuning"],
    )
