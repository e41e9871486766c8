"""The forecasting HTTP service: published forecasters behind a FastAPI app, run by uvicorn.

Torch-free and free of Kedro's session machinery: it reads the files the pipeline published
(``data/06_models``, ``data/08_reporting``, ``data/02_intermediate/candles.parquet``) and
nothing else. ``kedro serve`` or ``make serve`` starts it; ``create_app`` builds the app.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .app import create_app
    from .settings import ServingSettings

__all__ = ["ServingSettings", "create_app"]

# Resolved on first use (PEP 562): every `kedro` command imports `serving.command` to list
# `kedro serve`, and the app behind it imports FastAPI, onnx and pandas (about 2 s).
_LAZY = {"create_app": ".app", "ServingSettings": ".settings"}


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(_LAZY[name], __name__), name)
    globals()[name] = value
    return value
