"""The model registry: lookups, and a third kind added in a test only, run end to end."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from lstm_forecast import models
from tests.conftest import PROJECT_ROOT, copy_project, kedro_env

# Registers the test-only kind, then hands over to the real Kedro CLI.
_LAUNCHER = (
    "import sys; sys.path.insert(0, {root!r});"
    "from lstm_forecast import models;"
    "models.register('mean', 'tests.models.mean_kind:KIND');"
    "from kedro.framework.cli import main;"
    # Nothing in this kind can be quantised: its int8 variant is dropped, not fatal.
    "sys.argv = ['kedro', 'run', '--env=smoke', '--params=variants.on_failure=drop'];"
    "main()"
)


def test_unknown_kind_names_the_registered_ones():
    with pytest.raises(KeyError, match=r"registered kinds: \['lstm', 'ridge'\]"):
        models.get("arima")


def test_kinds_load_lazily_without_torch():
    code = (
        "import sys; from lstm_forecast import models; models.get('ridge');"
        "print('torch' in sys.modules)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "False"


@pytest.mark.e2e
def test_a_third_kind_registered_in_a_test_trains_exports_validates_and_reports(tmp_path):
    project = copy_project(tmp_path / "project")
    result = subprocess.run(
        [sys.executable, "-c", _LAUNCHER.format(root=str(PROJECT_ROOT))],
        cwd=project,
        env=kedro_env(),
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-4000:]
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
