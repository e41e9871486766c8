"""``lstm_forecast.integrations.dask_runner.DaskRunner``: the same outputs as the sequential runner.

End to end: one `kedro run` of every case's pipeline with the Dask runner (one cluster for
all) in a new copy of the project, and each pipeline with the sequential runner in its own
copy (the default pipeline's is the session's smoke run); then every dataset each pipeline
persists is loaded through the catalog and compared. To compare another pipeline, add a
``Case`` to ``CASES``. A node failing on a worker of a cluster started outside the run
fails `kedro run` with its own message. In process: small pipelines on the runner's own
``LocalCluster`` and on one started outside it show where nodes, data, hooks and errors go.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import kedro.framework.project as kedro_project
import numpy as np
import onnx
import pandas as pd
import pytest
import torch
from distributed import Client, LocalCluster
from kedro.config import OmegaConfigLoader
from kedro.framework.context.context import _convert_paths_to_absolute_posix
from kedro.io import DataCatalog, DatasetError, MemoryDataset
from kedro.pipeline import Node, Pipeline
from kedro_datasets.json import JSONDataset

from lstm_forecast.integrations.dask_runner import ADDRESS_ENV, DaskRunner
from lstm_forecast.pipeline_registry import register_pipelines
from tests.conftest import RAW_CSV, copy_project, run_kedro
from tests.integrations.dask_project.nodes import failing_pipeline, fan_out_pipeline
from tests.integrations.dask_project.settings import LOG_ENV

RUNNER = "--runner=lstm_forecast.integrations.dask_runner.DaskRunner"


# --------------------------------------------------------------------- end to end
@dataclass(frozen=True)
class Case:
    """A registered pipeline run with both runners; every dataset it persists must match."""

    id: str
    pipeline: str
    # Keys left out of the comparison wherever they appear: wall-clock figures.
    ignore_keys: frozenset[str] = frozenset({"train_seconds"})
    # The session's `kedro run --env=smoke` (the smoke_project fixture) is the sequential
    # run: one run fewer on a small machine. Otherwise the sequential runner runs the
    # pipeline on a copy of the smoke run's outputs (for a pipeline that reads them).
    sequential_is_smoke_run: bool = False


CASES = (
    Case(id="default", pipeline="__default__", sequential_is_smoke_run=True),
    # The backtest's folds are namespaces: on two workers they train at the same time.
    Case(id="backtest", pipeline="backtest"),
)


def catalog_of(project: Path, env: str = "smoke") -> DataCatalog:
    """The project's catalog as `kedro run --env=<env>` builds it, paths under ``project``."""
    config = OmegaConfigLoader(
        conf_source=str(project / "conf"), base_env="base", default_run_env=env
    )["catalog"]
    return DataCatalog.from_config(_convert_paths_to_absolute_posix(project, config))


def persisted_outputs(pipeline_name: str, catalog: DataCatalog) -> list[str]:
    """The datasets a registered pipeline makes that the catalog writes somewhere."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(kedro_project, "PACKAGE_NAME", "lstm_forecast")  # for find_pipelines
        pipeline = register_pipelines()[pipeline_name]
    return sorted(
        name
        for name in pipeline.all_outputs()
        if catalog.get(name) is not None and not isinstance(catalog.get(name), MemoryDataset)
    )


def assert_made_by_the_run(project: Path, pipelines: list[str]) -> None:
    """None of the datasets the pipelines persist exists yet in ``project``."""
    catalog = catalog_of(project)
    made_already = [
        name for p in pipelines for name in persisted_outputs(p, catalog) if catalog.exists(name)
    ]
    assert not made_already, f"{made_already} exist before the run; it must make them"


@pytest.fixture(scope="module")
def dask_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """Every case's pipeline in one `kedro run` with the Dask runner (one cluster for all),
    in a new copy of the project. Returns the project and the run's console output."""
    project = copy_project(tmp_path_factory.mktemp("dask") / "project")
    pipelines = [case.pipeline for case in CASES]
    assert_made_by_the_run(project, pipelines)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("COLUMNS", "250")  # log lines unwrapped by Kedro's rich handler
        args = ("--env=smoke", f"--pipelines={','.join(pipelines)}", RUNNER)
        result = run_kedro(project, "run", *args, "--runner-params=n_workers=2")
    return project, result.stdout + result.stderr


