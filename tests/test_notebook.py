"""notebooks/explore.ipynb runs top to bottom against a project after a small run."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from .conftest import PROJECT_ROOT, kedro_env

pytestmark = pytest.mark.e2e

NOTEBOOK = PROJECT_ROOT / "notebooks" / "explore.ipynb"


def _text(cell) -> str:
    parts = []
    for output in cell.get("outputs", []):
        parts.append(output.get("text", ""))
        parts.extend(str(v) for k, v in output.get("data", {}).items() if k.startswith("text/"))
    return "".join(parts)


def test_committed_notebook_has_no_outputs() -> None:
    # Outputs would go stale with every run and bloat diffs; the test below makes them.
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    stored = [
        i for i, c in enumerate(notebook.cells) if c.get("outputs") or c.get("execution_count")
    ]
    assert not stored, f"cells {stored} of {NOTEBOOK.name} have stored outputs"


def test_notebook_runs_top_to_bottom(
    smoke_project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = tmp_path / "project"
    shutil.copytree(smoke_project, project, ignore=shutil.ignore_patterns("build"))
    shutil.copy2(NOTEBOOK, project / "notebooks" / NOTEBOOK.name)
    for name, value in kedro_env().items():
        monkeypatch.setenv(name, value)  # the kernel inherits them: no telemetry, one thread
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    client = NotebookClient(
        notebook,
        kernel_name="python3",  # the venv's ipykernel; jupyter_client runs it with sys.executable
        timeout=180,
        startup_timeout=120,
        # The notebook's folder, as when a user opens it: kedro.ipython finds the project above.
        resources={"metadata": {"path": str(project / "notebooks")}},
    )
    client.execute()  # raises CellExecutionError naming the failing cell

    code_cells = [c for c in notebook.cells if c.cell_type == "code"]
    assert all(c.execution_count for c in code_cells), "a code cell did not run"
    errors = [o for c in code_cells for o in c.outputs if o.output_type == "error"]
    assert not errors, errors

    text = "\n".join(_text(c) for c in code_cells)
    report = json.loads(
        (project / "data" / "08_reporting" / "data_quality_report.json").read_text()
    )
    for asset in ("BTCUSDT", "ETHUSDT"):  # the exchange's four outages, in both coins
        section = report["by_asset"][asset]
        assert section["gaps"] == 4
        assert f"{asset}: 4 gaps, {section['missing_bars']} missing bars" in text
    assert "window: ['batch', 'window', 6]" in text  # the ONNX input with its symbolic axes
    assert "forecast: ['batch', 6, 3]" in text  # horizon 6, quantiles 0.05/0.5/0.95
    assert "feature_names" in text and "target_scale" in text  # the contract table
    images = [o for c in code_cells for o in c.outputs if "image/png" in o.get("data", {})]
    assert len(images) == 2, "expected the close-price plot and the forecast plot"
