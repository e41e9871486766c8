"""`kedro run` publishes variants that passed, and stops with the figures when one did not."""

from __future__ import annotations

import json
import shutil

import onnx
import pytest

from lstm_forecast.onnx.optimisation import quantised_ops
from tests.conftest import run_kedro

PUBLISHED = {
    "lstm": ("model", "forecaster"),
    "ridge": ("ridge", "ridge.forecaster"),
}


@pytest.mark.e2e
def test_the_default_run_publishes_variants_that_passed(smoke_project):
    models_dir = smoke_project / "data/06_models"
    for kind, stems in PUBLISHED.items():
        for report_name in (f"{kind}_variants_report", f"{kind}_forecaster_variants_report"):
            report = json.loads(
                (smoke_project / f"data/08_reporting/{report_name}.json").read_text()
            )
            assert report["passed"], report
            assert {e["verdict"] for e in report["variants"].values()} == {"passed"}
        for stem in stems:
            int8 = onnx.load(models_dir / f"{stem}.int8.onnx")
            assert (models_dir / f"{stem}.opt.onnx").is_file()
            if kind == "lstm":
                assert quantised_ops(int8).get("DynamicQuantizeLSTM") == 1


@pytest.mark.e2e
def test_a_variant_outside_its_tolerance_fails_the_run(smoke_project, tmp_path):
    project = tmp_path / "project"
    shutil.copytree(smoke_project, project)
    for stale in project.glob("data/06_models/*.int8.onnx"):
        stale.unlink()
    result = run_kedro(
        project,
        "run",
        "--env=smoke",
        "--pipelines=variants",
        "--params=variants.tolerance.int8.max_crps_change=0.0",
        check=False,
    )
    assert result.returncode != 0
    assert "max_crps_change" in result.stdout + result.stderr
    assert not list(project.glob("data/06_models/*.int8.onnx"))
    report = json.loads((project / "data/08_reporting/lstm_variants_report.json").read_text())
    assert report["variants"]["int8"]["verdict"] == "failed"
