"""Features: no leakage through the scaler, windows that respect gaps and splits, no copies."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from lstm_forecast.errors import CandleDataError
from lstm_forecast.pipelines.features.nodes import (
    build_features,
    fit_scaler,
    make_windows,
    split_chronologically,
)
from lstm_forecast.timeseries.features import FEATURE_NAMES
from tests.synthetic import make_candles

PARAMS = {
    "window_length": 12,
    "target": "log_return",
    "split": {"train_fraction": 0.6, "val_fraction": 0.2, "val_start": None, "test_start": None},
}
GAPS = {150: 3, 420: 1, 650: 5}


def _run(candles: pd.DataFrame, params: dict = PARAMS):
    table = build_features(candles, params)
    boundaries = split_chronologically(table, params)
    scaler = fit_scaler(table, boundaries, params)
    scaled, train, val, test = make_windows(table, scaler, boundaries, params["window_length"])
    return table, boundaries, scaler, scaled, {"train": train, "val": val, "test": test}


@pytest.fixture(scope="module")
def outputs():
    return _run(make_candles(800, gaps=GAPS))


def test_features_are_missing_exactly_where_a_bar_has_no_previous_bar(outputs):
    table = outputs[0]
    starts = np.flatnonzero(np.diff(table["segment"].to_numpy(), prepend=-1) != 0)
    assert np.flatnonzero(table["log_return"].isna()).tolist() == starts.tolist()
    # The target needs the next bar of the same segment.
    ends = np.append(starts[1:] - 1, len(table) - 1)
    assert np.flatnonzero(table["target"].isna()).tolist() == ends.tolist()


def test_split_by_fractions_is_chronological(outputs):
    table, boundaries = outputs[0], outputs[1]
    assert boundaries["method"] == "fractions"
    assert pd.Timestamp(boundaries["val_start"]) == table["timestamp"].iloc[int(800 * 0.6)]
    assert pd.Timestamp(boundaries["val_start"]) < pd.Timestamp(boundaries["test_start"])


def test_split_by_dates_overrides_fractions():
    candles = make_candles(400)
    params = {
        **PARAMS,
        "split": {**PARAMS["split"], "val_start": "2024-01-10", "test_start": "2024-01-14"},
    }
    boundaries = split_chronologically(build_features(candles, params), params)
    assert boundaries["method"] == "dates"
    assert pd.Timestamp(boundaries["test_start"]) == pd.Timestamp("2024-01-14", tz="UTC")


def test_no_window_crosses_a_gap_or_puts_its_target_in_another_split(outputs):
    table, boundaries, _, _, windows = outputs
    segment = table["segment"].to_numpy()
    times = table["timestamp"]
    val_start, test_start = (pd.Timestamp(boundaries[k]) for k in ("val_start", "test_start"))
    limits = {"train": (times.iloc[0], val_start), "val": (val_start, test_start)}
    limits["test"] = (test_start, times.iloc[-1] + pd.Timedelta("1h"))
    for split, frame in windows.items():
        ends = frame["end_row"].to_numpy()
        starts = ends - PARAMS["window_length"] + 1
        assert (segment[starts] == segment[ends + 1]).all(), split  # inputs and target: one segment
        hours = (times.iloc[ends + 1].to_numpy() - times.iloc[starts].to_numpy()) / np.timedelta64(
            1, "h"
        )
        assert (hours == PARAMS["window_length"]).all(), split  # consecutive hours, no gap
        low, high = limits[split]
        assert (frame["target_time"] >= low).all() and (frame["target_time"] < high).all(), split
        if split == "train":  # training inputs never reach into validation
            assert (times.iloc[ends] < val_start).all()


def test_every_gap_free_window_is_used(outputs):
    windows = outputs[4]
    total = sum(len(frame) for frame in windows.values())
    # 4 segments; each loses its first bar (no return), its last (no target) and L-1 starts.
    segment_lengths = np.diff([0, 150, 420, 650, 800])
    assert total == int(np.sum(segment_lengths - 1 - PARAMS["window_length"]))


def test_scaler_never_sees_validation_or_test_rows():
    candles = make_candles(800, gaps=GAPS)
    table = build_features(candles, PARAMS)
    boundaries = split_chronologically(table, PARAMS)
    poisoned = table.copy()
    later = poisoned["timestamp"] >= pd.Timestamp(boundaries["val_start"])
    poisoned.loc[later, list(FEATURE_NAMES)] = 1e6
    poisoned.loc[later, "target"] = 1e6
    assert fit_scaler(poisoned, boundaries, PARAMS) == fit_scaler(table, boundaries, PARAMS)


def test_scaled_training_features_are_standardised(outputs):
    table, boundaries, scaler, scaled, _ = outputs
    train = (table["timestamp"] < pd.Timestamp(boundaries["val_start"])).to_numpy()
    values = scaled.loc[train, scaler["feature_names"]].to_numpy(np.float64)
    values = values[np.isfinite(values).all(axis=1)]
    np.testing.assert_allclose(values.mean(axis=0), 0, atol=1e-5)
    np.testing.assert_allclose(values.std(axis=0), 1, atol=1e-4)
    assert scaled.dtypes.eq(np.float32).all()


@pytest.mark.parametrize("window_length", [24, 480])
def test_window_memory_does_not_grow_with_window_length(window_length):
    candles = make_candles(3_000)
    params = {**PARAMS, "window_length": window_length}
    *_, scaled, windows = _run(candles, params)
    # Only end rows and target times are stored: 16 bytes a window, whatever its length.
    for frame in windows.values():
        assert frame["end_row"].to_numpy().nbytes == 8 * len(frame)
        assert frame.columns.tolist() == ["end_row", "target_time"]
    assert scaled.to_numpy().nbytes <= 3_000 * (len(FEATURE_NAMES) + 1) * 4


def test_too_little_data_for_a_training_window_is_refused():
    candles = make_candles(30)
    with pytest.raises(CandleDataError, match="No train window of 24 bars"):
        _run(candles, {**PARAMS, "window_length": 24})


def test_bad_split_fractions_are_refused():
    candles = make_candles(200)
    params = {**PARAMS, "split": {**PARAMS["split"], "train_fraction": 0.9, "val_fraction": 0.2}}
    with pytest.raises(ValueError, match="fractions"):
        split_chronologically(build_features(candles, params), params)
