"""The project's custom Kedro datasets: model artefacts written atomically, versionable, and
candle files named by asset."""

from __future__ import annotations

import importlib
from typing import Any

# Imported on first use, so that loading an ONNX file never imports torch: the inference
# path runs where torch is not installed.
_MODULES = {
    "CandleFilesDataset": ".candle_files_dataset",
    "LightningCheckpointDataset": ".checkpoint_dataset",
    "OnnxModelDataset": ".onnx_dataset",
}

__all__ = ["CandleFilesDataset", "LightningCheckpointDataset", "OnnxModelDataset"]


def __getattr__(name: str) -> Any:
    if name not in _MODULES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(_MODULES[name], __name__), name)
