"""Scaler fit on training data only (by each target's own time) and windows per split."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from lstm_forecast.errors import LineageError
from lstm_forecast.timeseries.features import FEATURE_NAMES
from lstm_forecast.timeseries.preparation import (
    _rows_before,
    finite_rows,
    fit_scaler,
    require_windows_match,
    scaled_arrays,
    split_windows,
    window_length_of,
)
from lstm_forecast.timeseries.targets import target_columns
from tests.synthetic import make_candles

from ._tables import (
    TINY_FEATURE_MEAN,
    TINY_FEATURE_SCALE,
    TINY_TARGET_MEAN,
    TINY_TARGET_SCALE,
    TINY_VAL_START,
    feature_table,
    tiny_feature_table,
)

NAN = math.nan
POISON = 1e6


def test_fit_scaler_by_hand_on_a_tiny_table():
    scaler = fit_scaler(tiny_feature_table(), TINY_VAL_START, "log_return", 2)
    assert scaler["feature_names"] == list(FEATURE_NAMES)
    np.testing.assert_allclose(scaler["feature_mean"], TINY_FEATURE_MEAN, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(scaler["feature_scale"], TINY_FEATURE_SCALE, rtol=1e-12)
    np.testing.assert_allclose(scaler["target_mean"], TINY_TARGET_MEAN, rtol=1e-12)
    np.testing.assert_allclose(scaler["target_scale"], TINY_TARGET_SCALE, rtol=1e-12)
    assert scaler["fitted_on_rows"] == 3
    assert (scaler["target_kind"], scaler["horizon"]) == ("log_return", 2)
    assert scaler["target_formula"] == "close_{t+h} = close_t * exp(y_h)"


def test_a_feature_constant_on_the_training_rows_is_left_out():
    table = tiny_feature_table()
    table["hour_cos"] = [900.0, 7.0, 7.0, 7.0, 50.0, 50.0]  # constant before val_start only
    scaler = fit_scaler(table, TINY_VAL_START, "log_return", 2)
    assert scaler["feature_names"] == [n for n in FEATURE_NAMES if n != "hour_cos"]
    np.testing.assert_allclose(scaler["feature_mean"], TINY_FEATURE_MEAN[:5], rtol=1e-12)
    matrix, _ = scaled_arrays(table, scaler)
    assert matrix.shape == (6, 5)


def test_scaled_arrays_by_hand():
    table = tiny_feature_table()
    matrix, targets = scaled_arrays(table, fit_scaler(table, TINY_VAL_START, "close", 2))
    assert matrix.dtype == targets.dtype == np.float32
    # Row 2: (2-3)/sqrt(14/3), (4-6)/sqrt(56/3), (0-1)/sqrt(2), 0, 0, 0.
    np.testing.assert_allclose(
        matrix[2],
        [-1 / math.sqrt(14 / 3), -2 / math.sqrt(56 / 3), -1 / math.sqrt(2), 0.0, 0.0, 0.0],
        rtol=1e-6,
        atol=1e-7,
    )
    # Row 1: (3-4)/sqrt(26/3), (4-3)/1.
    np.testing.assert_allclose(targets[1], [-1 / math.sqrt(26 / 3), 1.0], rtol=1e-6)
    assert np.isnan(targets[5]).all()


def test_target_scaler_per_horizon_from_the_candles_themselves():
    """Each horizon's mean/std from pairs (t, t+h) in one segment with bar t+h before val_start."""
    candles = make_candles(150, gaps={50: 3}, seed=11)
    horizon = 4
    table = feature_table(candles, "log_return", horizon)
    val_start_row = 100
    scaler = fit_scaler(table, table["timestamp"].iloc[val_start_row], "log_return", horizon)
    close, segment = candles["close"].to_numpy(), candles["segment"].to_numpy()
    for h in range(1, horizon + 1):
        pairs = [
            math.log(close[t + h] / close[t])
            for t in range(len(close) - h)
            if segment[t] == segment[t + h] and t + h < val_start_row
        ]
        assert scaler["target_mean"][h - 1] == pytest.approx(np.mean(pairs), rel=1e-9)
        assert scaler["target_scale"][h - 1] == pytest.approx(np.std(pairs), rel=1e-9)


def _poison_at_or_after(table: pd.DataFrame, val_start_row: int, horizon: int) -> pd.DataFrame:
    """Every value whose bar is at or after ``val_start_row`` becomes POISON: feature rows by
    their own bar, target_h of row t by its target bar t+h."""
    poisoned = table.copy()
    rows = np.arange(len(table))
    poisoned.loc[rows >= val_start_row, list(FEATURE_NAMES)] = POISON
    for h, column in enumerate(target_columns(horizon), start=1):
        poisoned.loc[rows + h >= val_start_row, column] = POISON
    return poisoned


