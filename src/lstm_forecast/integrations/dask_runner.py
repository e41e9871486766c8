"""``DaskRunner``: run a pipeline's nodes on a ``dask.distributed`` cluster.

    R=lstm_forecast.integrations.dask_runner.DaskRunner
    kedro run --runner=$R                                          # a LocalCluster
    kedro run --runner=$R --runner-params=n_workers=2
    kedro run --runner=$R --runner-params=address=tcp://host:8786
    LSTM_FORECAST_DASK_ADDRESS=tcp://host:8786 kedro run --runner=$R

Adapted from the ``DaskRunner`` in Kedro's deployment guide, page "Dask"
(https://docs.kedro.org/en/stable/deploy/supported-platforms/dask/; source
``docs/deploy/supported-platforms/dask.md`` in github.com/kedro-org/kedro, Apache-2.0):
one Dask task per node, a hook manager built on the worker, results collected with
``as_completed``. Changed for Kedro 1.7 and this project:

- Kedro 1.x runners have no ``create_default_dataset``. Instead of the guide's
  ``_DaskDataset`` (data published on the scheduler), a task returns its node's
  ``MemoryDataset`` outputs and Dask passes them to the tasks that read them, worker to
  worker; free outputs come back into the caller's catalog at the end. Persisted datasets
  pass through their files: workers elsewhere need the same paths (shared or cloud storage).
- A node is submitted when its parents have finished (see ``_run``), not all at once.
- The client, and a ``LocalCluster`` when no address is given, live for one ``run()``
  (the guide opens a global client when the CLI builds the runner and closes it in
  ``__del__``). Kedro 1.7's ``--runner-params`` replaces the guide's custom ``cli.py``.
- The session's catalog class is composed at run time and cannot be pickled; each task
  gets a copy as its nearest importable class (validators included).
- Local workers are not daemons (the export stage starts a process) and fork from the
  forkserver of ``models.fresh_process``, with this run's environment.

Hooks: pipeline hooks run in the ``kedro run`` process, as with every runner. Node and
dataset hooks run on the worker that runs the node (as in the guide and in
``ParallelRunner``'s processes), from a hook manager each task builds from the project's
``settings.HOOKS`` and the plugins' entry points; a hook that gathers state across nodes
sees one node per task there and nothing in this process (kedro-viz's dataset statistics
are ``{}`` after a Dask run; its hooks are left out on workers).
"""

from __future__ import annotations

import functools
import logging
import os
import uuid
from collections import Counter
from collections.abc import Callable
from itertools import chain
from typing import TYPE_CHECKING, Any

# dask.distributed sets its loggers to INFO when imported, after Kedro's logging config, in
# this process and in every worker (they inherit the environment): a hundred lines of
# cluster start-up and shut-down per run. WARNING, like the other libraries; set the
# variable yourself to see them.
os.environ.setdefault("DASK_LOGGING__DISTRIBUTED", "warning")

import dask
import kedro.framework.project as kedro_project
from distributed import Client, LocalCluster, as_completed
from kedro.io import MemoryDataset
from kedro.runner import AbstractRunner

from lstm_forecast.integrations.dask_worker import import_modules, portable_catalog, run_node
from lstm_forecast.models import fresh_process

if TYPE_CHECKING:
    from kedro.io import CatalogProtocol
    from kedro.pipeline import Pipeline
    from kedro.pipeline.node import Node
    from pluggy import PluginManager

ADDRESS_ENV = "LSTM_FORECAST_DASK_ADDRESS"


