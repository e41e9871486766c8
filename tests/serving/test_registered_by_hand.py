"""Fetching registered forecasters (`models:/<name>/<version>`) into a folder, directly.

The registry is a real SQLite MLflow store (``registered_store``) holding the smoke run's
files; what must land in the folder is worked out from those files.
"""

from __future__ import annotations

import logging
from pathlib import Path

import mlflow
import pytest

from lstm_forecast.errors import ArtifactError
from lstm_forecast.serving.registered import fetch_registered

from .conftest import REGISTERED


@pytest.fixture(scope="module")
def published(smoke_project: Path) -> Path:
    return smoke_project / "data/06_models"


def _uri(key: str) -> str:
    return f"models:/{REGISTERED[key]}/1"


def test_each_version_lands_under_its_published_name_with_its_sidecar(
    registered_store, published, tmp_path, caplog
):
    folder = tmp_path / "new" / "registered"  # made by the fetch, parents too
    with caplog.at_level(logging.INFO, logger="lstm_forecast.serving.registered"):
        written = fetch_registered((_uri("lstm"), _uri("ridge")), folder, registered_store)
    assert written == ["forecaster.onnx", "ridge.forecaster.onnx"]
    assert sorted(p.name for p in folder.iterdir()) == [
        "forecaster.json",
        "forecaster.onnx",
        "ridge.forecaster.json",
        "ridge.forecaster.onnx",
    ]  # no download folder, no half-copied .part file left
    for name in written:
        assert (folder / name).read_bytes() == (published / name).read_bytes()
        sidecar = name.removesuffix(".onnx") + ".json"
        assert (folder / sidecar).read_text() == (published / sidecar).read_text()
    lines = [r.getMessage() for r in caplog.records if r.name == "lstm_forecast.serving.registered"]
    assert lines == [
        f"Fetched {_uri('lstm')} as forecaster.onnx.",
        f"Fetched {_uri('ridge')} as ridge.forecaster.onnx.",
    ]


def test_a_fetch_replaces_the_file_in_place(registered_store, tmp_path):
    (tmp_path / "forecaster.onnx").write_bytes(b"an older file")
    (tmp_path / ".download").mkdir()
    (tmp_path / ".download" / "left.onnx").write_bytes(b"from a crashed fetch")
    assert fetch_registered((_uri("lstm"),), tmp_path, registered_store) == ["forecaster.onnx"]
    assert (tmp_path / "forecaster.onnx").read_bytes() != b"an older file"
    assert not (tmp_path / ".download").exists()


def test_the_tracking_uri_given_is_used_and_none_keeps_mlflows(
    registered_store, tmp_path, tracking_elsewhere
):
    assert fetch_registered((_uri("lstm"),), tmp_path / "a", registered_store)
    assert mlflow.get_tracking_uri() == registered_store
    assert fetch_registered((_uri("lstm"),), tmp_path / "b", None) == ["forecaster.onnx"]
    assert mlflow.get_tracking_uri() == registered_store  # None left it as it was


@pytest.mark.parametrize(
    "uri", ["/etc/passwd", "runs:/abc/model", "file:///tmp/forecaster.onnx", " models:/x/1"]
)
def test_only_registry_uris_are_fetched(registered_store, tmp_path, uri):
    with pytest.raises(ArtifactError) as refused:
        fetch_registered((uri,), tmp_path / "folder", registered_store)
    assert str(refused.value) == f"{uri!r}: only models:/<name>/<version> URIs are served"
    assert list((tmp_path / "folder").iterdir()) == []


@pytest.mark.parametrize(("key", "count"), [("two", 2), ("none", 0)])
def test_a_version_must_hold_exactly_one_onnx_file(registered_store, tmp_path, key, count):
    with pytest.raises(ArtifactError) as refused:
        fetch_registered((_uri(key),), tmp_path, registered_store)
    assert str(refused.value) == f"{_uri(key)} holds {count} ONNX files, not one forecaster"
    assert [p.name for p in tmp_path.iterdir() if p.is_file()] == []  # nothing published
