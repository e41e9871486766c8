"""Features pipeline."""

from kedro.pipeline import Node, Pipeline

from .nodes import build_features, fit_feature_scaler, make_windows, split_chronologically


def create_pipeline(**kwargs) -> Pipeline:
    """Create the features pipeline: ``candles`` -> features, split, scaler, window indices."""
    return Pipeline(
        [
            Node(
                func=build_features,
                inputs=["candles", "params:features"],
                outputs="features",
                name="build_features",
            ),
            Node(
                func=split_chronologically,
                inputs=["features", "params:features"],
                outputs="split_boundaries",
                name="split_chronologically",
            ),
            Node(
                func=fit_feature_scaler,
                inputs=["features", "split_boundaries", "params:features"],
                outputs="feature_scaler",
                name="fit_scaler_on_train",
            ),
            Node(
                func=make_windows,
                inputs=["features", "feature_scaler", "split_boundaries", "params:features"],
                outputs=["train_windows", "val_windows", "test_windows"],
                name="make_windows",
            ),
        ],
        tags=["features"],
    )
