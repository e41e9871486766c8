"""The run lock, piece by piece: scopes, refusals, a dead holder's lock taken over.

The lock is a POSIX record lock, which belongs to a process: another holder must be
another process, so a small Python child holds it here (``holder``).
"""

from __future__ import annotations

import json
import logging
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from kedro.io import DataCatalog
from kedro.pipeline import Node, Pipeline

from lstm_forecast.integrations import run_lock
from lstm_forecast.integrations.lock_file import FileLock, Holder, command_line
from lstm_forecast.integrations.run_lock import RunLockedError, RunLockHooks, data_root, plan

_HOLD = """
import sys
from pathlib import Path
from lstm_forecast.integrations.lock_file import FileLock
locks = [FileLock(Path(p), shared=s == "shared") for p, s in zip(sys.argv[1::2], sys.argv[2::2])]
print(all(lock.acquire() for lock in locks), flush=True)
sys.stdin.read()
"""


@contextmanager
def holder(*locks: tuple[Path, str]) -> Iterator[subprocess.Popen[str]]:
    """Another process holding ``(path, "exclusive"|"shared")`` locks until the block ends."""
    argv = [str(item) for lock in locks for item in lock]
    child = subprocess.Popen(
        [sys.executable, "-c", _HOLD, *argv],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout.readline().strip() == "True"
        yield child
    finally:
        child.stdin.close()
        child.wait(timeout=30)


def _node(inputs: list[str], output: str) -> Node:
    return Node(lambda *args: 1, inputs or None, output, name=f"make_{output}")


def _catalog(tmp_path: Path, *names: str) -> DataCatalog:
    return DataCatalog.from_config(
        {
            name: {"type": "json.JSONDataset", "filepath": str(tmp_path / "data" / "08" / name)}
            for name in names
        }
    )


def test_a_second_writer_is_refused_with_who_holds_the_lock(tmp_path: Path) -> None:
    path = tmp_path / "data" / ".kedro-run.lock"
    mine = FileLock(path)
    assert mine.acquire()  # this process: the text names it
    text = json.loads(path.read_text())
    assert text["pid"] == os.getpid()
    assert text["host"] == socket.gethostname()
    mine.release()
    assert path.read_text() == ""  # a clean end leaves no holder behind
    with holder((path, "exclusive")) as child:
        refused = FileLock(path)
        assert not refused.acquire()
        assert not refused.held
        message = str(run_lock.refusal(tmp_path / "data", refused))
    assert message.startswith(f"another kedro run (pid {child.pid}, started ")
    assert f"{tmp_path.as_posix()}/data/; wait for it, or run this one with --env/--params" in (
        message
    )
    assert FileLock(path).acquire()  # the holder ended: free again


_LOCK_THEN_WRITE = """
import fcntl, json, os, socket, sys, time
fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT, 0o644)
fcntl.lockf(fd, fcntl.LOCK_EX)
print("locked", flush=True)
if float(sys.argv[2]) >= 0:  # a negative delay: the details are never written
    time.sleep(float(sys.argv[2]))
    details = dict(pid=os.getpid(), host=socket.gethostname(), command="kedro run", started="x")
    os.pwrite(fd, json.dumps(details).encode(), 0)
sys.stdin.read()
"""


@pytest.mark.parametrize("delay", [0.3, -1.0], ids=["written late", "never written"])
def test_a_run_refused_before_the_holder_wrote_its_details_waits_for_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, delay: float
) -> None:
    # The holder locks first and writes who it is a moment later; a run refused in that
    # moment waits for the details (up to DETAILS_WAIT_S) instead of naming nobody.
    monkeypatch.setattr(run_lock, "DETAILS_WAIT_S", 1.5)
    path = tmp_path / "data" / ".kedro-run.lock"
    path.parent.mkdir()
    child = subprocess.Popen(
        [sys.executable, "-c", _LOCK_THEN_WRITE, str(path), str(delay)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout.readline().strip() == "locked"
        refused = FileLock(path)
        assert not refused.acquire()
        assert refused.last_text == ""  # refused before the details were there
        message = str(run_lock.refusal(tmp_path / "data", refused))
    finally:
        child.stdin.close()
        child.wait(timeout=30)
    if delay >= 0:
        assert message.startswith(f'another kedro run (pid {child.pid}, started x, "kedro run")')
    else:
        assert message.startswith("another kedro run (details not written yet) is writing")


def test_a_killed_holders_lock_is_taken_over_and_logged(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        check=True,
        capture_output=True,
        text=True,
    )
    dead_pid = int(dead.stdout)
    path = tmp_path / ".kedro-run.lock"
    stale = Holder(
        dead_pid, socket.gethostname(), "kedro run --env=smoke", "2026-01-01 00:00:00 UTC"
    )
    path.write_text(json.dumps(stale.__dict__))
    lock = FileLock(path)
    with caplog.at_level(logging.WARNING, logger="lstm_forecast.integrations.lock_file"):
        assert lock.acquire()
    assert f"its holder (pid {dead_pid}, started 2026-01-01 00:00:00 UTC" in caplog.text
    assert "was killed" in caplog.text
    assert json.loads(path.read_text())["pid"] == os.getpid()
    lock.release()


def test_side_runs_share_the_data_lock_and_exclude_their_own_kind(tmp_path: Path) -> None:
    root = tmp_path / "data"
    main = root / ".kedro-run.lock"
    side = root / ".kedro-run-backtest.lock"
    with holder((side, "exclusive"), (main, "shared")) as child:
        # Another scope runs beside it ...
        assert FileLock(root / ".kedro-run-inference.lock").acquire()
        shared = FileLock(main, shared=True)
        assert shared.acquire()
        shared.release()
        # ... a second backtest does not, nor a run that rewrites everything.
        assert not FileLock(side).acquire()
        writer = FileLock(main)
        assert not writer.acquire()
        assert f"(pid {child.pid}," in str(run_lock.refusal(root, writer))


def test_the_hook_refuses_before_any_other_hook_and_releases_after(tmp_path: Path) -> None:
    pipeline = Pipeline([_node([], "report")])
    catalog = _catalog(tmp_path, "report")
    hooks = RunLockHooks()
    with holder((tmp_path / "data" / ".kedro-run.lock", "exclusive")):
        with pytest.raises(RunLockedError, match="another kedro run"):
            hooks.acquire(pipeline, catalog, tmp_path)
        assert not hooks._held  # nothing half-held after a refusal
    hooks.acquire(pipeline, catalog, tmp_path)
    assert [lock.path.name for lock in hooks._held] == [".kedro-run.lock"]
    hooks.release()
    assert not hooks._held


def test_the_plan_follows_what_the_run_writes(tmp_path: Path) -> None:
    catalog = _catalog(tmp_path, "features", "inference_forecasts", "backtest_report")
    root = tmp_path / "data"
    assert plan(Pipeline([_node([], "features")]), catalog, tmp_path) == run_lock.LockPlan(
        root, None
    )
    side = Pipeline(
        [
            _node(["features"], "inference.memory"),
            _node(["inference.memory"], "inference_forecasts"),
        ]
    )
    assert plan(side, catalog, tmp_path) == run_lock.LockPlan(root, "inference")
    both = Pipeline([_node([], "inference_forecasts"), _node([], "backtest_report")])
    assert plan(both, catalog, tmp_path).scope is None  # two scopes: the whole folder
    assert plan(Pipeline([_node([], "only_in_memory")]), catalog, tmp_path) is None


def test_the_lock_sits_in_the_top_data_folder(tmp_path: Path) -> None:
    project = tmp_path / "project"
    written = [project / "data" / "08_reporting" / "a.json", Path("data/02_intermediate/b.parquet")]
    assert data_root(written[:1], project) == project / "data"
    assert data_root(written, project) == project / "data"
    elsewhere = [tmp_path / "other" / "x" / "a.json", tmp_path / "other" / "y" / "b.json"]
    assert data_root(elsewhere, project) == tmp_path / "other"


def test_the_command_reads_as_typed() -> None:
    assert (
        command_line(["/venv/bin/kedro", "run", "--pipelines=x y"]) == "kedro run '--pipelines=x y'"
    )
    main = "/src/lstm_forecast/__main__.py"
    assert command_line([main, "--env=smoke"]) == "python -m lstm_forecast --env=smoke"
