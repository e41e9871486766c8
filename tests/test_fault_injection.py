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
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from lstm_forecast.datasets._faults import FAULT_ENV

from .conftest import kedro_env, run_kedro

pytestmark = pytest.mark.e2e

logger = logging.getLogger(__name__)

# Run in the project: every catalog dataset the default pipeline writes to a local file,
# with the node that writes it; or (`load NAME...`) load the named datasets.
_CATALOG_SCRIPT = """
import json, sys
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
                    written[name] = {"node": node.name, "pipeline": stages[node.name],
                                     "path": str(Path.cwd() / config[name]["filepath"])}
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


def _temporaries(folder: Path) -> dict[str, int]:
    return {p.name: p.stat().st_size for p in folder.glob(".*.tmp")}


def _kill_during_write(project: Path, written: dict, good: dict, name: str, when: str) -> Kill:
    path = Path(written[name]["path"])
    node = written[name]["node"]
    before = {p: set(_temporaries(p)) for p in {Path(w["path"]).parent for w in written.values()}}
    result = subprocess.run(
        # Naming the stage's pipeline imports only that stage's code: a shorter run.
        [
            str(Path(sys.executable).parent / "kedro"),
            "run",
            "--env=smoke",
            f"--pipelines={written[name]['pipeline']}",
            f"--nodes={node}",
        ],
        cwd=project,
        env={**kedro_env(), FAULT_ENV: f"{name}:{when}"},
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    log = " ".join((result.stdout + result.stderr).split())
    message = log[log.find(FAULT_ENV) :][:120] if FAULT_ENV in log else log[-300:]
    new_temporaries = {
        f"{folder.name}/{n}": size
        for folder in before
        for n, size in _temporaries(folder).items()
        if n not in before[folder]
    }
    kill = Kill(
        name,
        node,
        f"{name}:{when}",
        result.returncode,
        message,
        new_temporaries,
        path.is_file() and path.read_bytes() == good[name],
    )
    for other, spec in written.items():
        other_path = Path(spec["path"])
        if not other_path.is_file() or other_path.stat().st_size == 0:
            kill.empty_or_missing.append(other)
        elif other_path.read_bytes() != good[other]:
            kill.rewritten.append(other)
    if kill.rewritten:  # rewritten whole, or torn? The catalog's own load says.
        kill.unloadable = _catalog(project, "load", *kill.rewritten)
    return kill


@pytest.fixture(scope="module")
def faults(smoke_project: Path, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """Every dataset's killed run, on a copy of the smoke project; then one full run."""
    project = tmp_path_factory.mktemp("faults") / "project"
    shutil.copytree(smoke_project, project, ignore=shutil.ignore_patterns("build", "logs"))
    written = _catalog(project, "describe")
    good = {name: Path(spec["path"]).read_bytes() for name, spec in written.items()}
    kills = [
        _kill_during_write(project, written, good, name, str(max(1, len(good[name]) // 2)))
        for name in written
    ]
    # A kill after the last byte, before the rename (the case the issue saw leave a .tmp).
    kills.append(_kill_during_write(project, written, good, "lstm.onnx_model", "rename"))
    leftovers = {f"{p.parent.name}/{p.name}" for p in (project / "data").rglob(".*.tmp")}
    final = run_kedro(project, "run", "--env=smoke", check=False)
    _log_table(kills)
    return {
        "project": project,
        "written": written,
        "good": good,
        "kills": kills,
        "leftovers": leftovers,
        "final": final,
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
        assert "killing this run" in kill.message and f"'{kill.dataset}'" in kill.message
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
    final = faults["final"]
    assert final.returncode == 0, final.stderr[-4000:]
    log = " ".join((final.stdout + final.stderr).split())
    assert "Removed" in log and "interrupted by a killed run" in log
    assert faults["leftovers"]  # the kills did leave temporary files for it to remove
    project = faults["project"]
    assert not list((project / "data").rglob(".*.tmp"))
    for name, spec in faults["written"].items():
        assert Path(spec["path"]).stat().st_size > 0, name
