"""Kill `kedro run` in the middle of every dataset write: data/ is never left torn.

For each dataset the smoke run writes (read from the pipeline and the catalog, so datasets
added later are covered), a run is killed with SIGKILL once half of that dataset's bytes
have reached the disk (``LSTM_FORECAST_FAULT=<dataset>:<bytes>``, see
``lstm_forecast.datasets._faults``), and once more just before the rename that would
publish ``model.onnx``. After each kill: the dataset's previous file is byte-identical, the
bytes written so far sit in a temporary file beside it, and every dataset path holds a
complete file (unchanged, or rewritten whole and loadable through the catalog). The next
`kedro run` removes the temporary files and succeeds.

The killed runs are forks of one `kedro run --env=smoke` (a Kedro session in a process
that imported everything once, tests/_kedro_fork_server.py), made at each dataset's save:
the fork arms the fault as a run of that dataset's nodes would (the variable, then the
project's hook on those nodes) and is killed; after the checks, the run saves the dataset
itself and goes on to the next. So the pipeline runs once, not once per dataset (a node
with several files trained or exported once per file). The run after them is the real
`kedro run` CLI (``run_kedro``, as in every other test).
"""

from __future__ import annotations

import json
import logging
import shutil
import signal
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from lstm_forecast.datasets._atomic import parse_temporary
from lstm_forecast.datasets._faults import FAULT_ENV

from .conftest import kedro_env, run_kedro

pytestmark = pytest.mark.e2e

logger = logging.getLogger(__name__)

FORK_SERVER = Path(__file__).with_name("_kedro_fork_server.py")
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
    """Kills every write from one run in its copy of the project, then runs it whole."""

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

    def kill_all(self, jobs: list[tuple[str, str]]) -> list[Kill]:
        """= `kedro run --env=smoke`, forked at each job's save (tests/_kedro_fork_server.py):
        the fork, the fault set as for a run of the nodes writing that dataset, is killed;
        the files are checked; then the run saves the dataset itself and goes on."""
        logs = self.project / "logs"
        requested = [
            [name, when, str(logs / f"kill-{name}-{when}.log"), *self.written[name]["nodes"]]
            for name, when in jobs
        ]
        kills, before = [], self.temporaries()
        answer = self.sessions.request(
            op="run", nodes=None, kill_at_saves=requested, log=str(logs / "forked-run.log")
        )
        while "killed" in answer:
            name, _, when = answer["killed"].rpartition(":")
            kills.append(self.inspect(name, when, answer["returncode"], before))
            before = self.temporaries()
            answer = self.sessions.request(op="continue")
        assert answer["returncode"] == 0, "the run forked at each save failed: logs/forked-run.log"
        self.sessions.close()
        return kills

    def inspect(self, name: str, when: str, returncode: int, before: dict[str, int]) -> Kill:
        """What the killed write of ``name`` left: its temporary file, every dataset's file."""
        log = " ".join((self.project / "logs" / f"kill-{name}-{when}.log").read_text().split())
        kill_at = log.rfind(f"{FAULT_ENV}: killing")
        message = log[kill_at:][:120] if kill_at >= 0 else log[-300:]
        path = self.paths[name]
        kill = Kill(
            name,
            self.written[name]["node"],
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

    def run_whole(self) -> subprocess.CompletedProcess[str]:
        with pytest.MonkeyPatch.context() as patch:
            patch.setenv("COLUMNS", _ENV["COLUMNS"])
            return run_kedro(self.project, "run", "--env=smoke", check=False)


@pytest.fixture(scope="module")
def faults(smoke_project: Path, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """Every dataset's killed write, on a copy of the smoke project; then a full run there."""
    project = tmp_path_factory.mktemp("faults") / "project"
    shutil.copytree(smoke_project, project, ignore=shutil.ignore_patterns("build", "logs"))
    worker = _Worker(project)
    written = worker.written
    assert all(not Path(spec["filepath"]).is_absolute() for spec in written.values()), written
    good = dict(worker.previous)
    jobs = [(name, str(max(1, len(good[name]) // 2))) for name in written]
    # A kill after the last byte, before the rename (the case the issue saw leave a .tmp).
    jobs.append(("lstm.onnx_model", "rename"))
    kills = worker.kill_all(jobs)
    _log_table(kills)
    return {
        "project": project,
        "written": written,
        "good": good,
        "faults": [f"{name}:{when}" for name, when in jobs],
        "kills": kills,
        "leftovers": set(worker.temporaries()),
        "final": worker.run_whole(),
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


def _dataset_paths(faults: dict) -> list[Path]:
    return [faults["project"] / spec["filepath"] for spec in faults["written"].values()]


def test_the_datasets_under_test_are_every_file_the_smoke_run_wrote(faults):
    # The list comes from the pipeline and the catalog; every file a run leaves in the data
    # layers must be one of them (or a checkpoint's sha256 record), or a write went around
    # the catalog and this module would not see it.
    project = faults["project"]
    paths = {path.resolve() for path in _dataset_paths(faults)}
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
    assert sorted(kill.fault for kill in faults["kills"]) == sorted(faults["faults"])
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
    project, final = faults["project"], faults["final"]
    # The kills did leave temporary files for it to remove, each beside its dataset's file.
    assert faults["leftovers"]
    files = {f"{path.parent.name}/{path.name}" for path in _dataset_paths(faults)}
    for leftover in faults["leftovers"]:
        folder, name = leftover.split("/")
        assert f"{folder}/{parse_temporary(name)[0]}" in files, leftover
    assert final.returncode == 0, final.stderr[-4000:]
    log = " ".join((final.stdout + final.stderr).split())
    assert "Removed" in log and "interrupted by a killed run" in log
    assert not list((project / "data").rglob(".*.tmp"))
    for name, spec in faults["written"].items():
        assert (project / spec["filepath"]).stat().st_size > 0, name
