"""Two real `kedro run`s in one project: one refused at once, the other completes.

A killed run's lock is taken over by the next run, and commands that only read (kedro-viz,
`kedro registry`, the forecasting service) go on while a run holds the lock.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

from lstm_forecast.integrations.lock_file import FileLock

from ..conftest import KEDRO, copy_project, kedro_env, run_kedro
from ..serving.conftest import Server, post_json, window
from .test_run_lock import holder

pytestmark = pytest.mark.e2e

REFUSAL = "is writing to data/; wait for it, or run this one with --env/--params pointing at"
# Put first on a run's path: the run's lock hook waits until every party has reached it, so
# the runs ask for the lock at the same instant (no head start from a faster start-up).
BARRIER = """
import os, time
from pathlib import Path
from lstm_forecast.integrations import run_lock

_acquire = run_lock.RunLockHooks.acquire

def acquire(self, *args, **kwargs):
    folder = Path(os.environ["LOCK_BARRIER"])
    (folder / str(os.getpid())).touch()
    deadline = time.monotonic() + 120
    while len(list(folder.iterdir())) < int(os.environ["LOCK_PARTIES"]):
        if time.monotonic() > deadline:
            raise RuntimeError("the other run never reached the lock")
        time.sleep(0.005)
    return _acquire(self, *args, **kwargs)

run_lock.RunLockHooks.acquire = acquire
"""


def _start(project: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [KEDRO, *args],
        cwd=project,
        env=env or kedro_env(),
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


def _barrier_env(folder: Path, parties: int) -> dict[str, str]:
    (folder / "barrier").mkdir(parents=True)
    (folder / "sitecustomize.py").write_text(BARRIER)
    env = kedro_env()
    path = os.pathsep.join(filter(None, [str(folder), env.get("PYTHONPATH")]))
    return env | {
        "PYTHONPATH": path,
        "LOCK_BARRIER": str(folder / "barrier"),
        "LOCK_PARTIES": str(parties),
    }


def test_two_runs_started_together_one_is_refused(tmp_path: Path) -> None:
    project = copy_project(tmp_path / "project")
    env = _barrier_env(tmp_path / "barrier", parties=2)
    runs = [_start(project, "run", "--env=smoke", "--pipelines=ingestion", env=env) for _ in "ab"]
    outputs = [run.communicate(timeout=300)[0] for run in runs]
    assert sorted(os.listdir(tmp_path / "barrier" / "barrier")) == sorted(
        str(run.pid) for run in runs
    )  # both reached the lock, together
    codes = [run.returncode for run in runs]
    assert sorted(codes) == [0, 1], "\n\n".join(output[-3000:] for output in outputs)
    winner, loser = (0, 1) if codes[0] == 0 else (1, 0)
    said = _flat(outputs[loser])
    assert f"another kedro run (pid {runs[winner].pid}, started " in said
    assert '"kedro run --env=smoke --pipelines=ingestion") ' + REFUSAL in said
    assert "Traceback" not in outputs[loser]
    assert "Took over" not in outputs[winner]
    assert (project / "data" / ".kedro-run.lock").read_text() == ""  # the winner ended cleanly
    assert (project / "data" / "02_intermediate" / "candles.parquet").is_file()


def test_a_refused_run_writes_nothing_and_readers_go_on(
    smoke_project: Path, tmp_path: Path
) -> None:
    project = tmp_path / "project"
    shutil.copytree(smoke_project, project, ignore=shutil.ignore_patterns("build"))
    data = project / "data"
    before = _snapshot(data)
    with holder((data / ".kedro-run.lock", "exclusive")) as child:
        # While another process holds the lock as a run does: the service starts and
        # forecasts, a run that rewrites data/ and a side run (inference) are refused, and
        # the other readers go on. The kedro commands are forks of the pre-imported process.
        server = Server(project, kedro_env(), {})
        try:
            said = {
                "run": run_kedro(project, "run", "--env=smoke", check=False),
                "inference": run_kedro(
                    project, "run", "--env=smoke", "--pipelines=inference", check=False
                ),
                "registry": run_kedro(project, "registry", "list", check=False),
                "viz": run_kedro(project, "viz", "build", check=False, timeout=300),
            }
            status, answer = post_json(server.url + "/v1/forecast", {"candles": window(project)})
        finally:
            server.stop()
        probe = FileLock(data / ".kedro-run.lock")
        still_held = not probe.acquire()
        probe.release()
    assert status == 200, answer
    assert answer["model"]["kind"] == "lstm" and len(answer["forecast"]) > 0
    assert still_held  # serving neither took nor dropped the holder's lock
    for name in ("run", "inference"):
        refused = said[name]
        assert refused.returncode == 1, refused.stderr[-4000:]
        assert f"another kedro run (pid {child.pid}, " in _flat(refused.stderr)
        assert "Traceback" not in refused.stderr
    assert _snapshot(data) == before  # not one dataset file touched
    assert said["registry"].returncode == 0 and "__default__" in said["registry"].stdout
    viz = said["viz"]
    assert viz.returncode == 0 and "Success!" in viz.stdout, viz.stdout[-4000:] + viz.stderr[-2000:]


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
