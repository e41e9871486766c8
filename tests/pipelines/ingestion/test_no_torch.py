"""`kedro run --pipelines=ingestion` never imports torch: it starts in a couple of seconds."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.conftest import copy_project, kedro_env

_TORCH = ["torch", "pytorch_lightning", "lightning", "torchmetrics", "onnxscript"]

# Runs the real Kedro CLI in this interpreter, then reports which torch modules it loaded.
_LAUNCHER = (
    "import atexit, json, sys;"
    "atexit.register(lambda: print('LOADED=' + json.dumps(sorted("
    "m for m in sys.modules if m.split('.')[0] in {torch!r}))));"
    "from kedro.framework.cli import main;"
    "sys.argv = ['kedro', 'run', '--env=smoke', '--pipelines={pipeline}'];"
    "main()"
)


def _torch_modules_after(project, pipeline: str) -> list[str]:
    result = subprocess.run(
        [sys.executable, "-c", _LAUNCHER.format(torch=_TORCH, pipeline=pipeline)],
        cwd=project,
        env=kedro_env(),
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    line = [x for x in result.stdout.splitlines() if x.startswith("LOADED=")][-1]
    return json.loads(line.removeprefix("LOADED="))


@pytest.mark.e2e
def test_the_ingestion_pipeline_runs_without_importing_torch(tmp_path):
    project = copy_project(tmp_path / "project")
    assert _torch_modules_after(project, "ingestion") == []
    # The probe can see torch: the training pipeline does import it.
    assert "torch" in _torch_modules_after(project, "ingestion,features,training")
