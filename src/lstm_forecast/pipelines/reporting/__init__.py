"""Reporting: forecast metrics against persistence, plots, and the end-of-run summary."""

from .pipeline import create_pipeline

__all__ = ["create_pipeline"]
