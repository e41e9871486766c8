"""kedro-mlflow without its start-up cost: MLflow is imported only by what uses it.

kedro-mlflow registers two entry points that Kedro loads whether or not anything is tracked,
and both import MLflow (about 1.3 s, with pandas and FastAPI behind it):

- ``kedro.project_commands``: ``kedro_mlflow.framework.cli.cli:commands``, loaded by every
  ``kedro`` command (even ``kedro --help``) to list ``kedro mlflow``;
- ``kedro.hooks``: ``mlflow_hook``, loaded by every Kedro session (``kedro run``, kedro-viz,
  notebooks), which ``settings.DISABLE_HOOKS_FOR_PLUGINS`` then unregisters: the project's
  ``TrackingHooks`` drives kedro-mlflow's hook itself, for tracked runs only.

Three pieces keep MLflow out until a command or a tracked run needs it:

- ``install_lazy_cli()`` runs from the project's ``kedro.init`` entry point, before Kedro
  loads plugin commands. It puts ``LazyCliModule`` in ``sys.modules`` under the CLI's module
  name, so Kedro's entry point finds a ``commands`` group listing ``mlflow`` with its help
  text; running ``kedro mlflow ...`` (or reading any other attribute of the module) swaps
  the real module in, imported quietly.
- ``KEDRO_MLFLOW_HOOK``: ``TrackingHooks`` is registered under kedro-mlflow's hook entry
  point name, and pluggy does not load an entry point whose name is already registered.
- ``quiet_import()``: kedro-mlflow's modules imported without MLflow's warning, over a
  dozen coloured lines, about kedro-mlflow's untyped ``predict``; shared by both paths.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import logging
import sys
import types
import warnings
from collections.abc import Mapping
from typing import Any

import click

CLI_MODULE = "kedro_mlflow.framework.cli.cli"
CLI_ENTRY_POINT = f"{CLI_MODULE}:commands"
HOOK_MODULE = "kedro_mlflow.framework.hooks.mlflow_hook"
# kedro-mlflow's `kedro.hooks` entry-point name (its entry_points.txt).
KEDRO_MLFLOW_HOOK = "mlflow_hook"
# The help texts of kedro-mlflow 2.0's groups, shown by `kedro --help` without importing it.
_PLUGIN_HELP = "Kedro plugin for interactions with mlflow."
_MLFLOW_HELP = "Use mlflow-specific commands inside kedro project."
# kedro-mlflow's dataset classes whose names its after_catalog_created hook fixes.
_METRIC_DATASETS = (
    "MlflowMetricDataset",
    "MlflowMetricHistoryDataset",
    "MlflowMetricsHistoryDataset",
)


def quiet_import(name: str) -> types.ModuleType:
    """Import ``name`` (a kedro-mlflow module) with MLflow's import-time warnings muted.

    MLflow warns, when kedro-mlflow's model class is defined, that its ``predict`` has no
    type hints; the warning reaches the console through Kedro's logging of warnings
    (``py.warnings``), past the warning filters, so that logger is muted too. kedro-mlflow
    and MLflow set their own loggers to INFO when imported, after conf/logging.yml was
    applied; they are put back to WARNING (store creation and URI notes on every run).
    """
    captured = logging.getLogger("py.warnings")
    muted, captured.disabled = captured.disabled, True
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            module = importlib.import_module(name)
    finally:
        captured.disabled = muted
    for logger_name in ("kedro_mlflow", "mlflow"):
        logging.getLogger(logger_name).setLevel(logging.WARNING)
    return module


def real_cli() -> types.ModuleType:
    """kedro-mlflow's CLI module, imported (quietly) in place of the stand-in if need be."""
    module = sys.modules.get(CLI_MODULE)
    if isinstance(module, LazyCliModule):
        del sys.modules[CLI_MODULE]
        try:
            return quiet_import(CLI_MODULE)
        except BaseException:
            sys.modules[CLI_MODULE] = module
            raise
    return module if module is not None else quiet_import(CLI_MODULE)


class LazyMlflowGroup(click.Group):
    """``kedro mlflow``: kedro-mlflow's group, loaded when its subcommands are asked for."""

    def __init__(self) -> None:
        super().__init__(name="mlflow", help=_MLFLOW_HELP)

    @staticmethod
    def _real() -> click.Group:
        return real_cli().mlflow_commands

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(self._real().list_commands(ctx))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        return self._real().get_command(ctx, cmd_name)


class LazyCliModule(types.ModuleType):
    """Stands in for ``kedro_mlflow.framework.cli.cli`` until more than its group is read."""

    def __init__(self) -> None:
        super().__init__(CLI_MODULE, __doc__)
        self.commands = click.Group(name="Mlflow", help=_PLUGIN_HELP, commands=[LazyMlflowGroup()])

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):  # probes such as __path__ or __wrapped__ load nothing
            raise AttributeError(name)
        return getattr(real_cli(), name)


def _cli_entry_point_is_known() -> bool:
    """Whether the installed kedro-mlflow declares the CLI entry point the stand-in mimics."""
    try:
        entry_points = importlib.metadata.distribution("kedro-mlflow").entry_points
    except importlib.metadata.PackageNotFoundError:
        return False
    return any(
        point.group == "kedro.project_commands" and point.value == CLI_ENTRY_POINT
        for point in entry_points
    )


def install_lazy_cli() -> bool:
    """Put the stand-in for kedro-mlflow's CLI in ``sys.modules`` (idempotent).

    Returns:
        Whether the stand-in is in place: False when kedro-mlflow is not installed, its CLI
        is already imported, or it declares another entry point than the one mimicked.
    """
    current = sys.modules.get(CLI_MODULE)
    if isinstance(current, LazyCliModule):
        return True
    if current is not None or not _cli_entry_point_is_known():
        return False
    sys.modules[CLI_MODULE] = LazyCliModule()
    return True


def uses_metric_datasets(conf_catalog: Mapping[str, Any]) -> bool:
    """Whether the catalog configuration declares a kedro-mlflow metric dataset.

    kedro-mlflow's ``after_catalog_created`` only renames those, but finds them by building
    every dataset of the catalog, which imports torch for a checkpoint and matplotlib for a
    plot; without them there is nothing for it to do.
    """
    for entry in conf_catalog.values():
        kind = entry.get("type") if isinstance(entry, Mapping) else None
        if isinstance(kind, str) and kind.rsplit(".", 1)[-1] in _METRIC_DATASETS:
            return True
    return False
