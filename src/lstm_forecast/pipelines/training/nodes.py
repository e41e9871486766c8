"""Nodes of the training pipeline: one generic node, instantiated per model kind."""

from __future__ import annotations

import logging
from typing import Any

import pandas as pd

from lstm_forecast import models
from lstm_forecast.models.training_data import training_data

from .params import TrainingParams

logger = logging.getLogger(__name__)


def train_model(
    feature_table: pd.DataFrame,
    feature_scaler: dict[str, Any],
    train_windows: pd.DataFrame,
    val_windows: pd.DataFrame,
    training: TrainingParams,
    *,
    kind: str,
) -> tuple[dict[str, Any], pd.DataFrame, dict[str, Any]]:
    """Train one registered model kind on the training windows.

    Args:
        feature_table: Unscaled feature table with targets.
        feature_scaler: Scaler fit on the training split.
        train_windows: End rows of the training windows.
        val_windows: End rows of the validation windows (early stopping, calibration).
        training: ``params:training``.
        kind: The registered model kind.

    Returns:
        The trained artefact (with a ``meta`` block carrying its lineage), the per-epoch
        history, and a summary.
    """
    data = training_data(feature_table, feature_scaler, train_windows, val_windows, training)
    trained = models.get(kind).fit(data, training.for_kind(kind))
    return trained.artifact, trained.history, trained.summary
