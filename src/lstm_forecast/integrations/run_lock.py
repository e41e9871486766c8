"""One writing ``kedro run`` per data folder at a time: a lock file taken for the whole run.

``RunLockHooks`` (registered first in ``settings.HOOKS``) wraps ``before_pipeline_run``:
before any other hook runs (DurabilityHooks' cleanup of killed runs' files, the MLflow run)
it works out which local files the run's pipeline writes and takes the lock for them; a
second writing run is refused at once (``RunLockedError``: exit 1 through ``cli.py``,
nothing written). The lock is released after the run, failed or not. Pipeline hooks run in
the ``kedro run`` process for every runner (Dask's and ParallelRunner's too), and
``python -m lstm_forecast`` and ``session.run()`` in a notebook go through the same hooks.
Commands that run no pipeline (kedro-viz, ``kedro registry``, serving, a notebook's
``catalog.load``) never take it.

Scopes. ``<data>/.kedro-run.lock`` (``<data>`` is the top folder of the files the run
writes, ``data`` here) is taken *exclusively* by every run that writes anything outside a
side scope. A run whose written datasets are all named ``inference…``, ``backtest…`` or
``tuning…`` writes only its own outputs: it takes ``<data>/.kedro-run-<scope>.lock``
exclusively (one such run per scope; tuning workers share theirs, since several may tune
one study) and ``.kedro-run.lock`` *shared*, so inference, a backtest and a tuning study
run side by side, while a run that rewrites their inputs
(candles, features, published models) waits for all of them, and they for it.

The lock file itself (``FileLock``, ``Holder``): ``lstm_forecast.integrations.lock_file``.
"""

from __future__ import annotations

import logging
import os
import socket
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kedro.framework.hooks import hook_impl

from lstm_forecast.datasets._stale import catalog_files, process_alive
from lstm_forecast.errors import LstmForecastError
from lstm_forecast.integrations.lock_file import FileLock, Holder

logger = logging.getLogger(__name__)

LOCK_NAME = ".kedro-run.lock"
SIDE_SCOPES = ("inference", "backtest", "tuning")
# Several workers tune one study together on purpose (Optuna's storage hands out the
# trials), so tuning runs share their scope's lock too.
SHARED_SCOPES = ("tuning",)


class RunLockedError(LstmForecastError):
    """Another run is writing to the same data folder."""


@dataclass(frozen=True)
class LockPlan:
    """Which lock files a run takes: ``data`` folder, and a side scope or None."""

    root: Path
    scope: str | None

    def locks(self) -> list[FileLock]:
        main = FileLock(self.root / LOCK_NAME, shared=self.scope is not None)
        if self.scope is None:
            return [main]
        side = FileLock(
            self.root / f".kedro-run-{self.scope}.lock", shared=self.scope in SHARED_SCOPES
        )
        return [side, main]


def plan(pipeline: Any, catalog: Any, project: Path) -> LockPlan | None:
    """The locks a run of ``pipeline`` needs: None when it writes no local file."""
    outputs = set(pipeline.all_outputs())
    written = [(name, path) for name, path, _ in catalog_files(catalog, outputs) if name in outputs]
    if not written:
        return None
    scopes = {_side_scope(name) for name, _ in written}
    scope = scopes.pop() if len(scopes) == 1 else None
    return LockPlan(data_root([path for _, path in written], project), scope)


def _side_scope(name: str) -> str | None:
    for scope in SIDE_SCOPES:
        if name == scope or name.startswith((f"{scope}.", f"{scope}_")):
            return scope
    return None


def data_root(paths: list[Path], project: Path) -> Path:
    """The project's folder that holds every written file (``<project>/data``).

    The top folder below the project, not the files' common folder: a run that writes
    only ``data/08_reporting`` must meet the lock of one that writes all of ``data``.
    Files outside the project: their common folder.
    """
    project = project.absolute()
    full = [path if path.is_absolute() else project / path for path in paths]
    tops = {_top_folder(path, project) for path in full}
    if len(tops) == 1 and None not in tops:
        return project / tops.pop()
    common = Path(os.path.commonpath([path.parent for path in full]))
    return common if common.parent != common else project


def _top_folder(path: Path, project: Path) -> str | None:
    if not path.is_relative_to(project):
        return None
    parts = path.relative_to(project).parts
    return parts[0] if len(parts) > 1 else None


# A holder writes its details just after it takes the lock; a run refused in between
# waits this long for them rather than say nothing of who holds it.
DETAILS_WAIT_S = 2.0


def refusal(root: Path, lock: FileLock) -> RunLockedError:
    """The message for a run that found ``lock`` taken: who holds it, what to do."""
    deadline = time.monotonic() + DETAILS_WAIT_S
    text = lock.last_text
    while not (described := _holders(root, text)) and time.monotonic() < deadline:
        time.sleep(0.02)
        text = _peek(lock.path)
    who = "; ".join(described or ["details not written yet"])
    return RunLockedError(
        f"another kedro run ({who}) is writing to {_shown(root)}/; wait for it, or run "
        "this one with --env/--params pointing at another data folder"
    )


def _holders(root: Path, text: str) -> list[str]:
    """Who holds the lock whose file says ``text``, or the side runs sharing it."""
    holders = [Holder.parse(text)]
    if holders[0] is None or not _alive(holders[0]):
        # The main lock shared by side runs: they say who they are.
        holders = [Holder.parse(_peek(p)) for p in sorted(root.glob(".kedro-run-*.lock"))]
    return [h.describe() for h in holders if h is not None]


def _shown(root: Path) -> str:
    """``data`` when it is below the working folder (as the user typed paths), else in full."""
    try:
        return root.absolute().relative_to(Path.cwd()).as_posix()
    except ValueError:
        return root.as_posix()


def _alive(holder: Holder) -> bool:
    return holder.host != socket.gethostname() or process_alive(holder.pid)


def _peek(path: Path) -> str:
    try:
        return path.read_text("utf-8", "replace")
    except OSError:
        return ""


class RunLockHooks:
    """Takes the run lock before every other ``before_pipeline_run``; frees it at the end."""

    def __init__(self) -> None:
        self._held: list[FileLock] = []

    def acquire(self, pipeline: Any, catalog: Any, project: Path | None = None) -> None:
        """Take every lock of the run's plan, or none and raise ``RunLockedError``."""
        if self._held:  # a run inside a run: the outer one holds the lock already
            return
        lock_plan = plan(pipeline, catalog, project or Path.cwd())
        if lock_plan is None:
            return
        for lock in lock_plan.locks():
            if not lock.acquire():
                self.release()
                raise refusal(lock_plan.root, lock)
            self._held.append(lock)
        logger.info("Holding the run lock on %s/ until this run ends.", lock_plan.root.as_posix())

    def release(self) -> None:
        while self._held:
            self._held.pop().release()

    @hook_impl(wrapper=True)
    def before_pipeline_run(self, run_params: dict[str, Any], pipeline: Any, catalog: Any) -> Any:
        self.acquire(pipeline, catalog, Path(run_params.get("project_path") or Path.cwd()))
        try:
            return (yield)
        except BaseException:  # a later hook refused the run: it will not start
            self.release()
            raise

    @hook_impl(wrapper=True)
    def after_pipeline_run(self, run_params: dict[str, Any], pipeline: Any, catalog: Any) -> Any:
        try:
            return (yield)
        finally:
            self.release()

    @hook_impl(wrapper=True)
    def on_pipeline_error(
        self, error: Exception, run_params: dict[str, Any], pipeline: Any, catalog: Any
    ) -> Any:
        try:
            return (yield)
        finally:
            self.release()
