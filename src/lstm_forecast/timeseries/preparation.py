"""From a feature table to a scaler and window indices: shared by features and backtest.

A window ends at row ``t``: inputs are rows ``t - L + 1 .. t``, targets the closes of bars
``t + 1 .. t + horizon``. A window belongs to a split only when all its target bars do,
so no training target lies in or after the validation period.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from sklearn.preprocessing import StandardScaler

from lstm_forecast.errors import LineageError

from .features import FEATURE_NAMES, scale_features
from .targets import TARGET_KINDS, target_columns
from .windows import valid_window_ends

SPLITS = ("train", "val", "test")


def fit_scaler(
    table: pd.DataFrame,
    val_start: pd.Timestamp,
    target_kind: str,
    horizon: int,
    names: Sequence[str] = FEATURE_NAMES,
) -> dict[str, Any]:
    """Fit standard scalers on rows, and targets, that lie before ``val_start`` only.

    Args:
        table: Feature table (``timestamp``, features, ``target_1..target_<horizon>``).
        val_start: First timestamp of the validation split.
        target_kind: What the targets are (recorded for turning forecasts into prices).
        horizon: Number of target columns.
        names: The feature columns to scale (a feature set; default ``basic``).

    Returns:
        JSON-ready ``feature_names`` (those not constant on the training rows),
        ``feature_mean, feature_scale, target_kind, target_mean, target_scale`` (one target
        mean/scale per horizon step) and ``fitted_on_rows``.
    """
    timestamps = table["timestamp"]
    before = _rows_before(timestamps, val_start)
    features = table[list(names)].to_numpy()[before(0)]
    feature_scaler = StandardScaler().fit(features[np.isfinite(features).all(axis=1)])
    # A feature that is constant at the data's interval (the hour of day on daily bars)
    # carries nothing: it is left out, and the contract lists the features actually used.
    used = feature_scaler.var_ > 0
    finite = features[np.isfinite(features).all(axis=1)]
    target_mean, target_scale = [], []
    for h, column in enumerate(target_columns(horizon), start=1):
        # Row t's h-step target is bar t+h's close: a training value only before val_start.
        values = table[column].to_numpy()[before(h)]
        values = values[np.isfinite(values)]
        if values.size < 2:
            raise ValueError(f"Fewer than two training targets {h} bars ahead.")
        target_mean.append(float(values.mean()))
        target_scale.append(float(values.std()) or 1.0)
    return {
        "feature_names": [name for name, keep in zip(names, used, strict=True) if keep],
        "feature_mean": feature_scaler.mean_[used].tolist(),
        "feature_scale": feature_scaler.scale_[used].tolist(),
        # The training rows' range of each feature: the forecaster flags windows beyond it.
        "feature_min": finite.min(axis=0)[used].tolist(),
        "feature_max": finite.max(axis=0)[used].tolist(),
        "target_kind": target_kind,
        "target_formula": TARGET_KINDS[target_kind],
        "horizon": horizon,
        "target_mean": target_mean,
        "target_scale": target_scale,
        "fitted_on_rows": int(feature_scaler.n_samples_seen_),
    }


def _rows_before(timestamps: pd.Series, val_start: pd.Timestamp) -> Any:
    """``before(h)``: the rows ``t`` whose bar ``t + h`` lies before ``val_start``.

    Sorted times (every feature table) give a slice, found by binary search; otherwise a
    boolean mask of the shifted times, as the definition says.
    """
    if timestamps.is_monotonic_increasing and not timestamps.hasnans:
        first_after = int(timestamps.searchsorted(val_start, side="left"))
        return lambda h: slice(0, max(first_after - h, 0))
    return lambda h: (timestamps.shift(-h) < val_start).to_numpy()


def finite_rows(table: pd.DataFrame, scaler: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:
    """Rows whose scaled features, and whose scaled targets, are all finite.

    The same values as ``np.isfinite(a).all(axis=1)`` over ``scaled_arrays``' two arrays,
    computed one column at a time, so no ``[rows, horizon]`` copy is ever made.
    """
    rows = len(table)
    features_ok = np.ones(rows, dtype=bool)
    for name, mean, scale in zip(
        scaler["feature_names"], scaler["feature_mean"], scaler["feature_scale"], strict=True
    ):
        column = table[name].to_numpy(dtype=np.float64)
        features_ok &= np.isfinite(((column - mean) / scale).astype(np.float32))
    targets_ok = np.ones(rows, dtype=bool)
    targets = target_columns(scaler["horizon"])
    for name, mean, scale in zip(
        targets, scaler["target_mean"], scaler["target_scale"], strict=True
    ):
        column = table[name].to_numpy(dtype=np.float64)
        targets_ok &= np.isfinite(((column - mean) / scale).astype(np.float32))
    return features_ok, targets_ok


def scaled_arrays(table: pd.DataFrame, scaler: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:
    """Apply stored scaler parameters: ``[rows, features]`` and ``[rows, horizon]`` float32."""
    matrix = scale_features(
        table[scaler["feature_names"]].to_numpy(), scaler["feature_mean"], scaler["feature_scale"]
    )
    targets = table[target_columns(scaler["horizon"])].to_numpy(dtype=np.float64)
    mean = np.asarray(scaler["target_mean"], dtype=np.float64)
    scale = np.asarray(scaler["target_scale"], dtype=np.float64)
    return matrix, ((targets - mean) / scale).astype(np.float32)


def split_windows(
    table: pd.DataFrame,
    matrix: np.ndarray,
    targets: np.ndarray,
    window_length: int,
    val_start: pd.Timestamp,
    test_start: pd.Timestamp,
    test_end: pd.Timestamp | None = None,
) -> dict[str, pd.DataFrame]:
    """Index the windows of each split by end row.

    Args:
        table: Feature table (``timestamp``, ``segment``).
        matrix: Scaled features (rows with a non-finite value end no window).
        targets: Scaled targets (rows lacking one of them end no window).
        window_length: Bars per window.
        val_start: First bar of the validation split.
        test_start: First bar of the test split.
        test_end: First bar after the test split (None = the end of the data).

    Returns:
        ``train``, ``val``, ``test`` tables of ``start_row``, ``end_row``, ``origin_time``
        (the last input bar) and ``target_time`` (the first target bar).
    """
    return split_window_rows(
        table,
        np.isfinite(matrix).all(axis=1),
        np.isfinite(targets).all(axis=1),
        targets.shape[1],
        window_length,
        val_start,
        test_start,
        test_end,
    )


def split_window_rows(
    table: pd.DataFrame,
    features_ok: np.ndarray,
    targets_ok: np.ndarray,
    horizon: int,
    window_length: int,
    val_start: pd.Timestamp,
    test_start: pd.Timestamp,
    test_end: pd.Timestamp | None = None,
    lookback: int = 0,
) -> dict[str, pd.DataFrame]:
    """``split_windows`` given which rows have finite features and targets (``finite_rows``);
    ``lookback`` bars before each window must lie in its segment too."""
    ends = valid_window_ends(
        table["segment"].to_numpy(), features_ok, targets_ok, window_length, lookback
    )
    stamps = table["timestamp"].array
    first = pd.DatetimeIndex(stamps[ends + 1])
    last = pd.DatetimeIndex(stamps[ends + horizon])
    test_end = test_end if test_end is not None else last.max() + pd.Timedelta(1, "ns")
    masks = {
        "train": np.asarray(last < val_start),
        "val": np.asarray((first >= val_start) & (last < test_start)),
        "test": np.asarray((first >= test_start) & (last < test_end)),
    }
    return {
        split: pd.DataFrame(
            {
                "start_row": ends[mask] - window_length + 1,
                "end_row": ends[mask],
                "origin_time": pd.DatetimeIndex(stamps[ends[mask]]),
                "target_time": first[mask],
            }
        )
        for split, mask in masks.items()
    }


def window_length_of(windows: pd.DataFrame) -> int:
    """The window length an index was built with (each row spans start_row..end_row)."""
    lengths = np.unique(windows["end_row"].to_numpy() - windows["start_row"].to_numpy() + 1)
    if len(lengths) != 1:
        raise ValueError(f"A window index mixes window lengths {lengths.tolist()}.")
    return int(lengths[0])


def require_windows_match(table: pd.DataFrame, windows: pd.DataFrame, name: str) -> None:
    """Refuse a window index that was not made from this feature table.

    Raises:
        LineageError: When an end row is outside the table or its time differs.
    """
    ends = windows["end_row"].to_numpy()
    stamps = table["timestamp"]
    if len(ends) and (ends.max() >= len(stamps) or ends.min() < 0):
        matches = False
    else:
        matches = bool(
            np.array_equal(
                pd.DatetimeIndex(stamps.array[ends]).asi8,
                pd.DatetimeIndex(windows["origin_time"]).asi8,
            )
        )
    if not matches:
        raise LineageError(
            f"{name} does not index the feature table on disk (a run failed part-way or was "
            "rerun on other data). Fix: rerun `kedro run --pipelines=features` and the stages "
            "after it."
        )
