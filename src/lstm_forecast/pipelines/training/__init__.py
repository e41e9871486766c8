"""Training: a Lightning LSTM fit on the training windows, early-stopped on validation."""

from .pipeline import create_pipeline

__all__ = ["create_pipeline"]
