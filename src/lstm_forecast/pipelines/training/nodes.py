"""Nodes of the training pipeline: one generic node, instantiated per model kind."""

from __future__ import annotations

import logging
from typing import Any

import pandas as pd

from lstm_forecast import models
from lstm_forecast.lineage import fingerprint_frame, fingerprint_json, require_same
from lstm_forecast.models.params import TrainingParams
from lstm_forecast.timeseries.preparation import (
    require_windows_match,
    scaled_arrays,
    window_length_of,
)

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


def training_data(
    feature_table: pd.DataFrame,
    feature_scaler: dict[str, Any],
    train_windows: pd.DataFrame,
    val_windows: pd.DataFrame,
    training: TrainingParams,
) -> models.TrainingData:
    """The scaled matrix and window end rows every kind trains on, after checking that the
    inputs belong together (also used by ``lstm_forecast.models.train_distributed``).

    Args:
        feature_table: Unscaled feature table with targets.
        feature_scaler: Scaler fit on the training split.
        train_windows: End rows of the training windows.
        val_windows: End rows of the validation windows.
        training: ``params:training``.

    Returns:
        The training data, with the lineage of the table and the scaler.
    """
    require_same(
        feature_scaler["lineage"],
        {"features": fingerprint_frame(feature_table)},
        what="feature_scaler",
        rerun="rerun `kedro run --pipelines=features` before training.",
    )
    for name, windows in (("train_windows", train_windows), ("val_windows", val_windows)):
        require_windows_match(feature_table, windows, name)
    matrix, targets = scaled_arrays(feature_table, feature_scaler)
    data = models.TrainingData(
        matrix=matrix,
        targets=targets,
        train_ends=train_windows["end_row"].to_numpy(),
        val_ends=val_windows["end_row"].to_numpy(),
        window_length=window_length_of(train_windows),
        feature_names=tuple(feature_scaler["feature_names"]),
        quantiles=tuple(training.quantiles),
        seed=training.seed,
        lineage={
            "features": fingerprint_frame(feature_table),
            "scaler": fingerprint_json(feature_scaler),
        },
    )
    return data
