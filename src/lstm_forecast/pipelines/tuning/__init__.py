"""Tuning: an Optuna study of the LSTM's hyperparameters on the validation split."""

from .pipeline import create_pipeline

__all__ = ["create_pipeline"]
