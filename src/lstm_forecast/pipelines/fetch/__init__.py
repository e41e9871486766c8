"""Fetch: years of candles from the exchange's public kline archive, one CSV per symbol."""

from .pipeline import create_pipeline

__all__ = ["create_pipeline"]
