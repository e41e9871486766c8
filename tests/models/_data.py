"""Small training data built the way the features stage builds it."""

from __future__ import annotations

import pandas as pd

from lstm_forecast.models import TrainingData
from lstm_forecast.timeseries.features import compute_features
from lstm_forecast.timeseries.preparation import fit_scaler, scaled_arrays, split_windows
from lstm_forecast.timeseries.targets import compute_targets, target_columns
from tests.synthetic import make_candles


def training_data(
    rows: int = 400,
    window_length: int = 8,
    horizon: int = 3,
    quantiles: tuple[float, ...] = (0.1, 0.5, 0.9),
    seed: int = 7,
) -> tuple[TrainingData, pd.DataFrame, dict]:
    """TrainingData on synthetic candles (60/20/20 split), its table and its scaler."""
    candles = make_candles(rows, gaps={rows // 2: 2})
    table = candles[["timestamp", "close", "segment"]].copy()
    table[list(compute_features(candles).columns)] = compute_features(candles)
    table[target_columns(horizon)] = compute_targets(candles, "log_return", horizon)
    val_start = table["timestamp"].iloc[int(rows * 0.6)]
    test_start = table["timestamp"].iloc[int(rows * 0.8)]
    scaler = fit_scaler(table, val_start, "log_return", horizon)
    matrix, targets = scaled_arrays(table, scaler)
    windows = split_windows(table, matrix, targets, window_length, val_start, test_start)
    data = TrainingData(
        matrix=matrix,
        targets=targets,
        train_ends=windows["train"]["end_row"].to_numpy(),
        val_ends=windows["val"]["end_row"].to_numpy(),
        window_length=window_length,
        feature_names=tuple(scaler["feature_names"]),
        quantiles=quantiles,
        seed=seed,
        scaler=scaler,
    )
    table.attrs["test_ends"] = windows["test"]["end_row"].to_numpy()
    return data, table, scaler
