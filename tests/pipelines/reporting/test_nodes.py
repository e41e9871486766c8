"""Reporting nodes: scores and verdicts on forecasts whose quality is known by construction."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import pytest
import yaml
from matplotlib.figure import Figure

from lstm_forecast import models
from lstm_forecast.pipelines.reporting import create_pipeline
from lstm_forecast.pipelines.reporting.nodes import (
    compute_forecast_metrics,
    forecast_baselines,
    plot_calibration,
    plot_fan_chart,
    plot_skill_by_horizon,
    summarise_run,
)
from lstm_forecast.pipelines.reporting.params import ReportingParams
from lstm_forecast.timeseries import forecasts

from ...conftest import PROJECT_ROOT

REPORTING = ReportingParams.model_validate(
    yaml.safe_load((PROJECT_ROOT / "conf/base/parameters_reporting.yml").read_text())["reporting"]
)
LEVELS = (0.05, 0.5, 0.95)


def _model(stage_outputs: dict, quality: str) -> pd.DataFrame:
    """Test forecasts on the real test windows: an oracle band or a badly placed one."""
    table, test = stage_outputs["table"], stage_outputs["test"]
    ends = test["end_row"].to_numpy()
    close = table["close"].to_numpy()
    actual = close[ends[:, None] + np.arange(1, 4)[None, :]]
    if quality == "oracle":  # a narrow band around the realised close
        prices = actual[:, :, None] * np.array([0.999, 1.0, 1.001])[None, None, :]
    else:  # a median 10% off with a narrow band: far worse than any random walk
        prices = (
            (close[ends] * 1.1)[:, None, None] * np.array([0.999, 1.0, 1.001]) * np.ones((1, 3, 1))
        )
    return forecasts.to_frame(
        table["timestamp"].to_numpy()[ends], close[ends], prices, LEVELS, "1h", actual
    )


@pytest.fixture(scope="module")
def scored(feature_outputs):
    # Only the feature stage's outputs: no model is trained, so these tests stay fast.
    predictions = {"good": _model(feature_outputs, "oracle"), "bad": _model(feature_outputs, "bad")}
    baselines = forecast_baselines(
        feature_outputs["table"],
        feature_outputs["split"],
        feature_outputs["test"],
        REPORTING,
        **predictions,
    )
    return predictions, baselines, compute_forecast_metrics(baselines, REPORTING, **predictions)


def test_baselines_share_the_models_windows_and_have_the_last_close_as_median(scored):
    predictions, baselines, _ = scored
    assert set(baselines["model"]) == {"random_walk", "ewma", "garch"}
    for _, frame in baselines.groupby("model"):
        np.testing.assert_array_equal(frame["origin_time"], predictions["good"]["origin_time"])
        np.testing.assert_array_equal(frame["actual_close"], predictions["good"]["actual_close"])
    gaussian = baselines[baselines["model"] != "random_walk"]
    np.testing.assert_allclose(gaussian["q0.5"], gaussian["last_close"])


def test_the_oracle_beats_and_the_bad_model_loses_to_every_baseline(scored):
    _, _, metrics = scored
    for base in ("random_walk", "ewma", "garch"):
        good = metrics["models"]["good"]["by_horizon"]["1"]
        bad = metrics["models"]["bad"]["by_horizon"]["3"]
        assert good["crps_skill"][base] > 0.5 and good["diebold_mariano"][base]["statistic"] < 0
        assert bad["crps_skill"][base] < 0 and bad["diebold_mariano"][base]["statistic"] > 0
        assert good["diebold_mariano"][base]["p_value"] < 0.05
    assert metrics["models"]["good"]["by_horizon"]["2"]["coverage"]["0.9"]["coverage"] == 1.0
    assert metrics["models"]["bad"]["by_horizon"]["2"]["relative_mae"] > 1.0
    assert metrics["headline"]["good_coverage90_h1"] == 1.0
    assert set(metrics["headline"]) >= {"good_crps_skill_vs_garch_h3", "bad_dm_p_vs_ewma_h1"}


def test_summary_states_beats_and_loses_and_coverage(scored, caplog):
    _, _, metrics = scored
    reports = {name: {"passed": True, "max_abs_error": 1e-7} for name in ("good", "bad")}
    with caplog.at_level(logging.INFO):
        summary = summarise_run(metrics, REPORTING, **reports)
    good, bad = summary["models"]["good"]["verdict"], summary["models"]["bad"]["verdict"]
    assert "h=1 beats random_walk" in good and "h=3 beats garch" in good
    assert "90% interval covers 100.0% at h=3 (outside 88-92%)" in good
    assert "h=1 loses to ewma" in bad
    assert "Run summary" in caplog.text and good in caplog.text


def test_plots_are_figures(scored):
    predictions, baselines, metrics = scored
    for figure in (
        plot_fan_chart(baselines, REPORTING, **predictions),
        plot_calibration(metrics),
        plot_skill_by_horizon(metrics, REPORTING),
    ):
        assert isinstance(figure, Figure) and figure.axes


def test_metrics_refuse_predictions_on_different_windows(scored):
    predictions, baselines, _ = scored
    shifted = predictions["bad"].iloc[3:].reset_index(drop=True)
    with pytest.raises(ValueError, match="not on the same windows"):
        compute_forecast_metrics(baselines, REPORTING, good=predictions["good"], bad=shifted)


def test_summary_files_match_the_catalog():
    catalog = yaml.safe_load((PROJECT_ROOT / "conf/base/catalog.yml").read_text())
    paths = set()
    for name, entry in catalog.items():
        if isinstance(entry, dict) and "filepath" in entry:
            kinds = models.names() if "{kind}" in name else [""]
            paths |= {entry["filepath"].replace("{kind}", kind) for kind in kinds}
    for name in REPORTING.report_files:
        assert f"{REPORTING.reports_dir}/{name}" in paths


def test_summary_runs_after_every_other_node():
    from kedro.pipeline import Pipeline

    from lstm_forecast.pipelines import export, features, ingestion, training, validation

    alone = create_pipeline()
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
    # `Pipeline.nodes` is the order the sequential runner runs them in.
    assert [node.name for node in everything.nodes][-1] == "summarise_run"
