"""Nodes of the features pipeline: pure functions of candles and parameters."""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pandas as pd
from sklearn.preprocessing import StandardScaler

from lstm_forecast.errors import CandleDataError
from lstm_forecast.timeseries.features import (
    FEATURE_NAMES,
    TARGET_KINDS,
    compute_features,
    compute_target,
    scale_features,
)
from lstm_forecast.timeseries.windows import valid_window_ends

logger = logging.getLogger(__name__)

SPLITS = ("train", "val", "test")


def build_features(candles: pd.DataFrame, features: dict[str, Any]) -> pd.DataFrame:
    """Compute features and the unscaled target of every bar.

    Args:
        candles: Clean candles from the ingestion stage.
        features: ``params:features`` (uses ``target``).

    Returns:
        ``timestamp, close, segment``, one column per feature, and ``target``.
    """
    table = candles[["timestamp", "close", "segment"]].copy()
    table[list(FEATURE_NAMES)] = compute_features(candles)
    table["target"] = compute_target(candles, features["target"])
    return table


def split_chronologically(feature_table: pd.DataFrame, features: dict[str, Any]) -> dict[str, Any]:
    """Choose the train/validation/test boundaries in time.

    Explicit ``split.val_start``/``split.test_start`` dates win over the fractions.
    A window belongs to the split that holds its target bar.

    Args:
        feature_table: Output of ``build_features``.
        features: ``params:features`` (uses ``split``).

    Returns:
        ISO timestamps ``train_start``, ``val_start``, ``test_start``, ``end`` and the method.
    """
    split = features["split"]
    timestamps = feature_table["timestamp"]
    rows = len(timestamps)
    if split.get("val_start") and split.get("test_start"):
        val_start = pd.Timestamp(split["val_start"], tz="UTC")
        test_start = pd.Timestamp(split["test_start"], tz="UTC")
        method = "dates"
    else:
        train_fraction, val_fraction = split["train_fraction"], split["val_fraction"]
        if not (train_fraction > 0 and val_fraction > 0 and train_fraction + val_fraction < 1):
            raise ValueError(
                "features.split fractions must be positive and leave room for a test split, got "
                f"train_fraction={train_fraction}, val_fraction={val_fraction}."
            )
        val_start = timestamps.iloc[int(rows * train_fraction)]
        test_start = timestamps.iloc[int(rows * (train_fraction + val_fraction))]
        method = "fractions"
    if not timestamps.iloc[0] < val_start < test_start <= timestamps.iloc[-1]:
        raise ValueError(
            f"Split boundaries val_start={val_start}, test_start={test_start} must lie inside "
            f"the data ({timestamps.iloc[0]} .. {timestamps.iloc[-1]}) in that order."
        )
    return {
        "method": method,
        "train_start": timestamps.iloc[0].isoformat(),
        "val_start": val_start.isoformat(),
        "test_start": test_start.isoformat(),
        "end": timestamps.iloc[-1].isoformat(),
    }


def fit_scaler(
    feature_table: pd.DataFrame, split_boundaries: dict[str, Any], features: dict[str, Any]
) -> dict[str, Any]:
    """Fit standard scalers for the features and the target on training rows only.

    Args:
        feature_table: Output of ``build_features``.
        split_boundaries: Output of ``split_chronologically``.
        features: ``params:features`` (uses ``target``).

    Returns:
        JSON-friendly scaler parameters: feature names, means, scales, target mean/scale.
    """
    timestamps = feature_table["timestamp"]
    val_start = pd.Timestamp(split_boundaries["val_start"])
    # Row t's target is bar t+1's close: it is a training value only if t+1 precedes val_start.
    target_time = timestamps.shift(-1)
    train_rows = (timestamps < val_start).to_numpy()
    train_targets = (target_time < val_start).to_numpy()

    feature_values = feature_table.loc[train_rows, list(FEATURE_NAMES)].to_numpy()
    feature_scaler = StandardScaler().fit(feature_values[np.isfinite(feature_values).all(axis=1)])
    target_values = feature_table.loc[train_targets, "target"].to_numpy()
    target_scaler = StandardScaler().fit(target_values[np.isfinite(target_values)].reshape(-1, 1))
    return {
        "feature_names": list(FEATURE_NAMES),
        "mean": feature_scaler.mean_.tolist(),
        "scale": feature_scaler.scale_.tolist(),
        "target_kind": features["target"],
        "target_formula": TARGET_KINDS[features["target"]],
        "target_mean": float(target_scaler.mean_[0]),
        "target_scale": float(target_scaler.scale_[0]),
        "fitted_on_rows": int(feature_scaler.n_samples_seen_),
        "fitted_before": split_boundaries["val_start"],
    }


