"""Variants: optimised and int8 copies of each published ONNX file, checked against it."""

from .pipeline import create_pipeline

__all__ = ["create_pipeline"]
