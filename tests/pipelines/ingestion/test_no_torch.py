"""`kedro run --pipelines=ingestion` never imports torch: it starts in a couple of seconds."""

from __future__ import annotations

import pytest

from tests.conftest import copy_project, kedro_cli_code, modules_loaded


def _torch_modules_after(project, pipeline: str) -> list[str]:
    return modules_loaded(
        kedro_cli_code("run", "--env=smoke", f"--pipelines={pipeline}"), cwd=project
    )


@pytest.mark.e2e
def test_the_ingestion_pipeline_runs_without_importing_torch(tmp_path):
    project = copy_project(tmp_path / "project")
    assert _torch_modules_after(project, "ingestion") == []
    # The probe can see torch: the training pipeline does import it.
    assert "torch" in _torch_modules_after(project, "ingestion,features,training")
