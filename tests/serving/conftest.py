"""Fixtures of the serving tests: copies of the smoke run's published files, and live servers."""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from fastapi.testclient import TestClient

from lstm_forecast.serving import ServingSettings, create_app
from tests.conftest import BLOCK_TORCH, KEDRO, _smoke_shared, kedro_env

# What the service reads, and nothing it does not: models, reports, ingested candles.
SERVED = ("data/06_models", "data/08_reporting", "data/02_intermediate")
READY_TIMEOUT_S = 60
_DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def served_copy(smoke_project: Path, destination: Path) -> Path:
    """A private copy of what the service reads from the smoke project."""
    for folder in SERVED:
        shutil.copytree(smoke_project / folder, destination / folder)
    for name in ("pyproject.toml", ".telemetry"):
        if (smoke_project / name).exists():
            shutil.copy2(smoke_project / name, destination / name)
    shutil.copytree(smoke_project / "conf", destination / "conf")
    (destination / "src").mkdir(exist_ok=True)
    return destination


@pytest.fixture(scope="module")
def served_project(smoke_project: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the smoke project's published files; tests here only read it."""
    return served_copy(smoke_project, tmp_path_factory.mktemp("served"))


# Registered model names in the ``registered_store`` registry.
REGISTERED = {
    "lstm": "lstm-forecast-forecaster",  # forecaster.onnx, as `kedro run` registers it
    "ridge": "ridge-forecaster",  # ridge.forecaster.onnx, logged the same way
    "two": "two-onnx-files",  # a version whose folder holds two .onnx files
    "none": "no-onnx-file",  # a version whose folder holds none
}


@pytest.fixture(scope="session")
def registered_store(smoke_project: Path, tmp_path_factory: pytest.TempPathFactory) -> str:
    """A SQLite MLflow registry holding the smoke run's forecasters (``REGISTERED``, each
    version 1); its tracking URI. Read-only for the tests.

    Made once per session; with ``LSTM_FORECAST_SMOKE_SHARED`` (mutmut: one pytest per
    mutant) once beside the shared smoke run, as making it takes ~10 s.
    """
    shared = _smoke_shared()
    folder = shared / "mlflow-store" if shared else tmp_path_factory.mktemp("mlflow")
    uri = f"sqlite:///{folder / 'mlflow.db'}"
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder.parent / "mlflow-store.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (folder / "made").exists():
            for stale in folder.iterdir():
                shutil.rmtree(stale) if stale.is_dir() else stale.unlink()
            _register_forecasters(smoke_project / "data/06_models", folder, uri)
            (folder / "made").touch()
    return uri


@pytest.fixture
def tracking_elsewhere(tmp_path: Path) -> Iterator[str]:
    """MLflow's tracking URI set to an empty store without the models for the test, then
    put back: what a fetch given the registry's URI must not depend on."""
    import mlflow

    before = mlflow.get_tracking_uri()
    elsewhere = str(tmp_path / "mlruns")
    mlflow.set_tracking_uri(elsewhere)
    yield elsewhere
    mlflow.set_tracking_uri(before)


def _register_forecasters(published: Path, folder: Path, uri: str) -> None:
    import mlflow

    from lstm_forecast.integrations.mlflow_tracking import log_onnx_model

    mlflow.set_tracking_uri(uri)
    experiment = mlflow.create_experiment("serving", artifact_location=str(folder / "artifacts"))
    with mlflow.start_run(experiment_id=experiment) as run:
        log_onnx_model(published / "forecaster.onnx", REGISTERED["lstm"], since=0.0)
        log_onnx_model(published / "ridge.forecaster.onnx", REGISTERED["ridge"], since=0.0)
        for name in ("forecaster.onnx", "ridge.forecaster.onnx"):
            mlflow.log_artifact(str(published / name), artifact_path="two")
        mlflow.log_artifact(str(published / "forecaster.json"), artifact_path="none")
    client = mlflow.MlflowClient()
    for key in ("two", "none"):  # not MLflow models: registered from the run's folders
        client.create_registered_model(REGISTERED[key])
        client.create_model_version(
            REGISTERED[key], source=f"{run.info.artifact_uri}/{key}", run_id=run.info.run_id
        )


def window(project: Path, bars: int | None = None, asset: str = "BTCUSDT") -> list[dict[str, Any]]:
    """The last ingested candles of ``asset`` as request JSON (``bars`` of them; the model's
    need by default)."""
    if bars is None:
        sidecar = json.loads((project / "data/06_models/forecaster.json").read_text())
        bars = sidecar["contract"]["input_length"]  # context_length + 1
    frame = pd.read_parquet(project / "data/02_intermediate/candles.parquet")
    if "asset" in frame:  # the default run ingests several assets, one after another
        frame = frame[frame["asset"] == asset]
    frame = frame.tail(bars)
    return [
        {
            "time": stamp.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "open": row.open,
            "high": row.high,
            "low": row.low,
            "close": row.close,
            "volume": row.volume,
        }
        for stamp, row in zip(frame["timestamp"], frame.itertuples(), strict=True)
    ]


@pytest.fixture
def client_for() -> Iterator[Callable[..., TestClient]]:
    """``client_for(project, **settings)``: a TestClient whose lifespan (model loading) ran."""
    clients: list[TestClient] = []

    def make(project: Path, **settings: Any) -> TestClient:
        values = {"project_dir": project, "poll_seconds": 0} | settings
        client = TestClient(create_app(ServingSettings(**values)))
        client.__enter__()
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.__exit__(None, None, None)


@pytest.fixture(scope="module")
def one_model(smoke_project: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A project whose data/ holds one forecaster (lstm fp32), its reports and candles."""
    root = tmp_path_factory.mktemp("one-model")
    models = root / "data/06_models"
    models.mkdir(parents=True)
    for name in ("forecaster.onnx", "forecaster.json"):
        shutil.copy2(smoke_project / "data/06_models" / name, models / name)
    shutil.copytree(smoke_project / "data/08_reporting", root / "data/08_reporting")
    shutil.copytree(smoke_project / "data/02_intermediate", root / "data/02_intermediate")
    return root


@pytest.fixture
def one_model_copy(one_model: Path, tmp_path: Path) -> Path:
    """A private copy of ``one_model`` that a test may change."""
    shutil.copytree(one_model / "data", tmp_path / "data")
    return tmp_path


def one_model_client(project: Path, **settings: object) -> TestClient:
    """A TestClient over ``project`` (not yet started); no watcher unless asked for."""
    values = {"project_dir": project, "poll_seconds": 0} | settings
    return TestClient(create_app(ServingSettings(**values)))


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def get_json(url: str, timeout: float = 10) -> tuple[int, Any]:
    try:
        with _DIRECT.open(url, timeout=timeout) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")


def post_json(url: str, body: Any, timeout: float = 10) -> tuple[int, Any]:
    request = urllib.request.Request(
        url, json.dumps(body).encode(), {"Content-Type": "application/json"}, method="POST"
    )
    try:
        with _DIRECT.open(request, timeout=timeout) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")


def torchless_env(folder: Path) -> dict[str, str]:
    """``kedro_env`` with torch made unimportable through a ``sitecustomize`` first on the path."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "sitecustomize.py").write_text(BLOCK_TORCH)
    env = kedro_env()
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(folder), env.get("PYTHONPATH")]))
    return env