def test_scaler_never_sees_a_value_of_a_bar_at_or_after_val_start():
    candles = make_candles(200, gaps={70: 3}, seed=2)
    horizon, val_start_row = 6, 120
    table = feature_table(candles, "log_return", horizon)
    val_start = table["timestamp"].iloc[val_start_row]
    clean = fit_scaler(table, val_start, "log_return", horizon)

    poisoned = fit_scaler(
        _poison_at_or_after(table, val_start_row, horizon), val_start, "log_return", horizon
    )
    assert poisoned == clean

    # The boundary is tight: the last training target (bar val_start - 1) is in the fit.
    last_training = table.copy()
    last_training.loc[val_start_row - 1 - horizon, f"target_{horizon}"] = POISON
    moved = fit_scaler(last_training, val_start, "log_return", horizon)
    assert moved["target_mean"][horizon - 1] != clean["target_mean"][horizon - 1]
    last_row = table.copy()
    last_row.loc[val_start_row - 1, "log_volume_change"] = POISON
    assert (
        fit_scaler(last_row, val_start, "log_return", horizon)["feature_mean"]
        != (clean["feature_mean"])
    )


def test_scaler_of_a_constant_target_keeps_unit_scale_and_too_few_targets_are_refused():
    table = tiny_feature_table()
    table["target_2"] = [7.0, 7.0, 50.0, 50.0, NAN, NAN]
    scaler = fit_scaler(table, TINY_VAL_START, "close", 2)
    assert (scaler["target_mean"][1], scaler["target_scale"][1]) == (7.0, 1.0)
    with pytest.raises(ValueError, match="2 bars ahead"):
        fit_scaler(tiny_feature_table(), table["timestamp"].iloc[3], "close", 2)


# Windows: 200 hourly bars, a gap before row 90 (segment 1 starts there), window 8, horizon 4,
# val_start = row 120, test_start = row 160. By hand:
# - row 0 and row 90 lack a log return, so a window starts at row 1 or 91 at the earliest;
# - segment 0 (rows 0..89): ends 8..85 (end + 4 <= 89); segment 1: ends 98..195;
# - train: end + 4 < 120 -> ends 8..85 and 98..115;
# - val: end + 1 >= 120 and end + 4 < 160 -> 119..155; test: end + 1 >= 160 -> 159..195.
WINDOW, HORIZON = 8, 4
EXPECTED_ENDS = {
    "train": list(range(8, 86)) + list(range(98, 116)),
    "val": list(range(119, 156)),
    "test": list(range(159, 196)),
}


def _windows(test_end: pd.Timestamp | None = None) -> tuple[pd.DataFrame, dict]:
    table = feature_table(make_candles(200, gaps={90: 5}, seed=4), "log_return", HORIZON)
    stamps = table["timestamp"]
    matrix, targets = scaled_arrays(table, fit_scaler(table, stamps.iloc[120], "log_return", 4))
    windows = split_windows(
        table, matrix, targets, WINDOW, stamps.iloc[120], stamps.iloc[160], test_end
    )
    return table, windows


def test_split_windows_by_hand_around_a_gap_and_the_split_boundaries():
    table, windows = _windows()
    stamps = table["timestamp"]
    for split, expected in EXPECTED_ENDS.items():
        frame = windows[split]
        assert frame["end_row"].tolist() == expected, split
        ends = frame["end_row"].to_numpy()
        np.testing.assert_array_equal(frame["start_row"], ends - WINDOW + 1)
        assert (frame["origin_time"] == stamps.iloc[ends].to_numpy()).all()
        assert (frame["target_time"] == stamps.iloc[ends + 1].to_numpy()).all()


def test_no_train_target_reaches_val_start_and_no_window_crosses_a_gap():
    table, windows = _windows()
    stamps, segment = table["timestamp"].to_numpy(), table["segment"].to_numpy()
    val_start, test_start = stamps[120], stamps[160]
    for split, frame in windows.items():
        ends = frame["end_row"].to_numpy()
        starts = frame["start_row"].to_numpy()
        # Inputs and every target bar in one segment.
        assert (segment[starts] == segment[ends + HORIZON]).all(), split
    train_ends = windows["train"]["end_row"].to_numpy()
    assert (stamps[train_ends + HORIZON] < val_start).all()
    assert stamps[train_ends.max() + HORIZON] == stamps[119]  # the last bar before val_start
    val_ends = windows["val"]["end_row"].to_numpy()
    assert (stamps[val_ends + 1] >= val_start).all()
    assert (stamps[val_ends + HORIZON] < test_start).all()