def make_windows(
    feature_table: pd.DataFrame,
    feature_scaler: dict[str, Any],
    split_boundaries: dict[str, Any],
    window_length: int,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Scale the feature matrix and index the windows of each split.

    Args:
        feature_table: Output of ``build_features``.
        feature_scaler: Output of ``fit_scaler``.
        split_boundaries: Output of ``split_chronologically``.
        window_length: Bars per window.

    Returns:
        The scaled float32 matrix (features + ``target``), then the train, validation and
        test windows as ``end_row``/``target_time`` tables.
    """
    scaled = scale_feature_table(feature_table, feature_scaler)
    matrix = scaled[feature_scaler["feature_names"]].to_numpy()
    ends = valid_window_ends(
        feature_table["segment"].to_numpy(),
        np.isfinite(matrix).all(axis=1),
        np.isfinite(scaled["target"].to_numpy()),
        window_length,
    )
    # Valid ends have a next bar in the same segment, so it is the target bar. Indexing the
    # datetime array (not .to_numpy(), which makes one Python object per tz-aware stamp).
    target_time = pd.DatetimeIndex(feature_table["timestamp"].array[ends + 1])
    val_start = pd.Timestamp(split_boundaries["val_start"])
    test_start = pd.Timestamp(split_boundaries["test_start"])
    masks = {
        "train": np.asarray(target_time < val_start),
        "val": np.asarray((target_time >= val_start) & (target_time < test_start)),
        "test": np.asarray(target_time >= test_start),
    }
    windows = {}
    for split in SPLITS:
        if not masks[split].any():
            raise CandleDataError(
                f"No {split} window of {window_length} bars fits in the data: each split needs "
                f"at least {window_length + 1} consecutive bars without a gap. Use a longer CSV, "
                "a shorter features.window_length, or other features.split settings."
            )
        windows[split] = pd.DataFrame(
            {"end_row": ends[masks[split]], "target_time": target_time[masks[split]]}
        )
    logger.info(
        "Windows of %d bars: %d train, %d val, %d test (gap-crossing windows excluded: %d).",
        window_length,
        *(len(windows[split]) for split in SPLITS),
        max(0, len(feature_table) - window_length) - len(ends),
    )
    return scaled, windows["train"], windows["val"], windows["test"]


def scale_feature_table(
    feature_table: pd.DataFrame, feature_scaler: dict[str, Any]
) -> pd.DataFrame:
    """Apply stored scaler parameters to features and target.

    Args:
        feature_table: A frame with the scaler's feature columns and optionally ``target``.
        feature_scaler: Output of ``fit_scaler``.

    Returns:
        float32 frame of scaled features (and scaled ``target`` when present).
    """
    names = feature_scaler["feature_names"]
    values = scale_features(
        feature_table[names].to_numpy(), feature_scaler["mean"], feature_scaler["scale"]
    )
    scaled = pd.DataFrame(values, columns=names, index=feature_table.index)
    if "target" in feature_table:
        scaled["target"] = (
            (feature_table["target"].to_numpy() - feature_scaler["target_mean"])
            / feature_scaler["target_scale"]
        ).astype(np.float32)
    return scaled
