"""Kill the real `kedro run` in the middle of every dataset write: data/ is never left torn.

For each dataset the smoke run writes (read from the pipeline and the catalog, so datasets
added later are covered), a run of the node that writes it is killed with SIGKILL once half
of that dataset's bytes have reached the disk (``LSTM_FORECAST_FAULT=<dataset>:<bytes>``,
see ``lstm_forecast.datasets._faults``). After each kill: the dataset's previous file is
byte-identical, the half-written bytes sit in a temporary file beside it, and every dataset
path holds a complete file (unchanged, or rewritten whole and loadable through the catalog).
The next run removes the temporary files and succeeds.
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

from .conftest import kedro_env

pytestmark = pytest.mark.e2e

logger = logging.getLogger(__name__)

# Run in the project: every catalog dataset the default pipeline writes to a local file,
# with the node that writes it; or (`load NAME...`) load the named datasets.
_CATALOG_SCRIPT = """
import json, os, sys
from pathlib import Path
from kedro.framework.session import KedroSession
from kedro.framework.startup import bootstrap_project
bootstrap_project(Path.cwd())
from kedro.framework.project import pipelines
with KedroSession.create(project_path=Path.cwd(), env="smoke") as session:
    catalog = session.load_context().catalog
    if sys.argv[1] == "load":
        failures = {}
        for name in sys.argv[2:]:
            try:
                catalog.load(name)
            except Exception as error:
                failures[name] = f"{type(error).__name__}: {error}"
        print(json.dumps(failures))
    else:
        config = catalog.config_resolver.config
        stages = {n.name: s for s, p in pipelines.items() if s != "__default__" for n in p.nodes}
        written = {}
        for node in pipelines["__default__"].nodes:
            for name in node.outputs:
                if "filepath" in config.get(name, {}):
                    # Kedro made the path absolute; relative, it names the file in any copy.
                    path = os.path.relpath(config[name]["filepath"], Path.cwd())
                    written[name] = {"node": node.name, "pipeline": stages[node.name],
                                     "filepath": path}
        print(json.dumps(written))
"""


def _catalog(project: Path, *args: str) -> dict:
    result = subprocess.run(
        [sys.executable, "-c", _CATALOG_SCRIPT, *args],
        cwd=project,
        env=kedro_env(),
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-4000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


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


def _kedro(project: Path, *args: str, fault: str | None = None) -> subprocess.CompletedProcess:
    """`kedro run --env=smoke ARGS`, logging on wide lines so messages stay whole."""
    env = {**kedro_env(), "COLUMNS": "400"}
    if fault:
        env[FAULT_ENV] = fault
    return subprocess.run(
        [str(Path(sys.executable).parent / "kedro"), "run", "--env=smoke", *args],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )


class _Worker:
    """Kills runs one after another in its own copy of the project."""

    def __init__(self, project: Path, written: dict) -> None:
        self.project = project
        self.written = written
        self.paths = {name: project / spec["filepath"] for name, spec in written.items()}
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
        # Naming the stage's pipeline imports only that stage's code: a shorter run.
        result = _kedro(
            self.project,
            f"--pipelines={spec['pipeline']}",
            f"--nodes={spec['node']}",
            fault=f"{name}:{when}",
        )
        log = " ".join((result.stdout + result.stderr).split())
        message = log[log.find(FAULT_ENV) :][:120] if FAULT_ENV in log else log[-300:]
        path = self.paths[name]
        kill = Kill(
            name,
            spec["node"],
            f"{name}:{when}",
            result.returncode,
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
            kill.unloadable = _catalog(self.project, "load", *kill.rewritten)
            for other in set(kill.rewritten) - set(kill.unloadable):
                self.previous[other] = self.paths[other].read_bytes()
        return kill

    def run_all(self, jobs: list[tuple[str, str]]) -> tuple[list[Kill], set[str], Any]:
        kills = [self.kill(name, when) for name, when in jobs]
        leftovers = set(self.temporaries())
        final = _kedro(self.project)
        return kills, leftovers, final


# Killed runs go two at a time, each in its own copy of the project: most of a short run is
# waiting on imports, and the machine has two cores.
_WORKERS = 2


@pytest.fixture(scope="module")
def faults(smoke_project: Path, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """Every dataset's killed run, on copies of the smoke project; then a full run in each."""
    root = tmp_path_factory.mktemp("faults")
    projects = [root / f"project{i}" for i in range(_WORKERS)]
    for project in projects:
        shutil.copytree(smoke_project, project, ignore=shutil.ignore_patterns("build", "logs"))
    written = _catalog(projects[0], "describe")
    assert all(not Path(spec["filepath"]).is_absolute() for spec in written.values()), written
    workers = [_Worker(project, written) for project in projects]
    good = dict(workers[0].previous)
    jobs = [(name, str(max(1, len(good[name]) // 2))) for name in written]
    # A kill after the last byte, before the rename (the case the issue saw leave a .tmp).
    jobs.append(("lstm.onnx_model", "rename"))
    with ThreadPoolExecutor(_WORKERS) as pool:
        results = list(pool.map(lambda i: workers[i].run_all(jobs[i::_WORKERS]), range(_WORKERS)))
    kills = sorted(
        (kill for result in results for kill in result[0]),
        key=lambda k: [f"{n}:{w}" for n, w in jobs].index(k.fault),
    )
    _log_table(kills)
    return {
        "projects": projects,
        "written": written,
        "good": good,
        "kills": kills,
        "leftovers": set().union(*(result[1] for result in results)),
        "finals": [result[2] for result in results],
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


def test_the_smoke_run_writes_the_datasets_every_stage_hands_on(faults):
    # The list comes from the pipeline and the catalog; a sanity floor, not a fixed list.
    written = faults["written"]
    assert {"candles", "model_checkpoint", "lstm.onnx_model", "forecast_metrics"} <= set(written)
    assert all(faults["good"][name] for name in written), "a good run left an empty file"


def test_every_write_is_killed_half_way_through_its_bytes(faults):
    for kill in faults["kills"]:
        assert kill.returncode == -signal.SIGKILL, (
            f"{kill.fault}: the run exited {kill.returncode} instead of being killed, so the "
            f"write of {kill.dataset} does not go through the atomic writer:\n{kill.message}"
        )
        assert f"killing this run while it saves '{kill.dataset}'" in kill.message
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
    for project, final in zip(faults["projects"], faults["finals"], strict=True):
        assert final.returncode == 0, final.stderr[-4000:]
        log = " ".join((final.stdout + final.stderr).split())
        assert "Removed" in log and "interrupted by a killed run" in log
        assert not list((project / "data").rglob(".*.tmp"))
        for name, spec in faults["written"].items():
            assert (project / spec["filepath"]).stat().st_size > 0, name
