"""Serving a registered forecaster (`models:/<name>/<version>`) from a real MLflow store."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from lstm_forecast.errors import ArtifactError
from lstm_forecast.integrations.mlflow_tracking import RegistryParams
from lstm_forecast.serving import ServingSettings, create_app

from .conftest import REGISTERED, window

NAME = RegistryParams().forecaster_name
assert REGISTERED["lstm"] == NAME  # the store registers forecaster.onnx as `kedro run` does


def test_forecaster_and_network_each_have_a_registry_name():
    registry = RegistryParams()
    assert registry.name_for("forecaster.onnx") == "lstm-forecast-forecaster"
    assert registry.name_for("model.onnx") == "lstm-forecast"
    assert registry.name_for("ridge.forecaster.onnx") is None


def test_a_registered_version_is_served_like_the_published_file(
    client_for, served_project, registered_store, tmp_path
):
    (tmp_path / "data").mkdir()  # no published files at all: only the registry
    registered = client_for(
        tmp_path, model_uris=(f"models:/{NAME}/1",), mlflow_tracking_uri=registered_store
    )
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


def test_only_registry_uris_are_accepted(client_for, tmp_path, registered_store):
    with pytest.raises(ArtifactError, match="only models:/"):
        client_for(tmp_path, model_uris=("/etc/passwd",), mlflow_tracking_uri=registered_store)


def test_registered_versions_live_in_a_private_folder_removed_at_exit(
    registered_store, tmp_path, tracking_elsewhere
):
    uris = (f"models:/{REGISTERED['lstm']}/1", f"models:/{REGISTERED['ridge']}/1")
    settings = ServingSettings(
        project_dir=tmp_path, poll_seconds=0, model_uris=uris, mlflow_tracking_uri=registered_store
    )
    app = create_app(settings)
    folder = app.state.registry.models_dir
    assert folder.parent == Path(tempfile.gettempdir())
    assert folder.name.startswith("lstm-forecast-registered-") and list(folder.iterdir()) == []
    with TestClient(app) as client:
        assert sorted(p.name for p in folder.iterdir()) == [
            "forecaster.json",
            "forecaster.onnx",
            "ridge.forecaster.json",
            "ridge.forecaster.onnx",
        ]
        assert client.get("/readyz").json()["models"] == ["lstm/fp32", "ridge/fp32"]
    assert not folder.exists()


def test_without_model_uris_the_published_folder_is_served(tmp_path):
    app = create_app(ServingSettings(project_dir=tmp_path, poll_seconds=0))
    assert app.state.registry.models_dir == tmp_path / "data/06_models"
