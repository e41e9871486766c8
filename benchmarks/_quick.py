"""What ``--quick`` shares to cost less: one smoke run's outputs, forks instead of new
interpreters. The figures of --quick mean nothing; it checks that every script still runs.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

import _common as c


def smoke_project(destination: Path, pipelines: list[str] | None = None) -> Path:
    """A project in ``destination`` after `kedro run --env=smoke` (at least ``pipelines``),
    for a --quick script that needs a run's outputs and must run without `make run` first.

    Under ``run_all.py --quick`` one run serves every script (``_common.SMOKE_RUN_ENV``:
    the test suite's shared smoke run, or one made by the first script that asks), copied
    here so that nothing a script writes beside the outputs reaches the others. Alone, a
    script makes its own, only ``pipelines``: a session in this process.
    """
    shared = os.environ.get(c.SMOKE_RUN_ENV)
    if not shared:
        c.session_run(c.copy_project(destination), env="smoke", pipelines=pipelines)
        return destination
    shared_project = Path(shared)
    if not shared_project.is_dir():
        # Made beside it and renamed when complete: a folder that exists is a whole run.
        making = shared_project.with_name(f"{shared_project.name}.making-{os.getpid()}")
        c.session_run(c.copy_project(making), env="smoke")
        making.rename(shared_project)
    shutil.copytree(shared_project, destination, symlinks=True)
    return destination


def forked_child(func: Callable[..., None], args: list[str]) -> dict[str, Any]:
    """``run_child``'s answer from ``func(*args)`` run in a fork of this process instead of
    a new interpreter: for --quick, where the imports of a fresh one are most of the cost.
    ``func`` prints its JSON line last, as the ``--child`` entry point does."""
    read, write = os.pipe()
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:
        os.close(read)
        os.dup2(write, 1)
        code = 0
        try:
            func(*args)
        except BaseException:
            traceback.print_exc()
            code = 1
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)  # not the parent's exit handlers
    os.close(write)
    with os.fdopen(read) as stream:
        output = stream.read()
    status = os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])
    if status != 0:
        raise RuntimeError(f"{func.__name__}({', '.join(args)}) in a fork exited {status}")
    return json.loads(output.strip().splitlines()[-1])
