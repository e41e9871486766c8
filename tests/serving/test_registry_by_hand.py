"""The registry's change check, its watcher, the body limit and load errors, directly."""

from __future__ import annotations

import asyncio
import json
import logging
import shutil
import time
from pathlib import Path

import pytest

from lstm_forecast.serving import middleware
from lstm_forecast.serving.forecasting import choose
from lstm_forecast.serving.loading import _short
from lstm_forecast.serving.middleware import BodyLimit
from lstm_forecast.serving.problems import Problem
from lstm_forecast.serving.registry import Registry, Watcher


@pytest.fixture
def models(served_project: Path, tmp_path: Path) -> Path:
    shutil.copytree(served_project / "data/06_models", tmp_path / "06_models")
    shutil.copytree(served_project / "data/08_reporting", tmp_path / "08_reporting")
    return tmp_path


def loaded(data: Path) -> Registry:
    registry = Registry(data / "06_models", data / "08_reporting", threads=1)
    registry.reload()
    return registry


def test_changed_counts_refused_files_and_ignores_other_names(models):
    folder = models / "06_models"
    (folder / "ridge.forecaster.int8.onnx").write_bytes(b"not a model")  # refused, not served
    registry = loaded(models)
    assert "ridge.forecaster.int8.onnx" in registry.catalogue.refused
    assert registry.changed() is False  # the refused file was looked at too
    (folder / "notes.onnx").write_bytes(b"x")  # not a forecaster's name
    assert registry.changed() is False
    (folder / "ridge.forecaster.int8.onnx").write_bytes(b"not a model, longer")
    assert registry.changed() is True
    registry.reload()
    (folder / "ridge.forecaster.int8.onnx").unlink()
    assert registry.changed() is True


def test_the_watcher_reloads_on_change_and_survives_a_failed_reload(models, caplog):
    registry = loaded(models)
    calls: list[str] = []
    reload = registry.reload

    def failing_once() -> None:
        calls.append("reload")
        if len(calls) == 1:
            raise OSError("disk gone")
        reload()

    registry.reload = failing_once
    watcher = Watcher(registry, 0.01)
    with caplog.at_level(logging.ERROR, logger="lstm_forecast.serving.registry"):
        watcher.start()
        (models / "06_models/ridge.forecaster.int8.onnx").write_bytes(b"broken")
        deadline = time.monotonic() + 10
        while len(calls) < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
        watcher.stop()
    assert len(calls) >= 2  # tried again after the failure
    assert "ridge.forecaster.int8.onnx" in registry.catalogue.refused
    # Only the watcher's errors: the successful reload's own lines (other loggers, levels)
    # may reach caplog too, depending on the thread's timing.
    errors = [
        r.getMessage()
        for r in caplog.records
        if r.name == "lstm_forecast.serving.registry" and r.levelno >= logging.ERROR
    ]
    assert errors == [
        f"Reloading {models / '06_models'} failed; still serving the previous models."
    ]
    idle = Watcher(registry, 0)
    idle.start()  # every_s 0: never polls
    assert not idle._thread.is_alive()


def run_limited(limit: int, chunks: list[bytes], declared: int | None = None) -> list[dict]:
    sent: list[dict] = []
    messages = [{"type": "http.request", "body": c, "more_body": True} for c in chunks]

    async def app(scope, receive, send):
        while (await receive()).get("more_body"):
            pass
        await send({"type": "http.response.start", "status": 200, "headers": []})

    async def receive():
        return messages.pop(0) if messages else {"type": "http.request", "body": b""}

    async def send(message):
        sent.append(message)

    headers = [] if declared is None else [(b"content-length", str(declared).encode())]
    scope = {"type": "http", "path": "/v1/forecast", "headers": headers}
    asyncio.run(BodyLimit(app, limit)(scope, receive, send))
    return sent


