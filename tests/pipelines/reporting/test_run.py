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
FIGURES = ("forecast_fan_chart", "calibration", "crps_skill_by_horizon", "loss_curves")


@pytest.fixture(scope="module")
def reported(smoke_project: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    project = tmp_path_factory.mktemp("reporting") / "project"
    shutil.copytree(smoke_project, project, symlinks=True)
    result = run_kedro(project, "run", "--env=smoke", "--pipelines=reporting")
    return project, result.stdout + result.stderr


def test_forecast_metrics_cover_every_model_baseline_and_horizon(reported):
    project, _ = reported
    report = json.loads((project / "data/08_reporting/forecast_metrics.json").read_text())
    assert set(report["models"]) == {"lstm", "ridge"}
    assert set(report["baselines"]) == {"random_walk", "ewma", "garch", "har"}
    assert report["horizon"] == 6 and report["quantiles"] == [0.05, 0.5, 0.95]
    for scores in (report["models"] | report["baselines"]).values():
        assert sorted(scores["by_horizon"], key=int) == [str(h) for h in range(1, 7)]
        for entry in scores["by_horizon"].values():
            assert entry["crps"] > 0 and 0 <= entry["coverage"]["0.9"]["coverage"] <= 1
            for dm in entry["diebold_mariano"].values():
                assert dm["p_value"] is None or 0 <= dm["p_value"] <= 1


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
    assert "Run summary:" in text and "lstm: h=1" in text and "90% interval covers" in text
    assert text.rfind("Run summary") > text.rfind("Completed node: plot_")
    summary = json.loads((project / "data/08_reporting/run_summary.json").read_text())
    assert set(summary["models"]) == {"lstm", "ridge"}
    assert all(model["onnx_parity_passed"] for model in summary["models"].values())
