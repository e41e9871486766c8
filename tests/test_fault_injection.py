"""Kill `kedro run` in the middle of every dataset write: data/ is never left torn.

For each dataset the smoke run writes (read from the pipeline and the catalog, so datasets
added later are covered), a run of the node that writes it is killed with SIGKILL once half
of that dataset's bytes have reached the disk (``LSTM_FORECAST_FAULT=<dataset>:<bytes>``,
see ``lstm_forecast.datasets._faults``), and once more just before the rename that would
publish ``model.onnx``. After each kill: the dataset's previous file is byte-identical, the
bytes written so far sit in a temporary file beside it, and every dataset path holds a
complete file (unchanged, or rewritten whole and loadable through the catalog). The next
`kedro run` removes the temporary files and succeeds (one run, in the first copy, after the
second copy's leftovers are moved beside the same datasets there).

The killed runs are Kedro sessions forked from a process that imported everything once
(tests/_kedro_fork_server.py), which cuts each from about 6 s of CPU to well under that; the
run after them is the real `kedro run` CLI (``run_kedro``, as in every other test).
"""

from __future__ import annotations

import json
import logging
import shutil
import signal
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from lstm_forecast.datasets._faults import FAULT_ENV

from .conftest import kedro_env, run_kedro

pytestmark = pytest.mark.e2e

logger = logging.getLogger(__name__)

FORK_SERVER = Path(__file__).with_name("_kedro_fork_server.py")
# Killed runs go two at a time, each worker in its own copy of the project.
_WORKERS = 2
# Wide log lines, so that no message is split by a line break.
_ENV = {**kedro_env(), "COLUMNS": "400"}


@dataclass
class Kill:
    """One killed run and what it left on disk."""

    dataset: str
    node: str
    fault: str
    returncode: int
    message: str
    temporaries: dict[str, int]  # temporary file name -> bytes in it
    target_intact: bool
    rewritten: list[str] = field(default_factory=list)  # other datasets rewritten whole
    unloadable: dict[str, str] = field(default_factory=dict)
    empty_or_missing: list[str] = field(default_factory=list)


class _Sessions:
    """A fork server (tests/_kedro_fork_server.py) for one copy of the project."""

    def __init__(self, project: Path) -> None:
        (project / "logs").mkdir(exist_ok=True)
        with (project / "logs" / "fork-server.log").open("w") as log:
            self.process = subprocess.Popen(
                [sys.executable, str(FORK_SERVER), str(project)],
                cwd=project,
                env=_ENV,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=log,
                text=True,
            )
        self.written: dict[str, dict[str, str]] = self._answer()["written"]

    def _answer(self) -> dict:
        line = self.process.stdout.readline()
        assert line, f"the fork server exited {self.process.wait()}: see its log in logs/"
        return json.loads(line)

    def request(self, **request: Any) -> dict:
        self.process.stdin.write(json.dumps(request) + "\n")
        self.process.stdin.flush()
        return self._answer()

    def close(self) -> None:
        self.process.stdin.close()
        self.process.wait(timeout=60)


class _Worker:
    """Kills runs one after another in its own copy of the project, then runs it whole."""

    def __init__(self, project: Path) -> None:
        self.project = project
        self.sessions = _Sessions(project)
        self.written = self.sessions.written
        self.paths = {name: project / spec["filepath"] for name, spec in self.written.items()}
        self.folders = {path.parent for path in self.paths.values()}
        # What each dataset path held before the next kill: the "previous good file".
        self.previous = {name: path.read_bytes() for name, path in self.paths.items()}

    def temporaries(self) -> dict[str, int]:
        return {
            f"{folder.name}/{p.name}": p.stat().st_size
            for folder in self.folders
            for p in folder.glob(".*.tmp")
        }

    def kill(self, name: str, when: str) -> Kill:
        spec = self.written[name]
        before = self.temporaries()
        log_file = self.project / "logs" / f"kill-{name}-{when}.log"
        log_file.parent.mkdir(exist_ok=True)
        # = `kedro run --env=smoke --nodes=<node and its in-memory inputs' makers>`, fault set
        returncode = self.sessions.request(
            op="run",
            nodes=spec["nodes"],
            env={FAULT_ENV: f"{name}:{when}"},
            log=str(log_file),
        )["returncode"]
        log = " ".join(log_file.read_text().split())
        kill_at = log.rfind(f"{FAULT_ENV}: killing")
        message = log[kill_at:][:120] if kill_at >= 0 else log[-300:]
        path = self.paths[name]
        kill = Kill(
            name,
            spec["node"],
            f"{name}:{when}",
            returncode,
            message,
            {n: size for n, size in self.temporaries().items() if n not in before},
            path.is_file() and path.read_bytes() == self.previous[name],
        )
        for other, other_path in self.paths.items():
            if not other_path.is_file() or other_path.stat().st_size == 0:
                kill.empty_or_missing.append(other)
            elif other_path.read_bytes() != self.previous[other]:
                kill.rewritten.append(other)
        if kill.rewritten:  # rewritten whole before the kill, or torn? The catalog's load says.
            kill.unloadable = self.sessions.request(op="load", names=kill.rewritten)["failures"]
            for other in set(kill.rewritten) - set(kill.unloadable):
                self.previous[other] = self.paths[other].read_bytes()
        return kill

    def kill_all(self, jobs: list[tuple[str, str]]) -> tuple[list[Kill], set[str]]:
        kills = [self.kill(name, when) for name, when in jobs]
        self.sessions.close()
        return kills, set(self.temporaries())

    def take_leftovers_of(self, other: _Worker) -> None:
        """Move what the other copy's kills left into this copy, beside the same datasets."""
        for folder in other.folders:
            for leftover in folder.glob(".*.tmp"):
                leftover.rename(self.project / folder.relative_to(other.project) / leftover.name)

    def run_whole(self) -> subprocess.CompletedProcess[str]:
        with pytest.MonkeyPatch.context() as patch:
            patch.setenv("COLUMNS", _ENV["COLUMNS"])
            return run_kedro(self.project, "run", "--env=smoke", check=False)


