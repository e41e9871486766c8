"""Validation: prove the ONNX file is well formed and agrees with the trained model."""

from .pipeline import create_pipeline

__all__ = ["create_pipeline"]
