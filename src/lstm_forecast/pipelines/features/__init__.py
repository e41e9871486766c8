"""Features: features, a chronological split, a train-only scaler and window indices."""

from .pipeline import create_pipeline

__all__ = ["create_pipeline"]
