"""Processes the stale-file tests need: one that has exited, one that is running."""

from __future__ import annotations

import subprocess
import sys

import pytest


@pytest.fixture(scope="module")
def dead_pid() -> int:
    """The id of a process that has exited (and been reaped)."""
    child = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        check=True,
        capture_output=True,
        text=True,
    )
    return int(child.stdout)


@pytest.fixture(scope="module")
def live_pid():
    """The id of a process that is running (a child of ours, not the test runner's parent:
    a mutant that signals "live" writers must not reach the process that runs the tests)."""
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
    yield child.pid
    child.kill()
    child.wait(timeout=30)
