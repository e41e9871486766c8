"""Atomic local writes for every dataset: one writer, reached through fsspec's ``file`` protocol.

Why this mechanism. kedro-datasets' pandas, JSON, text, pickle and matplotlib datasets all
write through ``self._fs.open(path, "w…")`` on the filesystem that
``fsspec.filesystem("file")`` returns. Registering :class:`AtomicLocalFileSystem` as that
protocol's implementation (``register()``, called by the project's hook when a Kedro context
is created) makes each of those writes go to a temporary file in the target's folder, fsynced
and renamed over the target when the dataset closes it cleanly, and removed when the save
raises. The project's own checkpoint and ONNX datasets use the same writer
(:func:`atomic_open`). Nothing in ``catalog.yml`` changes, so entries stay as written,
kedro-viz previews and layers keep working, versioned datasets keep their own paths, and a
dataset added later is covered without anyone remembering a wrapper.

Alternatives that were checked and not taken:

- fsspec transactions (``fs.transaction``): ``LocalFileOpener`` then writes to
  ``tempfile.mkstemp()`` in the *system* temporary folder, commits with ``shutil.move``
  (a copy, not an atomic rename, when /tmp is another filesystem), never fsyncs, and only
  at the end of the whole transaction; and filesystem instances are shared between datasets.
- a wrapper dataset (``type: Atomic`` around each entry): a nested config in every entry,
  previews and versioning to forward by hand, and a new entry is unprotected by default.
- a save hook: hooks see a save before and after it, but cannot redirect its bytes, so a
  kill in between still leaves a torn file at the dataset's path.

Appends (``"a"``), reads and fsspec transactions keep fsspec's own behaviour.
"""

from __future__ import annotations

import os
import re
import sys
import tempfile
from pathlib import Path
from typing import Any

import fsspec
from fsspec.implementations.local import LocalFileOpener, LocalFileSystem

from . import _faults

# mkstemp creates 0600 files; a committed file gets the permissions open() would give it.
_UMASK = os.umask(0)
os.umask(_UMASK)

# `.<target name>.<writer pid>.<random>.tmp`: the pid tells a later run whether the writer is
# gone (its file is stale) or still writing (left alone).
_TEMPORARY = re.compile(r"^\.(?P<target>.+)\.(?P<pid>\d+)\.[A-Za-z0-9_]+\.tmp$")


def temporary_prefix(target: str | Path) -> str:
    """The name prefix of this process's temporary files for ``target``."""
    return f".{Path(target).name}.{os.getpid()}."


def parse_temporary(name: str) -> tuple[str, int] | None:
    """``(target name, writer pid)`` of a temporary file name this writer made, else None."""
    match = _TEMPORARY.match(name)
    return (match["target"], int(match["pid"])) if match else None


def _fsync_folder(folder: str) -> None:
    # The rename is durable only once the folder's entry is on disk too.
    try:
        descriptor = os.open(folder, os.O_RDONLY)
    except OSError:  # e.g. a platform without directory descriptors
        return
    try:
        os.fsync(descriptor)
    except OSError:
        pass
    finally:
        os.close(descriptor)


class AtomicFile(LocalFileOpener):
    """A local file open for writing whose bytes replace ``path`` only on a clean close.

    Closing after an exception (inside ``with``, or ``close()`` while one propagates)
    deletes the temporary file and leaves ``path`` as it was.
    """

    def __init__(self, path: str, mode: str = "wb", fs: Any = None, **kwargs: Any) -> None:
        if "w" not in mode or "b" not in mode:
            raise ValueError(f"AtomicFile writes whole binary files (mode 'wb'), not {mode!r}.")
        self.temp: str | None = None
        self.written = 0
        super().__init__(path, mode, autocommit=False, fs=fs, **kwargs)

    def _open(self) -> None:
        if self.f is not None:
            return  # a write handle is opened once; reopening would lose what was written
        folder = os.path.dirname(self.path) or "."
        handle, self.temp = tempfile.mkstemp(
            dir=folder, prefix=temporary_prefix(self.path), suffix=".tmp"
        )
        self.f = os.fdopen(handle, self.mode)

    def write(self, data: Any) -> int:
        size = memoryview(data).nbytes
        _faults.before_write(self, self.written, size, data)
        written = self.f.write(data)
        self.written += size
        return written

    def commit(self) -> None:
        """Flush, fsync and rename the temporary file over ``path``."""
        if self.f.closed:
            return
        try:
            self.f.flush()
            os.fsync(self.f.fileno())
            self.f.close()
            os.chmod(self.temp, 0o666 & ~_UMASK)
            _faults.before_rename(self)
            os.replace(self.temp, self.path)
        except BaseException:
            self.discard()
            raise
        _fsync_folder(os.path.dirname(self.path) or ".")

    def discard(self) -> None:
        """Close and delete the temporary file; ``path`` is left untouched."""
        if not self.f.closed:
            self.f.close()
        if self.temp is not None:
            Path(self.temp).unlink(missing_ok=True)

    def close(self) -> None:
        # TextIOWrapper and pyarrow close the file rather than leave a `with` block, so
        # "is an exception propagating?" is the only way to tell a failed save here.
        if sys.exc_info()[1] is None:
            self.commit()
        else:
            self.discard()

    def __exit__(self, exc_type: Any, exc_value: Any, traceback: Any) -> None:
        self._incontext = False
        if exc_type is None:
            self.commit()
        else:
            self.discard()

    def __del__(self) -> None:
        # Never closed: the write did not finish, so it must not replace anything.
        file = self.__dict__.get("f")  # not getattr: the opener forwards unknown names to f
        if file is not None and not file.closed:
            self.discard()


def atomic_open(path: str | Path) -> AtomicFile:
    """Open ``path`` for an atomic binary write (use as a context manager)."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    return AtomicFile(os.fspath(path), "wb")


class AtomicLocalFileSystem(LocalFileSystem):
    """fsspec's local filesystem, with whole-file writes made atomic by :class:`AtomicFile`."""

    def _open(
        self, path: str, mode: str = "rb", block_size: Any = None, **kwargs: Any
    ) -> LocalFileOpener:
        if "w" not in mode or not kwargs.get("autocommit", True):
            return super()._open(path, mode=mode, block_size=block_size, **kwargs)
        path = self._strip_protocol(path)
        if self.auto_mkdir:
            self.makedirs(self._parent(path), exist_ok=True)
        kwargs.pop("autocommit", None)
        return AtomicFile(path, mode, fs=self, **kwargs)


def register() -> None:
    """Make ``fsspec.filesystem("file")`` (what kedro-datasets use) the atomic filesystem.

    Idempotent. Filesystems created before the call keep their class, so call it before
    the catalog creates datasets (the project's hook does, at ``after_context_created``).
    """
    for protocol in ("file", "local"):
        if fsspec.get_filesystem_class(protocol) is not AtomicLocalFileSystem:
            fsspec.register_implementation(protocol, AtomicLocalFileSystem, clobber=True)