class DaskRunner(AbstractRunner):
    """Send each node to a ``dask.distributed`` cluster, respecting the pipeline's order."""

    def __init__(
        self,
        address: str | None = None,
        n_workers: int | None = None,
        threads_per_worker: int = 1,
        is_async: bool = False,
    ) -> None:
        """Configure the cluster to use; nothing starts until ``run``.

        Args:
            address: A running scheduler (``tcp://host:8786``); default: the environment
                variable ``LSTM_FORECAST_DASK_ADDRESS``, else a new ``LocalCluster``.
            n_workers: Worker processes of the ``LocalCluster``; default: as many as the
                pipeline can keep busy, at most the number of CPUs.
            threads_per_worker: Threads per local worker; 1 keeps torch and numpy from
                competing for cores inside one process.
            is_async: Load and save each node's inputs and outputs with threads.
        """
        super().__init__(is_async=is_async)
        self._address = address or os.environ.get(ADDRESS_ENV) or None
        for name, value in (
            ("n_workers", 1 if n_workers is None else n_workers),
            ("threads_per_worker", threads_per_worker),
        ):
            if int(value) < 1:
                raise ValueError(f"DaskRunner {name} must be at least 1, got {value}.")
        self._n_workers = None if n_workers is None else int(n_workers)
        self._threads_per_worker = int(threads_per_worker)

    def _get_executor(self, max_workers: int) -> None:
        return None  # Dask schedules; AbstractRunner's executor loop is not used.

    def _get_required_workers_count(self, pipeline: Pipeline) -> int:
        # ParallelRunner's estimate: nodes minus the layers that must wait for each other.
        required = len(pipeline.nodes) - len(pipeline.grouped_nodes) + 1
        return max(1, min(required, os.cpu_count() or 1))

    def _client(self, pipeline: Pipeline) -> tuple[Client, LocalCluster | None]:
        """A client of the configured scheduler, or of a new loopback-only LocalCluster."""
        if self._address:
            self._logger.info("Connecting to the Dask scheduler at %s", self._address)
            return Client(self._address), None
        n_workers = self._n_workers or self._get_required_workers_count(pipeline)
        self._logger.info(
            "Starting a local Dask cluster: %d worker process(es) x %d thread(s)",
            n_workers,
            self._threads_per_worker,
        )
        # Forked from the preloaded forkserver, not daemons (the export starts a process).
        fresh_process.start_server()
        settings = {
            "distributed.worker.multiprocessing-method": "forkserver",
            "distributed.worker.daemon": False,
        }
        with dask.config.set(settings):
            cluster = LocalCluster(
                n_workers=n_workers,
                threads_per_worker=self._threads_per_worker,
                processes=True,
                host="127.0.0.1",  # loopback only, on free ports, no dashboard
                scheduler_port=0,
                dashboard_address=None,
                # The scheduler's small HTTP endpoint (health, metrics) still starts; on a
                # free loopback port rather than 8787, which another run may hold.
                scheduler_kwargs={"dashboard_address": "127.0.0.1:0"},
                silence_logs=logging.WARNING,
                env=dict(os.environ),  # not the forkserver's, from when it started
            )
        return Client(cluster), cluster

    def _run(
        self,
        pipeline: Pipeline,
        catalog: CatalogProtocol,
        hook_manager: PluginManager | None = None,
        run_id: str | None = None,
    ) -> None:
        """Submit each node once its parents are done, and collect them as they finish.

        The guide submits every node at once with all its parents' tasks as arguments; Dask
        runs a task where its arguments are, so independent nodes (two models, two folds)
        queued on the worker of their common parent until work stealing moved them. Here a
        task carries only the parents' tasks whose in-memory outputs its node reads.

        Args:
            pipeline: The ``Pipeline`` to run.
            catalog: The catalog to load and save through (a copy goes with each task).
            hook_manager: Unused here: node hooks run on the workers (see the module).
            run_id: The id of the run.
        """
        in_memory = _memory_outputs(pipeline, catalog)
        load_counts = Counter(chain.from_iterable(n.inputs for n in pipeline.nodes))
        client, cluster = self._client(pipeline)
        schedule = _Schedule(
            pipeline,
            in_memory,
            functools.partial(
                client.submit,
                run_node,
                catalog=portable_catalog(catalog),
                package_name=kedro_project.PACKAGE_NAME,
                logging_config=dict(getattr(kedro_project.LOGGING, "data", {})) or None,
                is_async=self._is_async,
                run_id=run_id,
            ),
        )
        try:
            _warm_up(client, pipeline.nodes)
            schedule.start()
            for future in schedule.pending:
                node = schedule.node_of[future.key]
                if future.status != "finished":
                    self._suggest_resume_scenario(pipeline, schedule.done, catalog)
                    try:
                        future.result()  # raises the node's own exception, with its traceback
                    finally:
                        client.cancel(schedule.other_tasks(future))
                schedule.finish(node)
                self._logger.info("Completed node: %s", node.name)
                self._logger.info(
                    "Completed %d out of %d tasks", len(schedule.done), len(pipeline.nodes)
                )
                self._release_datasets(node, catalog, load_counts, pipeline)
            schedule.save_free_outputs(catalog)
        finally:
            client.close()
            if cluster is not None:
                cluster.close()


