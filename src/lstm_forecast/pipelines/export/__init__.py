"""Export: the trained checkpoint to a self-describing ONNX file."""

from .pipeline import create_pipeline

__all__ = ["create_pipeline"]
