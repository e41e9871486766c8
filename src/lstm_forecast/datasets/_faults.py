"""A testing aid: kill the run hard in the middle of one dataset's write.

Inert unless the environment variable ``LSTM_FORECAST_FAULT`` is set. Its value is
``<dataset name>:<bytes>`` or ``<dataset name>:rename``:

- ``forecast_metrics:100`` — while the catalog saves ``forecast_metrics``, the first file
  that reaches 100 bytes gets exactly those 100 bytes (flushed to the operating system, as
  a real kill would leave them), then the process sends itself SIGKILL;
- ``model_checkpoint:rename`` — the file is written completely, then the process is killed
  just before the rename that would publish it.

The project's hook arms it at ``before_dataset_saved`` and disarms it after the save; the
fault-injection tests (tests/test_fault_injection.py) use it to check that no kill ever
leaves a torn or empty file at a dataset's path. A run with the variable set logs a warning.
"""

from __future__ import annotations

import logging
import os
import signal
from typing import Any

FAULT_ENV = "LSTM_FORECAST_FAULT"

logger = logging.getLogger(__name__)

# The fault for the save in progress, if the variable names that dataset: bytes or "rename".
_armed: int | str | None = None


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


def arm(dataset_name: str) -> None:
    """Arm the fault if the variable names ``dataset_name``; called before each save."""
    global _armed  # noqa: PLW0603  one process, one save at a time (SequentialRunner)
    fault = requested()
    _armed = fault[1] if fault and fault[0] == dataset_name else None
    if _armed is not None:
        logger.warning("%s: killing this run while it saves %r (%s).", FAULT_ENV, *fault)


def disarm() -> None:
    """Disarm after the save."""
    global _armed  # noqa: PLW0603
    _armed = None


def _kill(file: Any) -> None:
    file.f.flush()  # the bytes reach the kernel, so they outlive the process, as in a real kill
    os.kill(os.getpid(), signal.SIGKILL)


def before_write(file: Any, written: int, size: int, data: Any) -> None:
    """Called by the atomic writer before each write of ``size`` bytes."""
    if isinstance(_armed, int) and written + size >= _armed:
        file.f.write(memoryview(data).cast("B")[: _armed - written])
        _kill(file)


def before_rename(file: Any) -> None:
    """Called by the atomic writer once the temporary file is complete, before the rename."""
    if _armed == "rename":
        os.kill(os.getpid(), signal.SIGKILL)
