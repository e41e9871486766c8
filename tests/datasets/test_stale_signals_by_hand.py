"""How the cleanup asks whether a writer lives (``os.kill`` recorded, never sent), and a
scan that meets recent unnamed scratch folders between dead ones."""

from __future__ import annotations

import os
import time

import pytest

from lstm_forecast.datasets import _stale


@pytest.fixture
def kills(monkeypatch):
    """``os.kill`` calls, recorded; ``answer`` (an exception class or None) is the reply."""
    calls: list[tuple[int, int]] = []
    reply: dict[str, type[BaseException] | None] = {"answer": None}

    def kill(*args):
        calls.append(args)
        if reply["answer"] is not None:
            raise reply["answer"]()

    monkeypatch.setattr(os, "kill", kill)
    return calls, reply


def test_another_process_is_asked_with_signal_zero_only(kills):
    calls, reply = kills
    assert _stale.process_alive(os.getpid() + 1) is True  # kill returned: it exists
    reply["answer"] = ProcessLookupError
    assert _stale.process_alive(os.getpid() + 2) is False
    reply["answer"] = PermissionError  # someone else's process
    assert _stale.process_alive(os.getpid() + 3) is True
    assert calls == [(os.getpid() + 1, 0), (os.getpid() + 2, 0), (os.getpid() + 3, 0)]


def test_this_process_is_alive_without_asking(kills):
    calls, reply = kills
    reply["answer"] = ProcessLookupError  # were it asked, it would answer "gone"
    assert _stale.process_alive(os.getpid()) is True
    assert calls == []


def test_recent_unnamed_scratch_folders_do_not_end_the_scan(tmp_path, kills):
    calls, reply = kills
    reply["answer"] = ProcessLookupError  # every named pid is gone
    dead = [tmp_path / f"lstm-forecast-ckpt-{900000 + i}-dead{i:04d}" for i in range(12)]
    recent = [tmp_path / f"lstm-forecast-ckpt-new{i:05d}" for i in range(12)]  # no pid
    for folder in dead + recent:
        folder.mkdir()
    now = time.time()
    for folder in recent:
        os.utime(folder, (now, now))
    assert sorted(_stale.remove_stale_scratch_folders(tmp_path)) == sorted(dead)
    assert sorted(tmp_path.iterdir()) == sorted(recent)
    assert sorted(calls) == sorted((900000 + i, 0) for i in range(12))
