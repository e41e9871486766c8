"""Reporting pipeline: every model's test forecasts against persistence, in numbers and plots."""

from kedro.pipeline import Node, Pipeline

from ..export.pipeline import TRAINED_MODELS
from .nodes import (
    compute_forecast_metrics,
    plot_error_distribution,
    plot_forecast_vs_actual,
    plot_loss_curves,
    summarise_run,
)

_PREDICTIONS = {model: f"{model}.test_predictions" for model in TRAINED_MODELS}
_VALIDATION_REPORTS = {model: f"{model}.validation_report" for model in TRAINED_MODELS}


def create_pipeline(**kwargs) -> Pipeline:
    """Create the reporting pipeline: test predictions -> ``forecast_metrics``, plots, summary.

    ``summarise_run`` depends on ``forecast_metrics``, which no plot needs, so Kedro's
    topological order runs it after every other node of the default run.
    """
    return Pipeline(
        [
            Node(
                func=compute_forecast_metrics,
                inputs={
                    "features": "features",
                    "split_boundaries": "split_boundaries",
                    "reporting": "params:reporting",
                    **_PREDICTIONS,
                },
                outputs="forecast_metrics",
                name="compute_forecast_metrics",
            ),
            Node(
                func=plot_forecast_vs_actual,
                inputs={"reporting": "params:reporting", **_PREDICTIONS},
                outputs="forecast_vs_actual",
                name="plot_forecast_vs_actual",
            ),
            Node(
                func=plot_error_distribution,
                inputs={"reporting": "params:reporting", **_PREDICTIONS},
                outputs="forecast_error_distribution",
                name="plot_forecast_error_distribution",
            ),
            Node(
                func=plot_loss_curves,
                inputs="training_history",
                outputs="loss_curves",
                name="plot_loss_curves",
            ),
            Node(
                func=summarise_run,
                inputs={
                    "forecast_metrics": "forecast_metrics",
                    "reporting": "params:reporting",
                    **_VALIDATION_REPORTS,
                },
                outputs="run_summary",
                name="summarise_run",
            ),
        ],
        tags=["reporting"],
    )
