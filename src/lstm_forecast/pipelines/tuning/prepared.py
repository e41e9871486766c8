"""What every trial of a study shares: one feature table and scaler per searched feature set,
window indices per (set, length), and the validation windows every trial is scored on."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from lstm_forecast.errors import LineageError
from lstm_forecast.timeseries.features import feature_arrays, feature_set
from lstm_forecast.timeseries.preparation import finite_rows, fit_scaler, split_window_rows
from lstm_forecast.timeseries.targets import target_columns

from .params import SearchSpace


@dataclass
class FeatureSetData:
    """One feature set's unscaled table (with targets), its train-only scaler, finite rows."""

    table: pd.DataFrame
    scaler: dict[str, Any]
    finite: tuple[np.ndarray, np.ndarray]


@dataclass
class Prepared:
    """The sets a study searches, the split, and the windows every trial is scored on."""

    sets: dict[str, FeatureSetData]
    val_start: pd.Timestamp
    test_start: pd.Timestamp
    score_ends: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.int64))
    cache: dict[tuple[str, int], dict[str, pd.DataFrame]] = field(default_factory=dict)

    def windows(self, name: str, length: int) -> dict[str, pd.DataFrame]:
        """Train/val/test windows of ``length`` bars on feature set ``name``."""
        if (name, length) not in self.cache:
            data = self.sets[name]
            self.cache[(name, length)] = split_window_rows(
                data.table,
                *data.finite,
                int(data.scaler["horizon"]),
                length,
                self.val_start,
                self.test_start,
            )
        return self.cache[(name, length)]


def prepare(
    candles: pd.DataFrame,
    table: pd.DataFrame,
    scaler: dict[str, Any],
    split: dict[str, Any],
    space: SearchSpace,
) -> Prepared:
    """Build each searched set's table and scaler; score on the validation windows that the
    longest window of every set allows (the same windows for every trial).

    Args:
        candles: The clean candles the feature table was built from (row for row).
        table: The features stage's table (its ``feature_set``'s columns and the targets).
        scaler: The features stage's scaler.
        split: The split (``val_start``, ``test_start``).
        space: The search space (``feature_set``, ``window_length``).

    Raises:
        LineageError: When the candles are not the ones the feature table was built from.
        ValueError: When the longest window leaves no training or validation window.
    """
    prepared = Prepared(
        sets={},
        val_start=pd.Timestamp(split["val_start"]),
        test_start=pd.Timestamp(split["test_start"]),
    )
    for name in space.feature_set:
        if name == scaler.get("feature_set", "basic"):
            prepared.sets[name] = FeatureSetData(table, scaler, finite_rows(table, scaler))
        else:
            prepared.sets[name] = _other_set(candles, table, scaler, prepared.val_start, name)
    longest = max(space.window_length)
    ends = None
    for name in space.feature_set:
        windows = prepared.windows(name, longest)
        if windows["train"].empty or windows["val"].empty:
            raise ValueError(
                f"tuning.space.window_length {longest} with feature set {name!r} leaves no "
                "training or validation window in this data: use shorter windows."
            )
        found = windows["val"]["end_row"].to_numpy()
        ends = found if ends is None else np.intersect1d(ends, found)
    prepared.score_ends = ends
    return prepared


def _other_set(
    candles: pd.DataFrame,
    table: pd.DataFrame,
    scaler: dict[str, Any],
    val_start: pd.Timestamp,
    name: str,
) -> FeatureSetData:
    """The feature table and scaler the features stage would have made with set ``name``."""
    same_rows = len(candles) == len(table) and np.array_equal(
        pd.DatetimeIndex(candles["timestamp"]).asi8, pd.DatetimeIndex(table["timestamp"]).asi8
    )
    if not same_rows:
        raise LineageError(
            "candles are not the candles the feature table was built from: rerun "
            "`kedro run --pipelines=ingestion,features` before tuning."
        )
    names = feature_set(name)
    horizon = int(scaler["horizon"])
    kept = ["timestamp", "close", "segment", *(["asset"] if "asset" in table else [])]
    columns = {column: table[column].to_numpy() for column in kept}
    columns |= feature_arrays(candles, names)
    columns |= {column: table[column].to_numpy() for column in target_columns(horizon)}
    other = pd.DataFrame(columns, index=table.index)
    fitted = fit_scaler(other, val_start, scaler["target_kind"], horizon, names)
    fitted["feature_set"] = name
    return FeatureSetData(other, fitted, finite_rows(other, fitted))
