"""Nodes of the features pipeline: pure functions of candles and parameters."""

from __future__ import annotations

import logging
from typing import Any

import pandas as pd

from lstm_forecast.errors import CandleDataError
from lstm_forecast.lineage import fingerprint_frame, fingerprint_json, require_same
from lstm_forecast.timeseries.features import feature_arrays, feature_set, lookback
from lstm_forecast.timeseries.preparation import SPLITS, finite_rows, fit_scaler, split_window_rows
from lstm_forecast.timeseries.targets import compute_targets, target_columns

from .params import FeaturesParams

logger = logging.getLogger(__name__)

_RERUN = "rerun `kedro run --pipelines=features` and the stages after it."


def build_features(candles: pd.DataFrame, features: FeaturesParams) -> pd.DataFrame:
    """Compute features and the unscaled targets ``target_1..target_<horizon>`` of every bar.

    Args:
        candles: Clean candles from the ingestion stage.
        features: ``params:features`` (uses ``target``, ``horizon`` and ``feature_set``).

    Returns:
        ``timestamp, close, segment`` (and ``asset``), one column per feature of the set,
        then the targets.
    """
    targets = compute_targets(candles, features.target, features.horizon).T
    columns = {name: candles[name].to_numpy(copy=True) for name in ("close", "segment")}
    if "asset" in candles:  # rows of one asset are contiguous; segments never span two
        columns["asset"] = candles["asset"].to_numpy(copy=True)
    columns |= feature_arrays(candles, feature_set(features.feature_set))
    # Rows of the transposed targets are contiguous: one column each without a copy.
    columns |= dict(zip(target_columns(features.horizon), targets, strict=True))
    # Fresh arrays, owned here: one block each instead of a copy into one 2-D block.
    table = pd.DataFrame(columns, index=candles.index, copy=False)
    table.insert(0, "timestamp", candles["timestamp"])
    return table


def split_chronologically(feature_table: pd.DataFrame, features: FeaturesParams) -> dict[str, Any]:
    """Choose the train/validation/test boundaries in time.

    Explicit ``split.val_start``/``split.test_start`` dates win over the fractions.

    Args:
        feature_table: Output of ``build_features``.
        features: ``params:features`` (uses ``split``).

    Returns:
        ISO timestamps ``train_start``, ``val_start``, ``test_start``, ``end``, the method,
        and the ``lineage`` fingerprint of the feature table.
    """
    split = features.split
    # One time axis for every asset: the same dates split each, so no bar of any asset's
    # validation or test period reaches training (market-wide moves would leak across).
    timestamps = feature_table["timestamp"].sort_values(ignore_index=True)
    rows = len(timestamps)
    if split.val_start is not None:
        val_start = pd.Timestamp(split.val_start, tz="UTC")
        test_start = pd.Timestamp(split.test_start, tz="UTC")
        method = "dates"
    else:
        val_start = timestamps.iloc[int(rows * split.train_fraction)]
        test_start = timestamps.iloc[int(rows * (split.train_fraction + split.val_fraction))]
        method = "fractions"
    if not timestamps.iloc[0] < val_start < test_start <= timestamps.iloc[-1]:
        raise CandleDataError(
            f"Split boundaries val_start={val_start}, test_start={test_start} must lie inside "
            f"the data ({timestamps.iloc[0]} .. {timestamps.iloc[-1]}) in that order: change "
            "features.split."
        )
    return {
        "method": method,
        "train_start": timestamps.iloc[0].isoformat(),
        "val_start": val_start.isoformat(),
        "test_start": test_start.isoformat(),
        "end": timestamps.iloc[-1].isoformat(),
        "lineage": {"features": fingerprint_frame(feature_table)},
    }