class _Schedule:
    """Which node may start, which tasks still hold data, and what the caller gets back.

    A node is submitted once all its parents are done, carrying only the parents' tasks
    whose in-memory outputs it reads; a finished task is let go (so Dask frees its data on
    the worker) once every child is done, unless the caller wants one of its outputs.
    """

    def __init__(
        self, pipeline: Pipeline, in_memory: set[str], submit_task: Callable[..., Any]
    ) -> None:
        self._nodes = pipeline.nodes
        self._order = {node: index for index, node in enumerate(self._nodes)}  # topological
        self._parents = pipeline.node_dependencies
        self._children: dict[Node, set[Node]] = {node: set() for node in self._nodes}
        for node in self._nodes:
            for parent in self._parents[node]:
                self._children[parent].add(node)
        self._in_memory = in_memory
        self._free_outputs = in_memory & pipeline.outputs()
        self._submit_task = submit_task
        self.holding: dict[Node, Any] = {}  # tasks whose in-memory outputs are still needed
        self.node_of: dict[str, Node] = {}
        self.done: set[Node] = set()
        self._submitted: set[Node] = set()
        self.pending = as_completed()

    def start(self) -> None:
        """Submit the nodes that wait for no other."""
        for node in self._nodes:
            if not self._parents[node]:
                self._submit(node)

    def finish(self, node: Node) -> None:
        """Mark ``node`` done, submit the children it completes, let go of spent tasks."""
        self.done.add(node)
        for child in sorted(self._children[node], key=self._order.__getitem__):
            if child not in self._submitted and self._parents[child] <= self.done:
                self._submit(child)
        for finished in (node, *self._parents[node]):
            spent = self._children[finished] <= self.done
            if spent and not self._free_outputs & set(finished.outputs):
                self.holding.pop(finished, None)

    def other_tasks(self, failed: Any) -> list[Any]:
        """Every held task but ``failed`` (cancelled when a node fails)."""
        return [future for future in self.holding.values() if future.key != failed.key]

    def save_free_outputs(self, catalog: CatalogProtocol) -> None:
        """Save the pipeline's in-memory outputs, which only the workers hold, to ``catalog``."""
        for node, future in self.holding.items():
            wanted = self._free_outputs & set(node.outputs)
            if wanted:
                outputs = future.result()
                for name in wanted:
                    catalog.save(name, outputs[name])

    def _submit(self, node: Node) -> None:
        carriers = [
            self.holding[parent]
            for parent in self._parents[node]
            if self._in_memory & set(parent.outputs)
        ]
        future = self._submit_task(
            node=node,
            memory_outputs=sorted(self._in_memory & set(node.outputs)),
            carriers=carriers,
            key=f"{node.name}-{uuid.uuid4().hex[:8]}",
            pure=False,
        )
        self.node_of[future.key] = node
        self.holding[node] = future
        self._submitted.add(node)
        self.pending.add(future)


def _memory_outputs(pipeline: Pipeline, catalog: CatalogProtocol) -> set[str]:
    """Datasets made by the pipeline's nodes that only live in memory."""
    return {
        name
        for name in pipeline.all_outputs()
        if type(catalog.get(name, fallback_to_runtime_pattern=True)) is MemoryDataset
    }


def _warm_up(client: Client, nodes: list[Node]) -> None:
    """Every worker imports the nodes' code now, side by side, instead of each paying for
    it (torch and all) on the critical path when its first node arrives."""
    modules = sorted({getattr(node.func, "__module__", "") for node in nodes} - {""})
    try:
        client.run(import_modules, modules)
    except ImportError as error:
        raise ImportError(
            f"A Dask worker cannot import the pipeline's code ({error}). Install the project "
            "in the workers' environment (`pip install .`) and restart them."
        ) from error
