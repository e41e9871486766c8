"""The reporting pipeline through the real `kedro run`, on a copy of the smoke run's outputs."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from ...conftest import run_kedro

pytestmark = pytest.mark.e2e

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
FIGURES = ("forecast_vs_actual", "forecast_error_distribution", "loss_curves")


@pytest.fixture(scope="module")
def reported(smoke_project: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    # Works whether or not `__default__` already ran reporting: run it again on a copy.
    project = tmp_path_factory.mktemp("reporting") / "project"
    shutil.copytree(smoke_project, project, symlinks=True)
    result = run_kedro(project, "run", "--env=smoke", "--pipelines=reporting")
    return project, result.stdout + result.stderr


def test_forecast_metrics_cover_every_model_and_persistence(reported):
    project, _ = reported
    report = json.loads((project / "data/08_reporting/forecast_metrics.json").read_text())
    models = report["models"]
    assert set(models) == {"lstm", "ridge", "persistence"}
    assert models["persistence"]["relative_mae"] == 1.0
    n = report["test_period"]["forecasts"]
    for name, scores in models.items():
        assert scores["n"] == n
        assert 0 < scores["mae"] <= scores["rmse"]
        assert 0 < scores["mape_pct"] < 50
        assert scores["mase"] > 0
        if name != "persistence":
            accuracy = scores["directional_accuracy"]
            assert 0 <= accuracy["ci95_low"] <= accuracy["value"] <= accuracy["ci95_high"] <= 1
            assert 0 <= scores["diebold_mariano"]["p_value"] <= 1
            assert scores["relative_mae"] == pytest.approx(
                scores["mae"] / models["persistence"]["mae"]
            )


def test_figures_are_png_images(reported):
    project, _ = reported
    for name in FIGURES:
        image = (project / "data/08_reporting" / f"{name}.png").read_bytes()
        assert image.startswith(PNG_MAGIC), name
        assert len(image) > 10_000, name


def test_the_run_ends_with_the_summary(reported):
    project, log = reported
    # Undo rich's layout: drop the `file.py:123` column and re-join wrapped lines.
    text = " ".join(re.sub(r"\s\S+\.py:\d+", " ", log).split())
    assert "Run summary: test split" in text
    assert "lstm ONNX parity passed" in text
    assert "relative MAE" in text
    assert "DM p-value" in text
    assert text.rfind("Run summary") > text.rfind("Completed node: plot_")
    summary = json.loads((project / "data/08_reporting/run_summary.json").read_text())
    assert set(summary["models"]) == {"lstm", "ridge"}
    assert all(model["onnx_parity_passed"] for model in summary["models"].values())
