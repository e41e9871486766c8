"""Runs the real Kedro CLI in forked children of one pre-imported process, for the tests.

Usage: ``python tests/_kedro_forker.py`` (started by ``tests/conftest.py``, one per test
worker). A `kedro run` of the smoke settings spends about 5 s of CPU importing Kedro, torch,
Lightning, pandas and onnx before its first node, and the suite starts dozens of them. This
process imports them once; then each request line on stdin

    {"argv": [...], "cwd": "...", "env": {...}, "stdout": path, "stderr": path}

forks a child that becomes what ``kedro <argv>`` started in ``cwd`` with ``env`` would be:
the same CLI entry point (``kedro.framework.cli.main``), the project's logging file read
afresh in that folder, output in the two files. With ``"code": source`` in the request the
child runs ``python -c <source> <argv>`` instead (a test that registers a kind before the
CLI, or exports twice in one process). It answers ``{"pid": n}`` at once and
``{"returncode": n}`` when the child ends (negative for a signal, as ``subprocess`` says).
With ``"offline": true`` the child first leaves the network (what ``unshare -n`` does).
Each child also starts the project's forkserver (``lstm_forecast.models.fresh_process``) as a
fork of itself before the run, not as a new interpreter that imports torch again.

Runs that must show what a fresh interpreter imports (torch-free inference, the start-up
tests) do not come here: they start their own process.
"""

from __future__ import annotations

import atexit
import ctypes
import importlib
import json
import multiprocessing.connection
import multiprocessing.forkserver
import os
import pkgutil
import socket
import sys
import traceback
from importlib.metadata import entry_points
from pathlib import Path

# Run as a script, Python puts tests/ first on the path, where the test packages that
# mirror src/ (tests/onnx/ ...) would shadow the libraries of the same name.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).parent.resolve()]

_ANSWERS = os.fdopen(os.dup(1), "w")
os.dup2(2, 1)

# What every `kedro run` of the project imports anyway. MLflow is left out: only tracked runs
# need it, and kedro-mlflow's lazy CLI must find it unimported, as in a real process.
import kedro.framework.cli.cli  # noqa: E402
import kedro.framework.project as kedro_project  # noqa: E402
import kedro.framework.session  # noqa: E402
import onnx  # noqa: E402, F401
import onnxruntime  # noqa: E402, F401
import pandas  # noqa: E402, F401
import pytorch_lightning  # noqa: E402, F401
import rich  # noqa: E402
import sklearn.preprocessing  # noqa: E402, F401
import torch  # noqa: E402, F401
import yaml  # noqa: E402
from kedro.io.core import parse_dataset_definition  # noqa: E402

import lstm_forecast  # noqa: E402
from lstm_forecast import settings  # noqa: E402

# What the first dynamo export of a run imports (networkx, onnx's reference ops, onnxscript):
# about 0.6 s a run. Imports only: an export made here would pin later exports' axes
# (lstm_forecast.models.lstm_export, (b)).
for _module in ("networkx", "onnx.reference", "onnxscript", "torch.onnx._internal.exporter._core"):
    importlib.import_module(_module)


_CLONE_NEWNET = 0x40000000  # <sched.h>; os.unshare arrives only in Python 3.12


def _import_what_runs_import() -> None:
    """Every module of the project (its pipelines and the libraries their nodes import:
    optuna, scoringrules, ...), the plugins' hooks a run registers and the catalog's dataset
    types: about 1 s of CPU a run when each child imports them itself. Imports only, and
    never MLflow (kedro-mlflow's own hook, which imports it, is disabled in settings.py)."""
    for info in pkgutil.walk_packages(lstm_forecast.__path__, "lstm_forecast."):
        importlib.import_module(info.name)
    for hook in entry_points(group="kedro.hooks"):
        if hook.dist.name.replace("-", "_") not in settings.DISABLE_HOOKS_FOR_PLUGINS:
            hook.load()
    catalog = yaml.safe_load((Path(__file__).parents[1] / "conf/base/catalog.yml").read_text())
    for entry in catalog.values():
        spec = entry
        while isinstance(spec, dict) and "type" in spec:  # a partitioned one names its parts'
            parse_dataset_definition({"type": spec["type"]})
            spec = spec.get("dataset")
    assert "mlflow" not in sys.modules, "a tracked run must import MLflow itself"


def _start_the_forkserver() -> None:
    """In the child, before the run: the forkserver of ``lstm_forecast.models.fresh_process``,
    forked from this pre-imported process instead of a new interpreter importing torch,
    Lightning and onnx (about 5 s of CPU).

    Like the one a `kedro run` starts on first use, it is the run's own child, shares its
    standard output and error, and has exported and trained nothing; a run's ddp_spawn
    ranks, local Dask workers and second LSTM export fork from it. It ends with the run.
    """
    server = multiprocessing.forkserver._forkserver
    address = multiprocessing.connection.arbitrary_address("AF_UNIX")
    listener = socket.socket(socket.AF_UNIX)
    listener.bind(address)
    listener.listen()
    alive_r, alive_w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(alive_w)
        try:
            multiprocessing.forkserver.main(listener.fileno(), alive_r, [])
        finally:
            os._exit(0)
    listener.close()
    os.close(alive_r)
    server._forkserver_address, server._forkserver_alive_fd = address, alive_w
    server._forkserver_pid = pid


def _leave_the_network() -> None:
    """In the child: a network namespace of its own, with no network (``unshare -n``)."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.unshare(_CLONE_NEWNET) != 0:
        raise OSError(ctypes.get_errno(), "unshare(CLONE_NEWNET) failed")


def _become_kedro(request: dict) -> None:
    """In the child: the process `kedro <argv>` would be; ends it with its exit code."""
    if request.get("offline"):
        _leave_the_network()
    os.chdir(request["cwd"])
    os.environ.clear()
    os.environ.update(request["env"])
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    for fd, path in ((1, request["stdout"]), (2, request["stderr"])):
        target = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        os.dup2(target, fd)
        os.close(target)
    _start_the_forkserver()
    # A fresh interpreter makes rich's console and reads conf/logging.yml of its working
    # folder on importing Kedro, with its own environment (COLUMNS sets the console's width).
    rich._console = None
    rich._IMPORT_CWD = os.getcwd()
    kedro_project.LOGGING = kedro_project._ProjectLogging()
    code: int | str | None = 0
    try:
        if "code" in request:  # `python -c <code> <argv>`
            sys.argv = ["-c", *request["argv"]]
            exec(compile(request["code"], "<string>", "exec"), {"__name__": "__main__"})
        else:
            sys.argv = ["kedro", *request["argv"]]
            kedro.framework.cli.cli.main()  # click ends it with SystemExit, as in `kedro`
    except SystemExit as stop:
        code = stop.code
    except BaseException:
        traceback.print_exc()
        code = 1
    if isinstance(code, str):
        print(code, file=sys.stderr)
        code = 1
    # An interpreter's own exit would also run C++ destructors of libraries whose threads
    # live only in the parent (they abort); the exit handlers the run registered still run.
    atexit._run_exitfuncs()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code or 0)


def _answer(message: dict) -> None:
    _ANSWERS.write(json.dumps(message) + "\n")
    _ANSWERS.flush()


def main() -> None:
    _import_what_runs_import()
    _answer({"ready": True})
    for line in sys.stdin:
        request = json.loads(line)
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:
            _ANSWERS.close()
            _become_kedro(request)
        _answer({"pid": pid})
        _, status = os.waitpid(pid, 0)
        _answer({"returncode": os.waitstatus_to_exitcode(status)})


if __name__ == "__main__":
    main()
