"""The real `kedro serve` (uvicorn) on a free port: torch-free, hot swaps, SIGTERM drains."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from .conftest import get_json, post_json, served_copy, torchless_env, window
from .test_registry import publish, republished

pytestmark = pytest.mark.e2e

SWAP_TIMEOUT_S = 20
CLIENTS = 4


def test_torch_free_service_hot_swaps_with_no_failed_request(smoke_project, tmp_path, start_server):
    project = served_copy(smoke_project, tmp_path / "project")
    env = torchless_env(tmp_path / "torchless")
    blocked = subprocess.run(
        [sys.executable, "-c", "import torch"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert blocked.returncode != 0 and "blocked by the test" in blocked.stderr
    server = start_server(project, env)
    body = {"candles": window(project)}
    path = project / "data/06_models/forecaster.onnx"
    old = get_json(server.url + "/v1/models")[1]["models"][0]["fingerprint"]

    seen: list[list[str]] = [[] for _ in range(CLIENTS)]
    failures: list[str] = []
    stop = threading.Event()

    def client(index: int) -> None:
        while not stop.is_set():
            try:
                status, answer = post_json(server.url + "/v1/forecast", body)
            except OSError as error:
                failures.append(repr(error))
                continue
            if status != 200:
                failures.append(f"{status}: {answer}")
            else:
                seen[index].append(answer["model"]["fingerprint"])

    threads = [threading.Thread(target=client, args=(i,)) for i in range(CLIENTS)]
    for thread in threads:
        thread.start()
    try:
        time.sleep(1.0)
        payload = republished(path, "republished while serving")
        publish(path, payload)
        new = hashlib.sha256(payload).hexdigest()
        _wait_for(lambda: any(s and s[-1] == new for s in seen), "the new forecaster served")
        publish(path, b"\x08\x07 a truncated upload")
        _wait_for(lambda: _refused(server.url), "the corrupt file refused")
        counts = [len(s) for s in seen]
        _wait_for(
            lambda: all(len(s) > c + 3 for s, c in zip(seen, counts, strict=True)), "more answers"
        )
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=30)
    assert failures == [], failures[:5]
    assert all(set(s) <= {old, new} for s in seen)
    for answers in seen:  # once a client got the new model it never gets the old one again
        first_new = answers.index(new)
        assert old not in answers[first_new:] and answers[-1] == new
    assert any(old in s for s in seen), "no answer came from the first model"
    assert server.process.poll() is None
    log = server.output()
    assert "Refused forecaster.onnx" in log and '"POST /v1/forecast" 200' in log
    assert "candles" not in log.split("POST /v1/forecast", 1)[1][:2000]


def _refused(url: str) -> bool:
    return any(r["file"] == "forecaster.onnx" for r in get_json(url + "/v1/models")[1]["refused"])


def _wait_for(condition, what: str) -> None:
    deadline = time.monotonic() + SWAP_TIMEOUT_S
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.1)


def test_sigterm_drains_a_request_in_flight(served_project, start_server, tmp_path):
    server = start_server(served_project, _env())
    body = json.dumps({"candles": window(served_project)}).encode()
    head = (
        f"POST /v1/forecast HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    ).encode()
    with socket.create_connection(("127.0.0.1", server.port), timeout=20) as sock:
        sock.sendall(head + body[:100])  # the request is in flight: headers and part of its body
        time.sleep(0.3)
        os.killpg(server.process.pid, signal.SIGTERM)
        time.sleep(1.0)
        assert server.process.poll() is None, "the server quit with a request in flight"
        with pytest.raises(OSError):  # no new connection is accepted while draining
            socket.create_connection(("127.0.0.1", server.port), timeout=2).close()
        sock.sendall(body[100:])
        response = b""
        while chunk := sock.recv(65536):
            response += chunk
    status, _, rest = response.partition(b"\r\n")
    assert status == b"HTTP/1.1 200 OK", response[:500]
    answer = json.loads(rest.split(b"\r\n\r\n", 1)[1])
    assert answer["model"]["kind"] == "lstm" and len(answer["forecast"]) > 0
    # uvicorn re-raises the SIGTERM it caught once it has drained: the exit says "terminated".
    assert server.process.wait(timeout=20) in (0, -signal.SIGTERM)
    assert "Finished server process" in server.output()


def _env() -> dict[str, str]:
    from tests.conftest import kedro_env

    return kedro_env()


def test_no_file_path_is_taken_from_a_request(served_project, client_for):
    client = client_for(served_project)
    for name in ("../../pyproject.toml", "/etc/passwd", "forecaster.onnx"):
        answer = client.post(
            "/v1/forecast", json={"candles": window(served_project), "model": name}
        )
        assert answer.status_code in (404, 422)
        assert client.get(f"/static/{name}").status_code == 404
    escaped = client.get("/static/..%2f..%2fpyproject.toml")
    assert escaped.status_code == 404 and Path("pyproject.toml").read_text() not in escaped.text
