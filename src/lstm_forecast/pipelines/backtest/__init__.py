"""Backtest: rolling-origin evaluation with expanding training windows (not in ``__default__``)."""

from .pipeline import create_pipeline

__all__ = ["create_pipeline"]
