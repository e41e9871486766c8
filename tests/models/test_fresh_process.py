"""``models.fresh_process``: children forked from a preloaded forkserver, run as the caller.

Each test starts a real child through the context the export and the DDP ranks use.
"""

from __future__ import annotations

import logging
import os
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pytest

from lstm_forecast.models import fresh_process

pytestmark = pytest.mark.e2e  # starts (or reuses) the forkserver and forks a child


def _inside(state: fresh_process.CallerState | None) -> dict:
    preloaded = sorted(name for name in fresh_process.PRELOAD if name in sys.modules)
    if state is not None:
        fresh_process.adopt(state)
    return {
        "preloaded": preloaded,
        "torch": "torch" in sys.modules,
        "cwd": os.getcwd(),
        "marker": os.environ.get("LSTM_FORECAST_TEST_MARKER"),
        "level": logging.getLogger("lstm_forecast.test_marker").level,
    }


def _in_a_child(state: fresh_process.CallerState | None) -> dict:
    with ProcessPoolExecutor(max_workers=1, mp_context=fresh_process.context()) as pool:
        return pool.submit(_inside, state).result(timeout=120)


def test_a_child_has_the_model_code_imported_before_it_runs_anything():
    seen = _in_a_child(None)
    assert seen["preloaded"] == sorted(fresh_process.PRELOAD) and seen["torch"]
    assert fresh_process.context().get_start_method() == "forkserver"
    assert fresh_process.start_method() == "forkserver"


def test_a_child_takes_the_callers_environment_folder_and_logging(tmp_path: Path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("LSTM_FORECAST_TEST_MARKER", "from the caller")
    environ, cwd, _ = fresh_process.caller_state()
    logging_config = {
        "version": 1,
        "disable_existing_loggers": False,
        "loggers": {"lstm_forecast.test_marker": {"level": "ERROR"}},
    }
    seen = _in_a_child((environ, cwd, logging_config))
    assert seen["cwd"] == str(tmp_path)
    assert seen["marker"] == "from the caller"
    assert seen["level"] == logging.ERROR


def test_without_kedro_logging_a_child_keeps_its_own(tmp_path: Path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    environ, cwd, _ = fresh_process.caller_state()
    assert _in_a_child((environ, cwd, None))["level"] == logging.NOTSET


def test_the_caller_state_carries_a_kedro_runs_logging(monkeypatch):
    import kedro.framework.project as kedro_project

    monkeypatch.setattr(kedro_project, "LOGGING", {"version": 1, "root": {"level": "INFO"}})
    environ, cwd, logging_config = fresh_process.caller_state()
    assert environ == dict(os.environ) and cwd == os.getcwd()
    assert logging_config == {"version": 1, "root": {"level": "INFO"}}
    monkeypatch.delitem(sys.modules, "kedro.framework.project")
    assert fresh_process.caller_state()[2] is None
