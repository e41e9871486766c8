"""Backtest pipeline: `kedro run --pipelines=backtest` (not part of ``__default__``)."""

from kedro.pipeline import Node, Pipeline

from .nodes import plan_folds, run_backtest


def create_pipeline(**kwargs) -> Pipeline:
    """Create the backtest pipeline: ``features`` -> ``backtest_folds`` -> ``backtest_report``."""
    return Pipeline(
        [
            Node(
                func=plan_folds,
                inputs=["features", "params:backtest"],
                outputs="backtest_folds",
                name="plan_backtest_folds",
            ),
            Node(
                func=run_backtest,
                inputs=[
                    "features",
                    "backtest_folds",
                    "params:features",
                    "params:training",
                    "params:backtest",
                ],
                outputs="backtest_report",
                name="run_backtest",
            ),
        ],
        tags=["backtest"],
    )
