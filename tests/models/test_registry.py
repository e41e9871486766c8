"""The model registry: lookups, and a third kind added in a test only, run end to end."""

from __future__ import annotations

import json

import pytest

from lstm_forecast import models
from tests.conftest import (
    PROJECT_ROOT,
    copy_project,
    kedro_cli_code,
    modules_loaded,
    run_python,
)

# Registers the test-only kind, then hands over to the real Kedro CLI. Nothing in this kind
# can be quantised: its int8 variant is dropped, not fatal.
_RUN_WITH_MEAN_KIND = kedro_cli_code(
    "run",
    "--env=smoke",
    "--params=variants.on_failure=drop",
    before=f"sys.path.insert(0, {str(PROJECT_ROOT)!r})\n"
    "from lstm_forecast import models\n"
    "models.register('mean', 'tests.models.mean_kind:KIND')",
)


def test_unknown_kind_names_the_registered_ones():
    with pytest.raises(KeyError, match=r"registered kinds: \['lstm', 'ridge'\]"):
        models.get("arima")


def test_kinds_load_lazily_without_torch():
    assert modules_loaded("from lstm_forecast import models; models.get('ridge')") == []


@pytest.mark.e2e
def test_a_third_kind_registered_in_a_test_trains_exports_validates_and_reports(tmp_path):
    project = copy_project(tmp_path / "project")
    run_python(_RUN_WITH_MEAN_KIND, project)
    report = json.loads((project / "data/08_reporting/mean_validation_report.json").read_text())
    assert report["passed"] and report["weight_check"]["passed"]
    assert (project / "data/06_models/mean.onnx").is_file()
    assert (project / "data/06_models/mean.json").is_file()
    variants = json.loads((project / "data/08_reporting/mean_variants_report.json").read_text())
    assert "Nothing" in json.dumps(variants)  # the int8 variant was dropped, and says why
    metrics = json.loads((project / "data/08_reporting/forecast_metrics.json").read_text())
    assert set(metrics["models"]) == {"lstm", "ridge", "mean"}
    summary = json.loads((project / "data/08_reporting/run_summary.json").read_text())
    assert summary["models"]["mean"]["verdict"].startswith("mean:")
