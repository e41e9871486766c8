"""Reporting pipeline: every model's validated test forecasts against the naive baselines."""

from kedro.pipeline import Node, Pipeline

from lstm_forecast import models

from .nodes import (
    compute_forecast_metrics,
    forecast_baselines,
    plot_calibration,
    plot_fan_chart,
    plot_loss_curves,
    plot_skill_by_horizon,
    summarise_run,
)


def create_pipeline(**kwargs) -> Pipeline:
    """Create the reporting pipeline: test forecasts -> baselines, metrics, plots, summary."""
    predictions = {kind: f"{kind}.test_predictions" for kind in models.names()}
    reports = {kind: f"{kind}.validation_report" for kind in models.names()}
    reporting = {"reporting": "params:reporting"}
    return Pipeline(
        [
            Node(
                func=forecast_baselines,
                inputs={
                    "feature_table": "features",
                    "split_boundaries": "split_boundaries",
                    "test_windows": "test_windows",
                    **reporting,
                    **predictions,
                },
                outputs="baseline_forecasts",
                name="forecast_baselines",
            ),
            Node(
                func=compute_forecast_metrics,
                inputs={"baseline_forecasts": "baseline_forecasts", **reporting, **predictions},
                outputs="forecast_metrics",
                name="compute_forecast_metrics",
            ),
            Node(
                func=plot_fan_chart,
                inputs={"baseline_forecasts": "baseline_forecasts", **reporting, **predictions},
                outputs="forecast_fan_chart",
                name="plot_fan_chart",
            ),
            Node(
                func=plot_calibration,
                inputs="forecast_metrics",
                outputs="calibration_plot",
                name="plot_calibration",
            ),
            Node(
                func=plot_skill_by_horizon,
                inputs=["forecast_metrics", "params:reporting"],
                outputs="crps_skill_by_horizon",
                name="plot_skill_by_horizon",
            ),
            Node(
                func=plot_loss_curves,
                inputs="lstm.training_history",
                outputs="loss_curves",
                name="plot_loss_curves",
            ),
            Node(
                func=summarise_run,
                inputs={"forecast_metrics": "forecast_metrics", **reporting, **reports},
                outputs="run_summary",
                name="summarise_run",
            ),
        ],
        tags=["reporting"],
    )