def sequential_run(case: Case, workdir: Path, smoke_project: Path) -> Path:
    """The project folder where the sequential runner made ``case``'s outputs."""
    if case.sequential_is_smoke_run:
        return smoke_project
    project = workdir / "sequential"
    shutil.copytree(smoke_project, project)
    assert_made_by_the_run(project, [case.pipeline])
    run_kedro(project, "run", "--env=smoke", f"--pipelines={case.pipeline}")
    return project


def assert_same(left: Any, right: Any, where: str, ignore: frozenset[str] = frozenset()) -> None:
    """Equal data: frames, arrays and tensors exactly, ONNX models byte for byte."""
    if isinstance(left, pd.DataFrame):
        pd.testing.assert_frame_equal(left, right, check_exact=True, obj=where)
    elif isinstance(left, torch.Tensor):
        assert torch.equal(left, right), where
    elif isinstance(left, np.ndarray):
        np.testing.assert_array_equal(left, right, err_msg=where)
    elif isinstance(left, onnx.ModelProto):
        assert left.SerializeToString() == right.SerializeToString(), where
    elif isinstance(left, dict):
        assert left.keys() == right.keys(), where
        for key in left.keys() - ignore:
            assert_same(left[key], right[key], f"{where}[{key!r}]", ignore)
    elif isinstance(left, list | tuple):
        assert len(left) == len(right), where
        for index, (a, b) in enumerate(zip(left, right, strict=True)):
            assert_same(a, b, f"{where}[{index}]", ignore)
    elif hasattr(left, "get_params") and hasattr(left, "__dict__"):  # a fitted estimator
        assert type(left) is type(right), where
        assert_same(vars(left), vars(right), f"{where} ({type(left).__name__})", ignore)
    elif callable(left) and not isinstance(left, type):  # a lazily loaded partition
        assert_same(left(), right(), where, ignore)
    else:
        assert left == right, f"{where}: {left!r} != {right!r}"


@pytest.mark.e2e
@pytest.mark.parametrize("case", CASES, ids=lambda case: case.id)
def test_dask_runner_makes_what_the_sequential_runner_makes(
    case, dask_run, smoke_project, tmp_path
):
    projects = {"dask": dask_run[0], "sequential": sequential_run(case, tmp_path, smoke_project)}
    catalogs = {runner: catalog_of(project) for runner, project in projects.items()}
    names = persisted_outputs(case.pipeline, catalogs["dask"])
    assert names, f"the {case.pipeline} pipeline persists nothing to compare"
    write_only = []
    for name in names:
        assert catalogs["dask"].exists(name), f"the Dask run did not write {name}"
        try:
            sequential = catalogs["sequential"].load(name)
        except DatasetError as error:
            if "Loading not supported" not in str(error):  # plots are write-only
                raise
            write_only.append(name)
            continue
        assert_same(sequential, catalogs["dask"].load(name), name, case.ignore_keys)
    assert len(write_only) < len(names) / 2, write_only  # most outputs were compared
    log = dask_run[1]
    assert "Starting a local Dask cluster: 2 worker process(es)" in log
    # Each node ran once, in a worker (Kedro logs "Running node" where a node runs).
    nodes = log.count("Running node: ")
    assert nodes == log.count("Completed node: ") and nodes > 0
    assert f"Completed {nodes} out of {nodes} tasks" in log


@pytest.mark.e2e
def test_a_node_failing_on_a_worker_fails_the_run_with_its_own_message(tmp_path, running_cluster):
    project = copy_project(tmp_path / "project")
    lines = RAW_CSV.read_text().splitlines()
    fields = lines[200].split(",")
    fields[5] = ""  # an empty close in the middle of the file
    lines[200] = ",".join(fields)
    (project / "data/01_raw/bad.csv").write_text("\n".join(lines) + "\n")
    result = run_kedro(
        project,
        "run",
        "--env=smoke",
        "--pipelines=ingestion",
        "--params=raw_csv=data/01_raw/bad.csv",
        RUNNER,
        # The module's running cluster (the runner's own LocalCluster fails in process,
        # below): the error comes back from a worker the run did not start.
        f"--runner-params=address={running_cluster[0].scheduler_address}",
        check=False,
    )
    log = result.stdout + result.stderr
    assert result.returncode != 0
    assert "CandleDataError" in log and "bad.csv" in log and "close" in log
    assert not (project / "data/02_intermediate/candles.parquet").exists()


# ---------------------------------------------------------------------- in process
def _catalog(tmp_path: Path) -> DataCatalog:
    # "stored" persists to a file; the other intermediate datasets live in memory.
    stored = JSONDataset(filepath=str(tmp_path / "stored.json"))
    return DataCatalog({"numbers": MemoryDataset([1, 2, 3]), "stored": stored})


