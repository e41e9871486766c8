"""Inference: recent candles and the ONNX file in, next-hour forecasts out, without torch."""

from .pipeline import create_pipeline

__all__ = ["create_pipeline"]
