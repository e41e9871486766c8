"""What ``lazy_kedro_mlflow`` decides without importing MLflow (the CLI is in test_startup)."""

from __future__ import annotations

import pytest

from lstm_forecast.integrations.lazy_kedro_mlflow import uses_metric_datasets


@pytest.mark.parametrize(
    ("conf_catalog", "expected"),
    [
        ({}, False),
        ({"model": {"type": "lstm_forecast.datasets.LightningCheckpointDataset"}}, False),
        ({"params:x": 1, "loss": {"type": "kedro_mlflow.io.metrics.MlflowMetricDataset"}}, True),
        ({"{kind}.loss": {"type": "kedro_mlflow.io.metrics.MlflowMetricHistoryDataset"}}, True),
        ({"all": {"type": "kedro_mlflow.io.metrics.MlflowMetricsHistoryDataset"}}, True),
        ({"art": {"type": "kedro_mlflow.io.artifacts.MlflowArtifactDataset"}}, False),
    ],
)
def test_kedro_mlflow_catalog_hook_is_needed_only_for_its_metric_datasets(conf_catalog, expected):
    assert uses_metric_datasets(conf_catalog) is expected