def test_test_end_cuts_the_test_windows():
    table, windows = _windows(test_end=None)
    _, cut = _windows(test_end=table["timestamp"].iloc[180])
    # end + 4 < 180 -> ends 159..175.
    assert cut["test"]["end_row"].tolist() == list(range(159, 176))
    assert cut["train"].equals(windows["train"])


def test_window_index_belongs_to_its_table():
    table, windows = _windows()
    require_windows_match(table, windows["val"], "val_windows")
    assert window_length_of(windows["val"]) == WINDOW
    shifted = table.iloc[1:].reset_index(drop=True)
    with pytest.raises(LineageError, match="val_windows"):
        require_windows_match(shifted, windows["val"], "val_windows")
    with pytest.raises(LineageError, match="test_windows"):
        require_windows_match(table.iloc[:150], windows["test"], "test_windows")
    mixed = windows["val"].copy()
    mixed.loc[0, "start_row"] -= 1
    with pytest.raises(ValueError, match="mixes window lengths"):
        window_length_of(mixed)


def _rows(before, h: int) -> list[int]:
    return np.arange(6)[before(h)].tolist()


def test_rows_before_on_sorted_times_by_hand():
    stamps = pd.Series(pd.Timestamp("2024-01-01", tz="UTC") + pd.to_timedelta(range(6), unit="h"))
    before = _rows_before(stamps, stamps.iloc[3])
    # Row t counts when bar t + h is before 03:00.
    assert [_rows(before, h) for h in range(6)] == [[0, 1, 2], [0, 1], [0], [], [], []]


def test_rows_before_on_unsorted_times_follows_the_rows_not_the_clock():
    hours = [3, 0, 5, 1, 4, 2]
    stamps = pd.Series(pd.Timestamp("2024-01-01", tz="UTC") + pd.to_timedelta(hours, unit="h"))
    before = _rows_before(stamps, pd.Timestamp("2024-01-01 03:00", tz="UTC"))
    assert _rows(before, 0) == [1, 3, 5]  # hours 0, 1, 2; row 0 (03:00 itself) is not before
    assert _rows(before, 1) == [0, 2, 4]  # the next rows hold hours 0, 1, 2; row 5 has none
    assert _rows(before, 2) == [1, 3]  # rows 3 and 5 hold hours 1 and 2


# Per column: mean, scale. (x - mean) / scale must fit in float32; computed in float64.
FINITE_MEAN = [0.0, 3e38, -1e38]
FINITE_SCALE = [1e10, 1.0, 10.0]


def _finite_table() -> tuple[pd.DataFrame, dict]:
    first = [1e30, NAN, 0.0]  # 1e20 | NaN | 0
    second = [3e38, 3e38, -1e38]  # 0 | 0 | -4e38: too large for float32
    third = np.array([3e38, 0.0, 0.0], dtype=np.float32)  # 4e37 | 1e37 | 1e37
    table = pd.DataFrame(
        {
            "log_return": first,
            "log_volume_change": second,
            "hour_sin": third,
            "target_1": first,
            "target_2": second,
            "target_3": third,
        }
    )
    scaler = {
        "feature_names": ["log_return", "log_volume_change", "hour_sin"],
        "feature_mean": FINITE_MEAN,
        "feature_scale": FINITE_SCALE,
        "horizon": 3,
        "target_mean": FINITE_MEAN,
        "target_scale": FINITE_SCALE,
    }
    return table, scaler


def test_finite_rows_by_hand_at_the_float32_limit():
    table, scaler = _finite_table()
    with np.errstate(over="ignore"):
        features_ok, targets_ok = finite_rows(table, scaler)
        matrix, targets = scaled_arrays(table, scaler)
    # Row 0 scales to finite values; row 1 lacks one; row 2 overflows float32.
    assert features_ok.tolist() == [True, False, False]
    assert targets_ok.tolist() == [True, False, False]
    np.testing.assert_array_equal(features_ok, np.isfinite(matrix).all(axis=1))
    np.testing.assert_array_equal(targets_ok, np.isfinite(targets).all(axis=1))


@pytest.mark.parametrize("key", ["feature_mean", "target_scale"])
def test_finite_rows_refuses_a_scaler_whose_lists_disagree_in_length(key):
    table, scaler = _finite_table()
    with np.errstate(over="ignore"), pytest.raises(ValueError, match="zip"):
        finite_rows(table, scaler | {key: scaler[key][:2]})