def test_body_limit_refuses_declared_and_streamed_bodies_with_a_problem():
    for sent in (run_limited(10, [], declared=11), run_limited(10, [b"123456", b"78901"])):
        start, body = sent
        payload = body["body"]
        assert body["type"] == "http.response.body"
        assert start == {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"application/problem+json"),
                (b"content-length", str(len(payload)).encode()),
            ],
        }
        assert json.loads(payload) == {
            "type": "about:blank",
            "title": "Request too large",
            "status": 413,
            "detail": "the body is over 10 bytes (LSTM_FORECAST_SERVE_MAX_BODY_BYTES)",
            "instance": "/v1/forecast",
        }
    assert run_limited(10, [b"12345", b"67890"], declared=10)[0]["status"] == 200  # at the limit


def test_load_errors_are_one_short_line():
    """Whitespace folded; an empty message names the type; at most 300 characters."""
    assert _short(ValueError("bad\n   file")) == "ValueError: bad file"
    assert _short(KeyError()) == "KeyError: KeyError"
    assert _short(OSError("x" * 400)) == "OSError: " + "x" * 300


def test_served_models_are_listed_lstm_first_then_by_variant(models):
    served = loaded(models).catalogue.ordered()
    assert [f"{m.kind}/{m.variant}" for m in served] == [
        "lstm/fp32",
        "lstm/opt",
        "lstm/int8",
        "ridge/fp32",
        "ridge/opt",
        "ridge/int8",
    ]


def test_choose_names_what_is_served_when_refusing(models):
    catalogue = loaded(models).catalogue
    served = ["lstm/fp32", "lstm/opt", "lstm/int8", "ridge/fp32", "ridge/opt", "ridge/int8"]
    with pytest.raises(Problem) as caught:
        choose(catalogue, "nope", "fp32", None)
    problem = caught.value
    assert (problem.status, problem.title, problem.extra) == (
        404,
        "Unknown model",
        {"served": served},
    )
    assert (
        problem.detail
        == f"no validated forecaster 'nope' variant 'fp32' is served; served: {served}"
    )
    assert problem.errors == [{"pointer": "/model", "field": "model", "problem": "not served"}]
    found = choose(catalogue, "lstm", "fp32", None)
    with pytest.raises(Problem) as caught:
        choose(catalogue, "lstm", "fp32", "XRPUSDT")
    named = list(found.assets) or "one unnamed asset (leave asset out)"
    assert (caught.value.status, caught.value.title) == (404, "Unknown asset")
    assert caught.value.detail == f"lstm/fp32 forecasts {named}, not 'XRPUSDT'"
    assert caught.value.errors == [
        {"pointer": "/asset", "field": "asset", "problem": "not forecast by this model"}
    ]


def test_access_log_line_has_client_method_path_status_and_milliseconds(monkeypatch, caplog):
    """perf_counter 1.0 then 1.5: 500.00 ms; no client: '-'; an app that fails: 500."""
    ticks = iter([1.0, 1.5, 2.0, 2.25])
    monkeypatch.setattr(middleware.time, "perf_counter", lambda: next(ticks))

    async def fails(scope, receive, send):
        raise RuntimeError("boom")

    async def answers(scope, receive, send):
        await send({"type": "http.response.start", "status": 204, "headers": []})

    async def nothing(message):
        return None

    scope = {"type": "http", "method": "GET", "path": "/v1/models"}
    with caplog.at_level(logging.INFO, logger="lstm_forecast.serving.access"):
        with pytest.raises(RuntimeError):
            asyncio.run(middleware.AccessLog(fails)(scope, None, nothing))
        asyncio.run(
            middleware.AccessLog(answers)(scope | {"client": ("10.0.0.1", 5)}, None, nothing)
        )
    assert [r.getMessage() for r in caplog.records] == [
        '- "GET /v1/models" 500 500.00 ms',
        '10.0.0.1 "GET /v1/models" 204 250.00 ms',
    ]
