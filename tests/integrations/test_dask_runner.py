"""``lstm_forecast.integrations.dask_runner.DaskRunner``: the same outputs as the sequential runner.

End to end: `kedro run` with each runner in its own copy of the project, then every
dataset the pipeline persists is loaded through the catalog and compared. To compare
another pipeline, add a ``Case`` to ``CASES``. In process: small pipelines on a two-worker
``LocalCluster`` show where nodes, data, hooks and errors go.
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

DASK = ("--runner=lstm_forecast.integrations.dask_runner.DaskRunner", "--runner-params=n_workers=2")


# --------------------------------------------------------------------- end to end
@dataclass(frozen=True)
class Case:
    """One `kedro run` to make with both runners; every dataset it persists must match."""

    id: str
    args: tuple[str, ...]  # after `kedro run`
    pipeline: str = "__default__"  # the registered pipeline those args run
    # Keys left out of the comparison wherever they appear: wall-clock figures.
    ignore_keys: frozenset[str] = frozenset({"train_seconds"})
    # Start from a copy of the smoke run's outputs (for a pipeline that reads them).
    from_smoke_run: bool = False
    # The session's `kedro run --env=smoke` (the smoke_project fixture) is the sequential
    # run: one run fewer on a small machine.
    sequential_is_smoke_run: bool = False


CASES = (
    Case(id="default", args=("--env=smoke",), sequential_is_smoke_run=True),
    # The backtest's folds are namespaces: on two workers they train at the same time.
    Case(
        id="backtest",
        args=("--env=smoke", "--pipelines=backtest"),
        pipeline="backtest",
        from_smoke_run=True,
        ignore_keys=frozenset({"train_seconds"}),
    ),
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


def run_with_both_runners(
    case: Case, workdir: Path, smoke_project: Path
) -> tuple[dict[str, Path], dict[str, str]]:
    """Run ``case`` with the sequential and the Dask runner, each in its own project copy.

    Returns:
        The project folder and the console output of each run, by runner.
    """
    projects, logs = {}, {"sequential": ""}
    for runner, extra in (("sequential", ()), ("dask", DASK)):
        if runner == "sequential" and case.sequential_is_smoke_run:
            projects[runner] = smoke_project
            continue
        project = workdir / runner
        if case.from_smoke_run:
            shutil.copytree(smoke_project, project)
        else:
            copy_project(project)
        catalog = catalog_of(project)
        made_already = [n for n in persisted_outputs(case.pipeline, catalog) if catalog.exists(n)]
        assert not made_already, f"{made_already} exist before the run; it must make them"
        result = run_kedro(project, "run", *case.args, *extra)
        projects[runner] = project
        logs[runner] = result.stdout + result.stderr
    return projects, logs


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
    case, smoke_project, tmp_path, monkeypatch
):
    monkeypatch.setenv("COLUMNS", "250")  # log lines unwrapped by Kedro's rich handler
    projects, logs = run_with_both_runners(case, tmp_path, smoke_project)
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
    log = logs["dask"]
    assert "Starting a local Dask cluster: 2 worker process(es)" in log
    # Each node ran once, in a worker (Kedro logs "Running node" where a node runs).
    nodes = log.count("Running node: ")
    assert nodes == log.count("Completed node: ") and nodes > 0
    assert f"Completed {nodes} out of {nodes} tasks" in log


@pytest.mark.e2e
def test_a_node_failing_on_a_worker_fails_the_run_with_its_own_message(tmp_path):
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
        *DASK,
        check=False,
    )
    log = result.stdout + result.stderr
    assert result.returncode != 0
    assert "CandleDataError" in log and "bad.csv" in log and "close" in log
    assert not (project / "data/02_intermediate/candles.parquet").exists()


# ---------------------------------------------------------------------- in process
def _catalog(tmp_path: Path) -> DataCatalog:
    # "stored" persists to a file; the other intermediate datasets live in memory.
    return DataCatalog(
        {
            "numbers": MemoryDataset([1, 2, 3]),
            "stored": JSONDataset(filepath=str(tmp_path / "stored.json")),
        }
    )


@pytest.mark.e2e  # starts a Dask cluster's worker processes
def test_memory_data_reaches_other_workers_and_independent_nodes_run_in_parallel(tmp_path):
    outputs = DaskRunner(n_workers=2).run(fan_out_pipeline(), _catalog(tmp_path))
    combined = outputs["combined"].load()
    assert combined["doubled"] == [2, 4, 6]  # a MemoryDataset, handed from task to task
    assert JSONDataset(filepath=str(tmp_path / "stored.json")).load() == [4, 8, 12]
    pid_b, pid_c = combined["pids"]
    assert os.getpid() not in {pid_b, pid_c, combined["here"]}
    assert pid_b != pid_c  # the two independent nodes ran in the two workers


@pytest.mark.e2e  # starts a Dask cluster's worker processes
def test_node_hooks_run_on_the_workers(tmp_path, monkeypatch):
    # Workers load the settings of the package the run belongs to: here, one that
    # registers a recording hook.
    import kedro.framework.project as kedro_project

    log = tmp_path / "hooks.log"
    monkeypatch.setenv(LOG_ENV, str(log))  # before the cluster starts: workers inherit it
    monkeypatch.setattr(kedro_project, "PACKAGE_NAME", "tests.integrations.dask_project")
    DaskRunner(n_workers=2).run(fan_out_pipeline(), _catalog(tmp_path))
    events = [line.split() for line in log.read_text().splitlines()]
    ran = sorted(name for event, name, _ in events if event == "before_node_run")
    assert ran == ["b", "c", "combine", "double", "store"]
    assert {name for event, name, _ in events if event == "after_dataset_saved"} >= {
        "doubled",
        "stored",
        "combined",
    }
    assert str(os.getpid()) not in {pid for *_, pid in events}


@pytest.mark.e2e  # starts a Dask cluster's worker processes
def test_a_failing_node_raises_its_own_error_here(tmp_path):
    with pytest.raises(ValueError, match=r"cannot use \[2, 4, 6\]: set numbers"):
        DaskRunner(n_workers=1).run(failing_pipeline(), _catalog(tmp_path))


@pytest.fixture(scope="module")
def running_cluster():
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
