"""Fixtures shared by the whole suite: copies of the project driven by the real `kedro` CLI."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import pytest

from lstm_forecast.integrations.library_warnings import _LIBRARY_WARNINGS

PROJECT_ROOT = Path(__file__).resolve().parents[1]
KEDRO = str(Path(sys.executable).parent / "kedro")
CANDLES_DIR = PROJECT_ROOT / "data" / "01_raw" / "candles"
RAW_CSV = CANDLES_DIR / "BTCUSDT.csv"
# What "imports torch" means for the torch-free checks.
TORCH_MODULES = ("torch", "pytorch_lightning", "lightning", "torchmetrics", "onnxscript")
# A sitecustomize.py that, put first on sys.path, makes every import of the torch family
# fail, as on a machine where only onnxruntime, numpy and pandas are installed.
BLOCK_TORCH = """
import sys

class _RefuseTorch:
    blocked = {"torch", "pytorch_lightning", "lightning", "torchmetrics"}

    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in self.blocked:
            raise ImportError(f"{name} is not installed here (blocked by the test)")
        return None

sys.meta_path.insert(0, _RefuseTorch())
"""

DATA_LAYERS = (
    "01_raw",
    "02_intermediate",
    "03_primary",
    "04_feature",
    "05_model_input",
    "06_models",
    "07_model_output",
    "08_reporting",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # A test that reads the session's smoke run starts a `kedro run`: it is end-to-end, and
    # `make test-fast` (-m "not e2e") leaves it out.
    for item in items:
        if "smoke_project" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.e2e)


def pytest_configure(config: pytest.Config) -> None:
    # pytest resets warning filters for each test; reinstate the package's list of library
    # warnings nobody can act on, so the summary shows only warnings worth reading.
    for category, message in _LIBRARY_WARNINGS:
        config.addinivalue_line("filterwarnings", f"ignore:{message}:{category.__name__}")


def copy_project(destination: Path) -> Path:
    """Copy what `kedro run` needs (not outputs, not conf/local) into ``destination``.

    Tests run there, so they never touch the checkout's own data/ outputs.
    """
    destination.mkdir(parents=True, exist_ok=True)
    for name in ("pyproject.toml", ".telemetry"):
        shutil.copy2(PROJECT_ROOT / name, destination / name)
    shutil.copytree(
        PROJECT_ROOT / "conf",
        destination / "conf",
        ignore=lambda folder, names: [
            n for n in names if Path(folder).name == "local" and n != ".gitkeep"
        ],
    )
    if (PROJECT_ROOT / "notebooks").is_dir():
        shutil.copytree(PROJECT_ROOT / "notebooks", destination / "notebooks")
    # Kedro insists on the project's source folder; the package itself is installed.
    (destination / "src").mkdir(exist_ok=True)
    for layer in DATA_LAYERS:
        (destination / "data" / layer).mkdir(parents=True, exist_ok=True)
    shutil.copytree(CANDLES_DIR, destination / "data" / "01_raw" / "candles")
    return destination


def kedro_env() -> dict[str, str]:
    """The environment for a `kedro` subprocess: telemetry off, one thread per library."""
    return {
        **os.environ,
        "KEDRO_DISABLE_TELEMETRY": "true",
        "DO_NOT_TRACK": "1",
        "OMP_NUM_THREADS": "1",
    }


def run_command(
    argv: Sequence[str], cwd: Path | None = None, *, check: bool = True, timeout: float = 600
) -> subprocess.CompletedProcess[str]:
    """Run a command as the tests' subprocesses all run (telemetry off, one thread per
    library); on an unexpected exit, fail with the end of its output."""
    result = subprocess.run(
        list(argv),
        cwd=cwd,
        env=kedro_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if check and result.returncode != 0:
        pytest.fail(
            f"`{' '.join(argv)[:300]}` exited {result.returncode}:\n"
            f"{result.stdout[-4000:]}\n{result.stderr[-6000:]}"
        )
    return result


def run_kedro(
    project: Path, *args: str, check: bool = True, timeout: float = 600
) -> subprocess.CompletedProcess[str]:
    """Run the real `kedro` CLI in ``project``; on an unexpected exit, show its output."""
    return run_command([KEDRO, *args], project, check=check, timeout=timeout)


def kedro_cli_code(*args: str, before: str = "") -> str:
    """Python source that runs ``before``, then the real Kedro CLI with ``args``, in one
    interpreter (so a test can register a kind first, or see what the run imported)."""
    return (
        f"import sys\n{before}\nfrom kedro.framework.cli import main\n"
        f"sys.argv = ['kedro', *{list(args)!r}]\nmain()"
    )


def modules_loaded(code: str, roots: Iterable[str] = TORCH_MODULES, **kwargs: Any) -> list[str]:
    """The modules under ``roots`` that running ``code`` in a fresh interpreter imported
    (reported at exit, so it also covers code that ends in ``sys.exit``)."""
    probe = (
        "import atexit, json, sys\n"
        "atexit.register(lambda: print('LOADED=' + json.dumps(sorted("
        f"m for m in sys.modules if m.split('.')[0] in {sorted(set(roots))!r}))))\n"
        f"{code}"
    )
    result = run_command([sys.executable, "-c", probe], **kwargs)
    line = [x for x in result.stdout.splitlines() if x.startswith("LOADED=")][-1]
    return json.loads(line.removeprefix("LOADED="))


@pytest.fixture(scope="session")
def smoke_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the project after one full `kedro run --env=smoke`; shared, do not modify.

    Tests that change outputs should make their own copy with ``copy_project``.
    """
    project = copy_project(tmp_path_factory.mktemp("smoke") / "project")
    run_kedro(project, "run", "--env=smoke")
    return project
