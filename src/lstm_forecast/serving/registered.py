"""Forecasters from the MLflow model registry (``models:/<name>/<version>``), as local files.

A registered version is downloaded once into a private folder, under the name the project
publishes it as (``forecaster.onnx``, ``<kind>.forecaster.onnx``), and then served exactly
like ``data/06_models``: the same contract and validation checks, the same hot swap.
MLflow is imported only when a URI is configured.
"""

from __future__ import annotations

import logging
import os
import shutil
from pathlib import Path

import onnx

from lstm_forecast.errors import ArtifactError
from lstm_forecast.onnx.contract import OnnxContract

from .loading import fp32_name

logger = logging.getLogger(__name__)
_SCHEMES = ("models:/",)  # the registry only: never a path or URL from anywhere else


def fetch_registered(uris: tuple[str, ...], folder: Path, tracking_uri: str | None) -> list[str]:
    """Download each registered forecaster into ``folder``; the names written.

    Raises:
        ArtifactError: If a URI is not a ``models:/`` URI or holds no ONNX forecaster.
    """
    import mlflow  # noqa: PLC0415 - only a service configured with model URIs needs it

    if tracking_uri:
        mlflow.set_tracking_uri(tracking_uri)
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for uri in uris:
        if not uri.startswith(_SCHEMES):
            raise ArtifactError(f"{uri!r}: only models:/<name>/<version> URIs are served")
        download = folder / ".download"
        shutil.rmtree(download, ignore_errors=True)
        local = Path(mlflow.artifacts.download_artifacts(artifact_uri=uri, dst_path=str(download)))
        model_files = sorted(local.rglob("*.onnx"))
        if len(model_files) != 1:
            raise ArtifactError(f"{uri} holds {len(model_files)} ONNX files, not one forecaster")
        contract = OnnxContract.from_model(onnx.load(model_files[0], load_external_data=False))
        name = fp32_name(contract.model_kind)
        for sidecar in local.rglob("*.json"):  # forecaster.json, logged beside the model
            shutil.copy2(sidecar, folder / (name.removesuffix(".onnx") + ".json"))
        staged = folder / (name + ".part")
        shutil.copy2(model_files[0], staged)
        os.replace(staged, folder / name)  # atomic: the watcher never sees half a file
        shutil.rmtree(download, ignore_errors=True)
        logger.info("Fetched %s as %s.", uri, name)
        written.append(name)
    return written
