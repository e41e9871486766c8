"""The run lock's file: an ``fcntl`` lock on one file, and who holds it (for messages).

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
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path, PurePath

from lstm_forecast.datasets._stale import process_alive

logger = logging.getLogger(__name__)

__all__ = ["FileLock", "Holder", "command_line"]


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