@pytest.fixture(scope="module")
def faults(smoke_project: Path, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """Every dataset's killed run, on copies of the smoke project; then a full run in each."""
    root = tmp_path_factory.mktemp("faults")
    projects = [root / f"project{i}" for i in range(_WORKERS)]
    for project in projects:
        shutil.copytree(smoke_project, project, ignore=shutil.ignore_patterns("build", "logs"))
    with ThreadPoolExecutor(_WORKERS) as pool:
        workers = list(pool.map(_Worker, projects))
    written = workers[0].written
    assert all(not Path(spec["filepath"]).is_absolute() for spec in written.values()), written
    good = dict(workers[0].previous)
    jobs = [(name, str(max(1, len(good[name]) // 2))) for name in written]
    # A kill after the last byte, before the rename (the case the issue saw leave a .tmp).
    jobs.append(("lstm.onnx_model", "rename"))
    with ThreadPoolExecutor(_WORKERS) as pool:
        results = list(pool.map(lambda i: workers[i].kill_all(jobs[i::_WORKERS]), range(_WORKERS)))
    order = [f"{name}:{when}" for name, when in jobs]
    kills = sorted((k for result in results for k in result[0]), key=lambda k: order.index(k.fault))
    _log_table(kills)
    # One whole run cleans up after every kill: the other copies' leftovers join the first's.
    for other in workers[1:]:
        workers[0].take_leftovers_of(other)
    return {
        "projects": projects,
        "written": written,
        "good": good,
        "kills": kills,
        "leftovers": set().union(*(result[1] for result in results)),
        "gathered": set(workers[0].temporaries()),
        "final": workers[0].run_whole(),
    }


def _log_table(kills: list[Kill]) -> None:
    lines = ["| fault | exit | temporary file left | dataset file after | other files |"]
    for k in kills:
        others = f"{len(k.rewritten)} rewritten whole" if k.rewritten else "unchanged"
        lines.append(
            f"| `{FAULT_ENV}={k.fault}` (node {k.node}) | {k.returncode} | "
            f"{', '.join(f'{n} ({s} B)' for n, s in k.temporaries.items()) or 'none'} | "
            f"{'previous file, byte-identical' if k.target_intact else 'CHANGED'} | {others} |"
        )
    logger.warning("Fault injection results:\n%s", "\n".join(lines))


def test_the_datasets_under_test_are_every_file_the_smoke_run_wrote(faults):
    # The list comes from the pipeline and the catalog; every file a run leaves in the data
    # layers must be one of them (or a checkpoint's sha256 record), or a write went around
    # the catalog and this module would not see it.
    project = faults["projects"][0]
    paths = {(project / spec["filepath"]).resolve() for spec in faults["written"].values()}
    outside = [
        path.relative_to(project)
        for layer in sorted((project / "data").iterdir())
        if layer.name != "01_raw"
        for path in layer.rglob("*")
        if path.is_file()
        and path.name != ".gitkeep"
        and not any(p == path.resolve() or p in path.resolve().parents for p in paths)
        and path.with_suffix("").resolve() not in paths  # <checkpoint>.sha256
    ]
    assert not outside
    assert all(faults["good"][name] for name in faults["written"]), "a good run left an empty file"


def test_every_write_is_killed_half_way_through_its_bytes(faults):
    for kill in faults["kills"]:
        assert kill.returncode == -signal.SIGKILL, (
            f"{kill.fault}: the run exited {kill.returncode} instead of being killed, so the "
            f"write of {kill.dataset} does not go through the atomic writer:\n{kill.message}"
        )
        assert "killing this run" in kill.message, kill.message
        assert f"its write of '{kill.dataset}'" in kill.message, kill.message
        # The bytes written before the kill are in a temporary file, not at the path.
        expected = (
            len(faults["good"][kill.dataset])
            if kill.fault.endswith(":rename")
            else int(kill.fault.rsplit(":", 1)[1])
        )
        assert list(kill.temporaries.values()) == [expected], (kill.fault, kill.temporaries)


def test_a_killed_write_leaves_the_previous_file_byte_identical(faults):
    damaged = [kill.fault for kill in faults["kills"] if not kill.target_intact]
    assert not damaged


def test_no_dataset_path_holds_an_empty_or_partial_file_after_any_kill(faults):
    for kill in faults["kills"]:
        assert not kill.empty_or_missing, (kill.fault, kill.empty_or_missing)
        assert not kill.unloadable, (kill.fault, kill.unloadable)


def test_the_next_run_removes_the_leftovers_and_succeeds(faults):
    assert faults["leftovers"]  # the kills did leave temporary files for it to remove
    assert faults["gathered"] == faults["leftovers"]  # every copy's, beside its dataset
    project, final = faults["projects"][0], faults["final"]
    assert final.returncode == 0, final.stderr[-4000:]
    log = " ".join((final.stdout + final.stderr).split())
    assert "Removed" in log and "interrupted by a killed run" in log
    for copy in faults["projects"]:
        assert not list((copy / "data").rglob(".*.tmp"))
    for name, spec in faults["written"].items():
        assert (project / spec["filepath"]).stat().st_size > 0, name