class Server:
    """A real `kedro serve` process on a free port of 127.0.0.1, in its own session."""

    def __init__(self, project: Path, env: dict[str, str], extra: dict[str, str]) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = project / f"serve-{self.port}.log"
        with self.log.open("w") as sink:
            self.process = subprocess.Popen(
                [KEDRO, "serve", "--host", "127.0.0.1", "--port", str(self.port)],
                cwd=project,
                env=env | {"LSTM_FORECAST_SERVE_POLL_SECONDS": "0.2"} | extra,
                stdout=sink,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self._wait_ready()

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + READY_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(f"`kedro serve` exited {self.process.returncode}:\n{self.output()}")
            with contextlib.suppress(OSError):
                if get_json(self.url + "/readyz", timeout=2)[0] == 200:
                    return
            time.sleep(0.3)
        self.stop()
        pytest.fail(f"`kedro serve` not ready in {READY_TIMEOUT_S} s:\n{self.output()}")

    def output(self) -> str:
        return self.log.read_text()[-6000:]

    def stop(self) -> int:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)
        return self.process.returncode


@pytest.fixture
def start_server() -> Iterator[Callable[..., Server]]:
    """``start_server(project, env, **variables)``; every server is stopped after the test."""
    servers: list[Server] = []

    def start(project: Path, env: dict[str, str], **extra: str) -> Server:
        server = Server(project, env, extra)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()
