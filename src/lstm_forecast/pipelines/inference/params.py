"""Typed ``params:inference`` (the CSV layout under ``ingestion`` is checked by ingestion)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

from lstm_forecast import models
from lstm_forecast.params import StrictParams


class InferenceParams(StrictParams):
    """``params:inference``."""

    model: str = "lstm"  # which published model to serve: any registered kind
    variant: Literal["fp32", "opt", "int8"] = "fp32"  # which published form of it
    tail_rows: int | None = Field(500, ge=1)  # forecast from the last N clean bars; None = all
    batch_size: int = Field(256, ge=1)
    runtime: Literal["onnxruntime", "openvino"] = "onnxruntime"  # openvino: the optional extra
    # A runtime other than onnxruntime must match it on the first batch within this (USD).
    runtime_max_price_diff: float = Field(0.01, ge=0)

    @field_validator("model")
    @classmethod
    def _registered(cls, model: str) -> str:
        if model not in models.names():
            raise ValueError(f"inference.model {model!r} is not one of {models.names()}")
        return model
