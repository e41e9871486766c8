"""Start-up: the `kedro` command imports MLflow, torch and Lightning only when it needs them.

Each command runs the real Kedro CLI (``kedro.framework.cli.main``, with the project's
``kedro.init`` entry point) in a subprocess that writes, at exit, which of the heavy
libraries ended up in ``sys.modules``. kedro-mlflow's CLI stands in until a ``kedro mlflow``
command runs, and its hook entry point is never loaded (``lazy_kedro_mlflow``).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from lstm_forecast.integrations.process_gc import THRESHOLDS
from tests.conftest import copy_project, kedro_env

pytestmark = pytest.mark.e2e

HEAVY = ("mlflow", "kedro_mlflow", "torch", "lightning", "pytorch_lightning")
# What only the service, exports or data need; listing `kedro serve` must not import it.
SERVICE_AND_DATA = ("fastapi", "uvicorn", "onnx", "onnxruntime", "pandas", "numpy")
# argv: the JSON file to write, then the kedro arguments.
_LAUNCHER = """
import atexit, json, sys

out = sys.argv[1]
heavy = HEAVY_NAMES

def record():
    import gc
    loaded = sorted(name for name in sys.modules if name.split(".")[0] in heavy)
    with open(out, "w") as handle:
        json.dump({"imported": loaded, "gc": [gc.get_threshold(), gc.get_freeze_count()]}, handle)

atexit.register(record)
sys.argv = ["kedro", *sys.argv[2:]]
from kedro.framework.cli import main
main()
""".replace("HEAVY_NAMES", repr(HEAVY + SERVICE_AND_DATA))
# MLflow's warning about kedro-mlflow's untyped `predict`, a dozen lines when not muted.
_MLFLOW_WARNING = "predict"


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return copy_project(tmp_path_factory.mktemp("startup") / "project")


def _kedro(project: Path, *args: str) -> tuple[subprocess.CompletedProcess[str], list[str]]:
    """Run `kedro *args` in ``project``; its output and the heavy modules it imported."""
    result, record = _kedro_record(project, *args)
    return result, record["imported"]


def _kedro_record(project: Path, *args: str) -> tuple[subprocess.CompletedProcess[str], dict]:
    """Run `kedro *args` in ``project``; its output and what it recorded at exit."""
    record = project / "imported.json"
    record.unlink(missing_ok=True)
    result = subprocess.run(
        [sys.executable, "-c", _LAUNCHER, str(record), *args],
        cwd=project,
        env=kedro_env(),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result, json.loads(record.read_text())


def test_the_kedro_command_collects_garbage_less_often_and_not_at_exit(project: Path):
    _, record = _kedro_record(project, "--help")
    thresholds, frozen = record["gc"]
    assert tuple(thresholds) == THRESHOLDS != (700, 10, 10)
    # gc.freeze ran at exit before this record was written: the heap is in the permanent
    # generation, which the interpreter's exit sweeps skip.
    assert frozen > 10_000


def test_kedro_help_imports_no_mlflow_torch_or_lightning(project: Path):
    result, imported = _kedro(project, "--help")
    # kedro-mlflow's module names may be present only as the stand-in for its CLI; nor are
    # the service's FastAPI and onnx, or pandas, imported to list `kedro serve`.
    assert [m for m in imported if m.split(".")[0] != "kedro_mlflow"] == []
    assert set(imported) <= {"kedro_mlflow.framework.cli.cli"}
    assert "mlflow  Use mlflow-specific commands inside kedro project." in result.stdout
    assert "run" in result.stdout
    assert "serve" in result.stdout
    assert _MLFLOW_WARNING not in result.stderr
    assert "WARNING" not in result.stderr


def test_an_untracked_ingestion_run_imports_no_mlflow_torch_or_lightning(project: Path):
    _, imported = _kedro(project, "run", "--pipelines=ingestion", "--params=tracking.enabled=false")
    heavy = [m for m in imported if m.split(".")[0] in HEAVY]
    assert [m for m in heavy if m != "kedro_mlflow.framework.cli.cli"] == []
    assert (project / "data/02_intermediate/candles.parquet").is_file()


def test_kedro_mlflow_commands_load_mlflow_when_asked_for_and_quietly(project: Path):
    result, imported = _kedro(project, "mlflow", "--help")
    for command in ("init", "ui", "modelify"):
        assert f"  {command} " in result.stdout
    assert "mlflow" in imported
    assert "torch" not in imported
    assert _MLFLOW_WARNING not in result.stderr

    result, _ = _kedro(project, "mlflow", "init", "--env=local")
    written = project / "conf/local/mlflow.yml"
    assert written.is_file(), result.stdout + result.stderr
    assert "mlflow_tracking_uri" in written.read_text()
    assert _MLFLOW_WARNING not in result.stderr
