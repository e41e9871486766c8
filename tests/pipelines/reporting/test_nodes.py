"""Reporting nodes on small synthetic frames, and where the summary runs."""

from __future__ import annotations

import logging

import pandas as pd
import pytest
import yaml
from matplotlib.figure import Figure

from lstm_forecast.pipelines.reporting import create_pipeline
from lstm_forecast.pipelines.reporting.nodes import (
    compute_forecast_metrics,
    plot_error_distribution,
    plot_forecast_vs_actual,
    plot_loss_curves,
    summarise_run,
)

from ...conftest import PROJECT_ROOT

REPORTING = yaml.safe_load((PROJECT_ROOT / "conf/base/parameters_reporting.yml").read_text())[
    "reporting"
]


def _features() -> pd.DataFrame:
    # Train closes 10, 12, 11 | gap | 20, 18 before val_start; the scale is (2 + 1 + 2) / 3.
    timestamps = pd.to_datetime(
        ["2024-01-01 00:00", "2024-01-01 01:00", "2024-01-01 02:00", "2024-01-01 05:00",
         "2024-01-01 06:00", "2024-01-01 07:00"], utc=True,
    )  # fmt: skip
    return pd.DataFrame(
        {
            "timestamp": timestamps,
            "close": [10.0, 12.0, 11.0, 20.0, 18.0, 500.0],
            "segment": [0, 0, 0, 1, 1, 1],
        }
    )


SPLIT = {"val_start": "2024-01-01T07:00:00+00:00", "test_start": "2024-01-01T07:00:00+00:00"}


def _predictions(forecast: list[float]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "target_time": pd.date_range("2024-02-01", periods=4, freq="h", tz="UTC"),
            "last_close": [99.0, 100.0, 102.0, 101.0],
            "actual_close": [100.0, 102.0, 101.0, 105.0],
            "forecast_close": forecast,
            "naive_close": [99.0, 100.0, 102.0, 101.0],
        }
    )


@pytest.fixture
def predictions() -> dict[str, pd.DataFrame]:
    return {
        "lstm": _predictions([101.0, 101.0, 103.0, 104.0]),
        "ridge": _predictions([99.5, 100.5, 101.5, 102.0]),
    }


def test_metrics_by_hand_and_persistence_scores_exactly_one(predictions):
    report = compute_forecast_metrics(_features(), SPLIT, REPORTING, **predictions)
    assert list(report["models"]) == ["lstm", "ridge", "persistence"]
    assert report["mase_scale"]["value"] == pytest.approx(5 / 3)
    lstm, naive = report["models"]["lstm"], report["models"]["persistence"]
    assert lstm["mae"] == pytest.approx(5 / 4)
    assert naive["mae"] == pytest.approx(2.0)
    assert lstm["relative_mae"] == pytest.approx(5 / 8)
    assert naive["relative_mae"] == 1.0
    assert lstm["mase"] == pytest.approx((5 / 4) / (5 / 3))
    assert naive["mase"] == pytest.approx(2.0 / (5 / 3))
    assert lstm["directional_accuracy"]["value"] == 0.75
    assert naive["directional_accuracy"]["n"] == 0
    assert naive["diebold_mariano"]["p_value"] is None
    assert lstm["diebold_mariano"]["loss"] == REPORTING["dm_loss"]
    assert report["headline"] == {
        "lstm_relative_mae": 0.625,
        "ridge_relative_mae": pytest.approx(0.6875),
    }
    assert report["test_period"]["forecasts"] == 4


def test_metrics_refuse_predictions_on_different_windows(predictions):
    predictions["ridge"] = predictions["ridge"].iloc[1:]
    with pytest.raises(ValueError, match="same windows"):
        compute_forecast_metrics(_features(), SPLIT, REPORTING, **predictions)


def test_plots_are_figures_with_the_expected_series(predictions):
    figure = plot_forecast_vs_actual(REPORTING, **predictions)
    assert isinstance(figure, Figure)
    full, _, gain = figure.axes
    labels = [line.get_label() for line in full.get_lines()]
    assert labels == ["actual close", "persistence (last close)", "lstm forecast", "ridge forecast"]
    # LSTM saves 2 - 5/4 = 0.75 USD per window on average: 3 USD over the four windows.
    assert gain.get_lines()[0].get_ydata()[-1] == pytest.approx(3.0)

    histogram = plot_error_distribution(REPORTING, **predictions)
    assert len(histogram.axes[0].patches) == 3  # one step outline per series

    history = pd.DataFrame(
        {"epoch": [0, 1, 2], "train_loss": [1.0, 0.9, 0.8], "val_loss": [0.7, 0.6, 0.65]}
    )
    curves = plot_loss_curves(history)
    assert any("best epoch 1" in line.get_label() for line in curves.axes[0].get_lines())
    assert isinstance(plot_loss_curves(history.iloc[:0]), Figure)


def test_summary_logs_parity_relative_mae_and_dm(predictions, caplog):
    report = compute_forecast_metrics(_features(), SPLIT, REPORTING, **predictions)
    validation = {"passed": True, "max_abs_error": 1e-7, "windows_compared": 4}
    with caplog.at_level(logging.INFO, logger="lstm_forecast"):
        summary = summarise_run(
            report, REPORTING, lstm=validation, ridge={**validation, "passed": False}
        )
    text = caplog.text
    assert "lstm   ONNX parity passed" in text
    assert "ridge  ONNX parity FAILED" in text
    assert "relative MAE 0.6250" in text
    assert "DM p-value" in text
    assert "data/08_reporting/" in text
    assert summary["models"]["lstm"]["relative_mae"] == 0.625
    assert "data/08_reporting/forecast_metrics.json" in summary["reports"]


def test_summary_files_match_the_catalog():
    catalog = yaml.safe_load((PROJECT_ROOT / "conf/base/catalog.yml").read_text())
    paths = {entry["filepath"] for entry in catalog.values() if "filepath" in entry}
    for name in REPORTING["report_files"]:
        assert f"{REPORTING['reports_dir']}/{name}" in paths


def test_summary_runs_after_every_other_node():
    from kedro.pipeline import Pipeline

    from lstm_forecast.pipelines import export, features, ingestion, training, validation

    alone = create_pipeline()
    assert alone.nodes[-1].name == "summarise_run"
    everything = (
        sum(
            (
                stage.create_pipeline()
                for stage in (ingestion, features, training, export, validation)
            ),
            Pipeline([]),
        )
        + alone
    )
    groups = everything.grouped_nodes
    assert [node.name for node in groups[-1]] == ["summarise_run"]
