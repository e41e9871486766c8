"""The data every model kind trains on, built from the features stage's outputs."""

from __future__ import annotations

from typing import Any

import pandas as pd

from lstm_forecast.lineage import fingerprint_frame, fingerprint_json, require_same
from lstm_forecast.timeseries.preparation import (
    require_windows_match,
    scaled_arrays,
    window_length_of,
)

from .base import TrainingData
from .training_params import TrainingParams


def training_data(
    feature_table: pd.DataFrame,
    feature_scaler: dict[str, Any],
    train_windows: pd.DataFrame,
    val_windows: pd.DataFrame,
    training: TrainingParams,
) -> TrainingData:
    """The scaled matrix and window end rows every kind trains on, after checking that the
    inputs belong together (the training stage and ``models.train_distributed`` use it).

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
    data = TrainingData(
        matrix=matrix,
        targets=targets,
        train_ends=train_windows["end_row"].to_numpy(),
        val_ends=val_windows["end_row"].to_numpy(),
        window_length=window_length_of(train_windows),
        feature_names=tuple(feature_scaler["feature_names"]),
        quantiles=tuple(training.quantiles),
        seed=training.seed,
        scaler=feature_scaler,
        lineage={
            "features": fingerprint_frame(feature_table),
            "scaler": fingerprint_json(feature_scaler),
        },
    )
    return data
