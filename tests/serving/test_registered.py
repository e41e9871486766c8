"""Serving a registered forecaster (`models:/<name>/<version>`) from a real MLflow store."""

from __future__ import annotations

import pytest

from lstm_forecast.errors import ArtifactError
from lstm_forecast.integrations.mlflow_tracking import RegistryParams, log_onnx_model

from .conftest import window

NAME = RegistryParams().forecaster_name


def test_forecaster_and_network_each_have_a_registry_name():
    registry = RegistryParams()
    assert registry.name_for("forecaster.onnx") == "lstm-forecast-forecaster"
    assert registry.name_for("model.onnx") == "lstm-forecast"
    assert registry.name_for("ridge.forecaster.onnx") is None


@pytest.fixture(scope="module")
def store(served_project, tmp_path_factory) -> str:
    """A SQLite MLflow store holding forecaster.onnx (+ forecaster.json) as version 1."""
    import mlflow

    folder = tmp_path_factory.mktemp("mlflow")
    uri = f"sqlite:///{folder / 'mlflow.db'}"
    mlflow.set_tracking_uri(uri)
    experiment = mlflow.create_experiment("serving", artifact_location=str(folder / "artifacts"))
    with mlflow.start_run(experiment_id=experiment):
        log_onnx_model(served_project / "data/06_models/forecaster.onnx", NAME, since=0.0)
    return uri


def test_a_registered_version_is_served_like_the_published_file(
    client_for, served_project, store, tmp_path
):
    (tmp_path / "data").mkdir()  # no published files at all: only the registry
    registered = client_for(tmp_path, model_uris=(f"models:/{NAME}/1",), mlflow_tracking_uri=store)
    listing = registered.get("/v1/models").json()
    assert [(m["kind"], m["variant"], m["file"]) for m in listing["models"]] == [
        ("lstm", "fp32", "forecaster.onnx")
    ]
    body = {"candles": window(served_project)}
    got = registered.post("/v1/forecast", json=body).json()
    expected = client_for(served_project).post("/v1/forecast", json=body).json()
    assert got["forecast"] == expected["forecast"]
    assert got["model"]["validation"]["passed"] is True
    assert registered.post("/v1/admin/reload").json()["unchanged"] == []  # fetched again


def test_only_registry_uris_are_accepted(client_for, tmp_path, store):
    with pytest.raises(ArtifactError, match="only models:/"):
        client_for(tmp_path, model_uris=("/etc/passwd",), mlflow_tracking_uri=store)
