"""Ingestion: a raw OHLCV CSV in, clean regular-interval candles out, or a clear refusal."""

from .pipeline import create_pipeline

__all__ = ["create_pipeline"]
