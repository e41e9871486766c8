"""Two real `kedro run`s in one project: one refused at once, the other completes.

A killed run's lock is taken over by the next run, and commands that only read (kedro-viz,
`kedro registry`) go on while a run holds the lock.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

from ..conftest import KEDRO, copy_project, kedro_env, run_kedro
from .test_run_lock import holder

pytestmark = pytest.mark.e2e

REFUSAL = "is writing to data/; wait for it, or run this one with --env/--params pointing at"


def _start(project: Path, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [KEDRO, *args],
        cwd=project,
        env=kedro_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _wait_for_holder(lock: Path, pid: int, timeout: float = 120) -> None:
    """Until ``pid`` has written itself into the lock file (its run has started)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if json.loads(lock.read_text()).get("pid") == pid:
                return
        except (OSError, ValueError):
            pass
        time.sleep(0.1)
    pytest.fail(f"pid {pid} never took {lock}")


def _flat(text: str) -> str:
    """Kedro's console wraps log lines at 80 columns: one line, single spaces."""
    return " ".join(text.split())


def _snapshot(data: Path) -> dict[str, str]:
    return {
        path.relative_to(data).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(data.rglob("*"))
        if path.is_file() and not path.name.startswith(".kedro-run")
    }


def test_two_runs_started_together_one_is_refused(tmp_path: Path) -> None:
    project = copy_project(tmp_path / "project")
    data = project / "data"
    first = _start(project, "run", "--env=smoke")
    try:
        _wait_for_holder(data / ".kedro-run.lock", first.pid)
        # A run that rewrites data/ and a side run (inference) both meet the lock.
        seconds = [
            _start(project, "run", "--env=smoke", f"--pipelines={p}")
            for p in ("ingestion", "inference")
        ]
        outputs = [second.communicate(timeout=300)[0] for second in seconds]
        assert first.poll() is None, "the first run ended before the second asked"
    finally:
        first_output = first.communicate(timeout=600)[0]
    assert first.returncode == 0, first_output[-4000:]
    for second, output in zip(seconds, outputs, strict=True):
        assert second.returncode == 1, output[-4000:]
        said = _flat(output)
        assert f"another kedro run (pid {first.pid}, started " in said
        assert '"kedro run --env=smoke") ' + REFUSAL in said
        assert "Traceback" not in output
    assert not list((data / "07_model_output").glob("inference_*"))  # the refused run wrote nothing
    assert not list((data / "08_reporting").glob("inference_*"))
    assert "Took over" not in first_output


def test_a_refused_run_writes_nothing_and_readers_go_on(
    smoke_project: Path, tmp_path: Path
) -> None:
    project = tmp_path / "project"
    shutil.copytree(smoke_project, project, ignore=shutil.ignore_patterns("build"))
    data = project / "data"
    before = _snapshot(data)
    with holder((data / ".kedro-run.lock", "exclusive")) as child:
        refused = run_kedro(project, "run", "--env=smoke", check=False)
        registry = run_kedro(project, "registry", "list")
        viz = run_kedro(project, "viz", "build", timeout=300)
    assert refused.returncode == 1
    assert f"another kedro run (pid {child.pid}, " in _flat(refused.stderr)
    assert _snapshot(data) == before  # not one dataset file touched
    assert "__default__" in registry.stdout
    assert "Success!" in viz.stdout, viz.stdout[-4000:]


def test_a_killed_runs_lock_is_taken_over(tmp_path: Path) -> None:
    project = copy_project(tmp_path / "project")
    lock = project / "data" / ".kedro-run.lock"
    killed = _start(project, "run", "--env=smoke")
    _wait_for_holder(lock, killed.pid)
    killed.send_signal(signal.SIGKILL)
    killed.communicate(timeout=60)
    assert json.loads(lock.read_text())["pid"] == killed.pid  # it could not clear it
    after = run_kedro(project, "run", "--env=smoke", "--pipelines=ingestion")
    said = _flat(after.stdout + after.stderr)
    assert "Took over the run lock" in said
    assert f"(pid {killed.pid}, started " in said
    assert "was killed" in said
    assert lock.read_text() == ""  # the second run ended cleanly