@pytest.fixture(scope="module")
def stand_in_project(tmp_path_factory: pytest.TempPathFactory):
    """Runs made in this process belong to the stand-in package (tests/integrations/
    dask_project): workers load its settings, whose hook appends to the file returned."""
    log = tmp_path_factory.mktemp("hooks") / "hooks.log"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(LOG_ENV, str(log))  # before any cluster starts: workers inherit it
        patch.setattr(kedro_project, "PACKAGE_NAME", "tests.integrations.dask_project")
        yield log


@pytest.fixture(scope="module")
def fan_out_run(stand_in_project: Path, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """One run of the fan-out pipeline on the runner's own two-worker ``LocalCluster``:
    its outputs, its folder and the hook events the workers recorded."""
    folder = tmp_path_factory.mktemp("fan_out")
    outputs = DaskRunner(n_workers=2).run(fan_out_pipeline(), _catalog(folder))
    events = [line.split() for line in stand_in_project.read_text().splitlines()]
    return {"combined": outputs["combined"].load(), "folder": folder, "events": events}


@pytest.mark.e2e  # starts a Dask cluster's worker processes
def test_memory_data_reaches_other_workers_and_independent_nodes_run_in_parallel(fan_out_run):
    combined = fan_out_run["combined"]
    assert combined["doubled"] == [2, 4, 6]  # a MemoryDataset, handed from task to task
    assert JSONDataset(filepath=str(fan_out_run["folder"] / "stored.json")).load() == [4, 8, 12]
    pid_b, pid_c = combined["pids"]
    assert os.getpid() not in {pid_b, pid_c, combined["here"]}
    assert pid_b != pid_c  # the two independent nodes ran in the two workers


@pytest.mark.e2e  # starts a Dask cluster's worker processes
def test_node_hooks_run_on_the_workers(fan_out_run):
    # Workers load the settings of the package the run belongs to: here, the stand-in
    # package, which registers a recording hook.
    events = fan_out_run["events"]
    ran = sorted(name for event, name, _ in events if event == "before_node_run")
    assert ran == ["b", "c", "combine", "double", "store"]
    saved = {name for event, name, _ in events if event == "after_dataset_saved"}
    assert saved >= {"doubled", "stored", "combined"}
    assert str(os.getpid()) not in {pid for *_, pid in events}


@pytest.mark.e2e  # starts a Dask cluster's worker processes
def test_a_failing_node_raises_its_own_error_here(tmp_path, stand_in_project):
    with pytest.raises(ValueError, match=r"cannot use \[2, 4, 6\]: set numbers"):
        DaskRunner(n_workers=1).run(failing_pipeline(), _catalog(tmp_path))


@pytest.fixture(scope="module")
def running_cluster(stand_in_project):
    """A cluster started outside the runner, as a user's would be; one worker."""
    with (
        LocalCluster(
            n_workers=1, threads_per_worker=1, host="127.0.0.1", dashboard_address=None
        ) as cluster,
        Client(cluster) as client,
    ):
        yield cluster, client


@pytest.mark.e2e  # starts a Dask cluster's worker processes
def test_an_address_from_the_environment_uses_that_cluster_and_leaves_it_running(
    tmp_path, monkeypatch, running_cluster
):
    cluster, client = running_cluster
    worker_pids = set(client.run(os.getpid).values())
    monkeypatch.setenv(ADDRESS_ENV, cluster.scheduler_address)
    outputs = DaskRunner().run(fan_out_pipeline(), _catalog(tmp_path))
    assert set(outputs["combined"].load()["pids"]) == worker_pids
    assert client.run(os.getpid)  # the cluster still answers after the run


@pytest.mark.e2e  # starts a Dask cluster's worker processes
def test_workers_that_cannot_import_the_nodes_are_named_before_any_node_runs(
    tmp_path, monkeypatch, running_cluster
):
    cluster, _ = running_cluster
    # A module only this process can import: the worker started before it existed.
    (tmp_path / "driver_only_nodes.py").write_text("def touch(x):\n    return x\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    from driver_only_nodes import touch

    pipeline = Pipeline([Node(touch, "numbers", "touched", name="touch")])
    with pytest.raises(ImportError, match=r"Install the project in the workers' environment"):
        DaskRunner(address=cluster.scheduler_address).run(pipeline, _catalog(tmp_path))


def test_runner_params_are_checked():
    with pytest.raises(ValueError, match="n_workers must be at least 1"):
        DaskRunner(n_workers=0)
