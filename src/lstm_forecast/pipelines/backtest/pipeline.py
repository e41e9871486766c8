"""Backtest pipeline: `kedro run --pipelines=backtest` (not part of ``__default__``).

Each fold is the same small pipeline instantiated in its own namespace
(``backtest.fold_0`` ...), so a parallel runner (e.g.
``lstm_forecast.integrations.dask_runner.DaskRunner``) trains the folds at the same time;
``gather_backtest_folds`` then averages them.
"""

from kedro.pipeline import Node, Pipeline

from lstm_forecast.integrations.node_binding import bind

from .nodes import gather_folds, plan_folds, run_fold

# How many folds the pipeline has: its shape, so it is fixed here rather than a parameter
# (Kedro builds pipelines before it reads parameters). Fold sizes are parameters.
FOLDS = 3


def create_pipeline(**kwargs) -> Pipeline:
    """Create the backtest pipeline: ``candles`` -> folds -> ``backtest_report``."""
    folds = [
        Pipeline(
            [
                Node(
                    func=bind(run_fold, fold=fold),
                    inputs=["candles", "backtest_folds", "params:backtest"],
                    outputs="fold_report",
                    name="run_fold",
                )
            ],
            namespace=f"backtest.fold_{fold}",
            inputs={"candles", "backtest_folds"},
            parameters={"params:backtest"},
        )
        for fold in range(FOLDS)
    ]
    return Pipeline(
        [
            Node(
                func=bind(plan_folds, folds=FOLDS),
                inputs=["features", "params:backtest"],
                outputs="backtest_folds",
                name="plan_backtest_folds",
            ),
            *folds,
            Node(
                func=gather_folds,
                inputs={
                    "backtest_folds": "backtest_folds",
                    **{f"fold_{k}": f"backtest.fold_{k}.fold_report" for k in range(FOLDS)},
                },
                outputs="backtest_report",
                name="gather_backtest_folds",
            ),
        ],
        tags=["backtest"],
    )
