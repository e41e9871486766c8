"""What the Dask runner's workers run: set a worker up once, run one node, hand on its
in-memory outputs (``dask_runner.DaskRunner`` submits these functions)."""

from __future__ import annotations

import importlib
import pickle
import sys
from typing import TYPE_CHECKING, Any

import kedro.framework.project as kedro_project
from kedro.framework.hooks.manager import (
    _create_hook_manager,
    _register_hooks,
    _register_hooks_entry_points,
)
from kedro.runner.task import Task

if TYPE_CHECKING:
    from kedro.io import CatalogProtocol
    from kedro.pipeline.node import Node

# Plugins whose hooks only gather for the `kedro run` process: kedro-viz's dataset statistics
# and run events feed `.viz/` files that process writes. On a worker they never saw the
# catalog and log a warning for every dataset, so workers leave them out.
_DRIVER_ONLY_PLUGINS = ("kedro-viz",)
# (package, logging config) this worker process was set up with; see run_node.
_WORKER_SETUP: tuple[str | None, str] | None = None


def import_modules(names: list[str]) -> None:
    """Import ``names`` (on every worker, before the first node arrives)."""
    for name in names:
        importlib.import_module(name)


def portable_catalog(catalog: CatalogProtocol) -> CatalogProtocol:
    """The catalog as an instance of its nearest importable class, so that it pickles.

    Kedro's session composes ``DataCatalogWithCatalogCommandsMixin`` at run time; its
    importable base ``DataCatalog`` holds all the state the nodes need.
    """
    for cls in type(catalog).__mro__:
        module = sys.modules.get(cls.__module__)
        if getattr(module, cls.__qualname__, None) is cls:
            break
    if cls is type(catalog):
        return catalog
    state = catalog.__getstate__() if hasattr(catalog, "__getstate__") else vars(catalog)
    portable = cls.__new__(cls)
    portable.__dict__.update(state)
    pickle.dumps(portable)  # fail here, naming the catalog, rather than inside Dask
    return portable


def run_node(
    node: Node,
    catalog: CatalogProtocol,
    memory_outputs: list[str],
    package_name: str | None,
    logging_config: dict[str, Any] | None,
    is_async: bool,
    run_id: str | None,
    carriers: list[dict[str, Any]],
) -> dict[str, Any]:
    """Run one node on a Dask worker; returns its outputs that live only in memory.

    Args:
        node: The node to run.
        catalog: This task's own copy of the run's catalog.
        memory_outputs: The node's outputs that no dataset persists.
        package_name: The project package, to load its settings and hooks on the worker.
        logging_config: The run's logging configuration.
        is_async: Load and save with threads.
        run_id: The id of the run, passed to hooks.
        carriers: The in-memory outputs of the nodes this one depends on (submitted as
            their tasks; Dask waits for them and passes their results).

    Returns:
        ``{dataset name: data}`` for ``memory_outputs``.
    """
    global _WORKER_SETUP  # noqa: PLW0603 - once per worker process, not once per node
    setup = (package_name, repr(logging_config))
    if setup != _WORKER_SETUP:
        if package_name:
            kedro_project.configure_project(package_name)
        if logging_config:
            kedro_project.configure_logging(logging_config)
        _WORKER_SETUP = setup
    hook_manager = _create_hook_manager()
    _register_hooks(hook_manager, kedro_project.settings.HOOKS)
    disabled = {*kedro_project.settings.DISABLE_HOOKS_FOR_PLUGINS, *_DRIVER_ONLY_PLUGINS}
    _register_hooks_entry_points(hook_manager, disabled)

    for produced in carriers:
        for name, data in produced.items():
            if name in node.inputs:
                catalog.get(name).save(data)
    Task(
        node=node, catalog=catalog, is_async=is_async, hook_manager=hook_manager, run_id=run_id
    ).execute()
    return {name: catalog.load(name) for name in memory_outputs}
