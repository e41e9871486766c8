"""A testing aid: kill the run hard in the middle of one dataset's write.

Inert unless the environment variable ``LSTM_FORECAST_FAULT`` is set. Its value is
``<dataset name>:<bytes>`` or ``<dataset name>:rename``:

- ``forecast_metrics:100`` — when the atomic writer writes that dataset's file, the first
  100 bytes reach the temporary file (flushed to the operating system, as a real kill would
  leave them), then the process sends itself SIGKILL;
- ``model_checkpoint:rename`` — the file is written completely, then the process is killed
  just before the rename that would publish it.

The project's hook arms it at ``before_pipeline_run`` with the dataset's file path from the
catalog, so it fires in the process that runs the pipeline (SequentialRunner, ThreadRunner,
``--async`` saves included; not in ParallelRunner's or Dask's worker processes), and a run
with the variable set logs a warning. The fault-injection tests
(tests/test_fault_injection.py) use it to check that no kill ever leaves a torn or empty
file at a dataset's path.
"""

from __future__ import annotations

import logging
import os
import signal
from pathlib import Path
from typing import Any, NamedTuple

FAULT_ENV = "LSTM_FORECAST_FAULT"

logger = logging.getLogger(__name__)


class Fault(NamedTuple):
    """Kill while writing ``path`` (or a file under it: a versioned dataset's folder)."""

    dataset: str
    path: str  # absolute
    when: int | str  # bytes written before the kill, or "rename"


_armed: Fault | None = None


def requested() -> tuple[str, int | str] | None:
    """The ``(dataset name, bytes or "rename")`` the variable asks for, or None when unset."""
    value = os.environ.get(FAULT_ENV, "").strip()
    if not value:
        return None
    name, _, when = value.rpartition(":")
    if not name or not (when == "rename" or (when.isdigit() and int(when) > 0)):
        raise ValueError(
            f"{FAULT_ENV}={value!r}: expected <dataset name>:<bytes> (a positive integer) "
            "or <dataset name>:rename. Unset it for a normal run."
        )
    return name, (when if when == "rename" else int(when))


def arm(dataset: str, path: str | Path, when: int | str) -> None:
    """Kill this process while it writes ``path`` (see the module docstring)."""
    global _armed  # noqa: PLW0603  one fault per process, set once before the run
    _armed = Fault(dataset, os.path.abspath(path), when)
    logger.warning(
        "%s: this run will be killed while it writes %r (%s, %s).",
        FAULT_ENV,
        dataset,
        path,
        f"after {when} bytes" if when != "rename" else "before the rename",
    )


def disarm() -> None:
    global _armed  # noqa: PLW0603
    _armed = None


def _target(file: Any) -> Fault | None:
    if _armed is None:
        return None
    path = os.path.abspath(file.path)
    inside = path == _armed.path or path.startswith(_armed.path + os.sep)
    return _armed if inside else None


def _kill(fault: Fault, file: Any, stage: str) -> None:
    logger.warning("%s: killing this run %s of %r.", FAULT_ENV, stage, fault.dataset)
    if not file.f.closed:  # the bytes reach the kernel and outlive the process, as in a real kill
        file.f.flush()
    os.kill(os.getpid(), signal.SIGKILL)


def before_write(file: Any, written: int, size: int, data: Any) -> None:
    """Called by the atomic writer before each write of ``size`` bytes."""
    fault = _target(file)
    if fault is not None and isinstance(fault.when, int) and written + size >= fault.when:
        file.f.write(memoryview(data).cast("B")[: fault.when - written])
        _kill(fault, file, f"after {fault.when} bytes of its write")


def before_rename(file: Any) -> None:
    """Called by the atomic writer once the temporary file is complete, before the rename."""
    fault = _target(file)
    if fault is not None and fault.when == "rename":
        _kill(fault, file, "before the rename that publishes its write")
