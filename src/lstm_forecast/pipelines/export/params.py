"""Typed ``params:export``."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from lstm_forecast.params import StrictParams


class ExportParams(StrictParams):
    """How every model kind is converted (a kind ignores the settings that do not apply)."""

    opset: int = Field(18, ge=7)
    exporter: Literal["dynamo", "torchscript"] = "dynamo"
    dynamic_window: bool = True
    isolate_process: bool = True
