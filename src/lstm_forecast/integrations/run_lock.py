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

``fcntl.lockf`` (POSIX record locks), not ``filelock``: the kernel drops the lock when its
process dies, even by ``kill -9``, so a dead holder never blocks anyone and no guess based
on pids or ages is needed; shared locks exist; forked children (DataLoader workers) do not
inherit it. The file's text (pid, host, command, start) is for the messages only: text
left there by a process that no longer holds the lock means a killed run, and the run
that takes the lock over says so. Caveat of POSIX locks: closing *any* descriptor of the
file in the holding process drops the lock, so the file is opened once and never reopened.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import shlex
import socket
import sys
import time
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path, PurePath
from typing import Any

from kedro.framework.hooks import hook_impl

from lstm_forecast.datasets._stale import catalog_files, process_alive
from lstm_forecast.errors import LstmForecastError

logger = logging.getLogger(__name__)

LOCK_NAME = ".kedro-run.lock"
SIDE_SCOPES = ("inference", "backtest", "tuning")
# Several workers tune one study together on purpose (Optuna's storage hands out the
# trials), so tuning runs share their scope's lock too.
SHARED_SCOPES = ("tuning",)


class RunLockedError(LstmForecastError):
    """Another run is writing to the same data folder."""


@dataclass(frozen=True)
class Holder:
    """Who holds a lock: what the file says, for messages."""

    pid: int
    host: str
    command: str
    started: str

    @classmethod
    def me(cls) -> Holder:
        started = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
        return cls(os.getpid(), socket.gethostname(), command_line(), started)

    @classmethod
    def parse(cls, text: str) -> Holder | None:
        try:
            return cls(**json.loads(text))
        except (ValueError, TypeError):
            return None

    def describe(self) -> str:
        where = f"pid {self.pid}"
        if self.host != socket.gethostname():
            where += f" on {self.host}"
        return f'{where}, started {self.started}, "{self.command}"'


def command_line(argv: list[str] | None = None) -> str:
    """The command as a user typed it: ``kedro run …`` or ``python -m lstm_forecast …``."""
    argv = list(sys.argv if argv is None else argv) or ["python"]
    head = PurePath(argv[0])
    first = f"python -m {head.parent.name}" if head.name == "__main__.py" else head.name
    return " ".join([first, *(shlex.quote(arg) for arg in argv[1:])])


class FileLock:
    """One lock file, taken without waiting, exclusive or shared."""

    def __init__(self, path: Path, shared: bool = False) -> None:
        self.path = Path(path)
        self.shared = shared
        self._fd: int | None = None
        self.last_text = ""  # what the file said when the lock was refused

    def acquire(self) -> bool:
        """Take the lock if free; False (and nothing held) if another process has it."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        mode = fcntl.LOCK_SH if self.shared else fcntl.LOCK_EX
        try:
            fcntl.lockf(fd, mode | fcntl.LOCK_NB)
        except OSError:
            self.last_text = _read(fd)
            os.close(fd)
            return False
        self._fd = fd
        left = Holder.parse(_read(fd))
        if left is not None and left.pid != os.getpid():
            # The text is written by exclusive holders only: a holder that no longer
            # holds the lock we now have was killed before it could clear it.
            state = "was killed" if not process_alive(left.pid) else "no longer holds it"
            logger.warning(
                "Took over the run lock %s: its holder (%s) %s; the next step removes "
                "what that run left half-written.",
                self.path,
                left.describe(),
                state,
            )
        _write(fd, "" if self.shared else json.dumps(asdict(Holder.me())))
        return True

    def release(self) -> None:
        """Clear the holder's text (a clean end) and unlock."""
        if self._fd is None:
            return
        fd, self._fd = self._fd, None
        try:
            if not self.shared:
                os.ftruncate(fd, 0)
        finally:
            os.close(fd)  # closing drops the lock

    @property
    def held(self) -> bool:
        return self._fd is not None


def _read(fd: int) -> str:
    return os.pread(fd, 4096, 0).decode("utf-8", "replace")


def _write(fd: int, text: str) -> None:
    os.ftruncate(fd, 0)
    os.pwrite(fd, text.encode(), 0)
    os.fsync(fd)


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