def fit_feature_scaler(
    feature_table: pd.DataFrame, split_boundaries: dict[str, Any], features: FeaturesParams
) -> dict[str, Any]:
    """Fit standard scalers for the features and each horizon's target on training data only.

    Args:
        feature_table: Output of ``build_features``.
        split_boundaries: Output of ``split_chronologically``.
        features: ``params:features`` (uses ``target``, ``horizon`` and ``feature_set``).

    Returns:
        JSON-ready scaler parameters (with the ``feature_set`` name), the split they were
        fit before, and their ``lineage`` (fingerprints of the feature table and the split).
    """
    lineage = _lineage(feature_table, split_boundaries)
    require_same(
        split_boundaries["lineage"],
        {"features": lineage["features"]},
        what="split_boundaries",
        rerun=_RERUN,
    )
    scaler = fit_scaler(
        _training_assets(feature_table, features),
        pd.Timestamp(split_boundaries["val_start"]),
        features.target,
        features.horizon,
        feature_set(features.feature_set),
    )
    return scaler | {
        "feature_set": features.feature_set,
        "fitted_before": split_boundaries["val_start"],
        "lineage": lineage,
    }


def make_windows(
    feature_table: pd.DataFrame,
    feature_scaler: dict[str, Any],
    split_boundaries: dict[str, Any],
    features: FeaturesParams,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Index the windows of each split (end rows into the feature table; nothing is copied).

    Args:
        feature_table: Output of ``build_features``.
        feature_scaler: Output of ``fit_feature_scaler``.
        split_boundaries: Output of ``split_chronologically``.
        features: ``params:features`` (uses ``window_length``).

    Returns:
        The train, validation and test windows as ``end_row, origin_time, target_time``.

    Raises:
        CandleDataError: When a split holds no window.
        LineageError: When the scaler was not fit on this table and split.
    """
    require_same(
        feature_scaler["lineage"],
        _lineage(feature_table, split_boundaries),
        what="feature_scaler",
        rerun=_RERUN,
    )
    # Only which rows are finite matters here: the scaled arrays are built where they train.
    features_ok, targets_ok = finite_rows(feature_table, feature_scaler)
    length = features.window_length
    # The forecaster reads this many bars before a window's first row: they must lie in
    # the window's segment too (the features' NaN rule already implies it; this says so).
    before = lookback(feature_scaler["feature_names"])
    windows = split_window_rows(
        feature_table,
        features_ok,
        targets_ok,
        int(feature_scaler["horizon"]),
        length,
        pd.Timestamp(split_boundaries["val_start"]),
        pd.Timestamp(split_boundaries["test_start"]),
        lookback=before,
    )
    if "asset" in feature_table:
        assets = feature_table["asset"].to_numpy()
        for split in SPLITS:
            windows[split]["asset"] = assets[windows[split]["end_row"].to_numpy()]
        held_out = list(features.split.zero_shot_assets)
        for split in ("train", "val"):  # zero-shot assets are seen in their test split only
            frame = windows[split]
            windows[split] = frame[~frame["asset"].isin(held_out)].reset_index(drop=True)
    for split in SPLITS:
        if windows[split].empty:
            raise CandleDataError(
                f"No {split} window fits in the data: a window needs {length} + {before} bars "
                f"of history and {features.horizon} bars ahead in the same split, without a gap. "
                "Use a longer CSV, a shorter features.window_length or features.horizon, or "
                "other features.split settings."
            )
    logger.info(
        "Windows of %d bars forecasting %d bars ahead: %d train, %d val, %d test.",
        length,
        features.horizon,
        *(len(windows[split]) for split in SPLITS),
    )
    return windows["train"], windows["val"], windows["test"]


def _training_assets(feature_table: pd.DataFrame, features: FeaturesParams) -> pd.DataFrame:
    """The rows of the assets training may see: all but ``split.zero_shot_assets``.

    Raises:
        CandleDataError: When a zero-shot asset is not in the table.
    """
    held_out = list(features.split.zero_shot_assets)
    if not held_out:
        return feature_table
    present = feature_table["asset"].unique().tolist() if "asset" in feature_table else []
    unknown = [name for name in held_out if name not in present]
    if unknown:
        raise CandleDataError(
            f"features.split.zero_shot_assets names {unknown}, not among the run's assets "
            f"{present}. Fix: name assets listed in ingestion.assets."
        )
    return feature_table[~feature_table["asset"].isin(held_out)]


def _lineage(feature_table: pd.DataFrame, split_boundaries: dict[str, Any]) -> dict[str, str]:
    return {
        "features": fingerprint_frame(feature_table),
        "split": fingerprint_json(split_boundaries),
    }
