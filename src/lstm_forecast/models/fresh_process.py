"""Child processes that start with the model code imported and nothing else done.

Two things need a process of their own: a second dynamo export of an LSTM in one process
(``lstm_export``, pitfall (b)) and each ``ddp_spawn`` rank (``lstm_distributed``). A spawned
interpreter imports torch and Lightning afresh for each, about 5 s of CPU. Python's
forkserver imports them once, in a server started on first use, and forks every child from
it: the child has the imports and no exporter or training state.

The server keeps the environment and working folder it started with and has no logging set
up, so each child takes the caller's (``caller_state`` in the parent, ``adopt`` first thing
in the child): the environment, the folder, and the logging configuration of a Kedro run
(its ranks log through the run's handlers, as a spawned child that imported Kedro did).
"""

from __future__ import annotations

import logging.config
import multiprocessing
import multiprocessing.forkserver
import os
import sys
from multiprocessing.context import BaseContext
from typing import Any

# Imported once by the server: torch, onnx and the exporter; Lightning and the fit.
PRELOAD = ["lstm_forecast.models.lstm_export", "lstm_forecast.models.lstm_training"]

CallerState = tuple[dict[str, str], str, dict[str, Any] | None]


def context() -> BaseContext:
    """The forkserver context, its server preloading ``PRELOAD`` when this call starts it."""
    forkserver = multiprocessing.get_context("forkserver")
    forkserver.set_forkserver_preload(PRELOAD)  # no effect once the server runs
    return forkserver


def caller_state() -> CallerState:
    """This process's environment, working folder and Kedro logging, for ``adopt``."""
    kedro_project = sys.modules.get("kedro.framework.project")  # a Kedro run has imported it
    logging_config = dict(kedro_project.LOGGING) if kedro_project is not None else None
    return dict(os.environ), os.getcwd(), logging_config


def adopt(state: CallerState) -> None:
    """In the child: replace the server's environment, folder and logging with the caller's."""
    environ, cwd, logging_config = state
    os.environ.clear()
    os.environ.update(environ)
    os.chdir(cwd)
    if logging_config:
        logging.config.dictConfig(logging_config)


def start_method() -> str:
    """``"forkserver"``, with ``PRELOAD`` set, for APIs that take a method's name (torch's)."""
    context()
    return "forkserver"


def start_server() -> None:
    """Start the server now, ``PRELOAD`` imported, for a library that starts its own
    children through the forkserver (the Dask runner's local workers): whoever starts the
    server sets what it imports, and Dask would start it with only its own packages."""
    context()
    multiprocessing.forkserver.ensure_running()
