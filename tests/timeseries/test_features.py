"""Features, multi-horizon targets and the way back to prices, against hand-worked values."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from lstm_forecast.timeseries.features import (
    FEATURE_FORMULAS,
    FEATURE_NAMES,
    FEATURE_SETS,
    VOLUME_CHANGE_CLIP,
    _utc_hour,
    compute_features,
    extrapolating,
    feature_arrays,
    scale_features,
    volume_change,
)
from lstm_forecast.timeseries.preparation import fit_scaler, scaled_arrays
from lstm_forecast.timeseries.targets import (
    TARGET_KINDS,
    compute_targets,
    forecast_to_price,
    target_columns,
    targets_to_prices,
)
from lstm_forecast.timeseries.windows import gather_windows
from tests.synthetic import make_candles

from ._tables import feature_table, tiny_candles

NAN = math.nan

# Six bars, a gap of two hours after the fourth (segment 1 starts at row 4).
GAP_CANDLES = tiny_candles(
    closes=[100.0, 110.0, 99.0, 121.0, 120.0, 132.0],
    hours=[0, 1, 2, 3, 6, 7],
    segment=[0, 0, 0, 0, 1, 1],
)
# close_{t+h} for h = 1, 2, 3: NaN when bar t+h is past the gap or past the end.
FUTURE_CLOSE = [
    [110.0, 99.0, 121.0],
    [99.0, 121.0, NAN],  # row 1 + 3 = row 4 is after the gap
    [121.0, NAN, NAN],
    [NAN, NAN, NAN],  # last bar of segment 0
    [132.0, NAN, NAN],  # row 4 + 2 is past the end
    [NAN, NAN, NAN],
]
SIMPLE_RETURN = [
    [0.1, -0.01, 0.21],
    [-0.1, 0.1, NAN],
    [22 / 99, NAN, NAN],
    [NAN, NAN, NAN],
    [0.1, NAN, NAN],
    [NAN, NAN, NAN],
]


def test_close_targets_by_hand_across_a_gap_and_past_the_end():
    targets = compute_targets(GAP_CANDLES, "close", 3)
    np.testing.assert_array_equal(targets, np.array(FUTURE_CLOSE))


def test_simple_return_targets_by_hand():
    targets = compute_targets(GAP_CANDLES, "simple_return", 3)
    np.testing.assert_allclose(targets, np.array(SIMPLE_RETURN), rtol=1e-12)


def test_log_return_targets_by_hand():
    targets = compute_targets(GAP_CANDLES, "log_return", 3)
    expected = [
        [math.log(1.1), math.log(0.99), math.log(1.21)],
        [math.log(0.9), math.log(1.1), NAN],
        [math.log(121 / 99), NAN, NAN],
        [NAN, NAN, NAN],
        [math.log(1.1), NAN, NAN],
        [NAN, NAN, NAN],
    ]
    np.testing.assert_allclose(targets, np.array(expected), rtol=1e-12)


def test_horizon_longer_than_the_data_gives_nan_columns_not_an_error():
    targets = compute_targets(GAP_CANDLES, "close", 8)
    assert targets.shape == (6, 8)
    np.testing.assert_array_equal(targets[:, :3], np.array(FUTURE_CLOSE))
    assert np.isnan(targets[:, 3:]).all()


def test_unknown_target_kind_is_refused_with_the_choices():
    with pytest.raises(ValueError, match="log_return"):
        compute_targets(GAP_CANDLES, "price", 2)
    with pytest.raises(ValueError, match="Unknown target kind"):
        targets_to_prices(np.zeros((1, 1)), np.ones(1), "price")
    assert target_columns(3) == ["target_1", "target_2", "target_3"]


def test_features_by_hand_with_a_gap():
    candles = pd.DataFrame(
        {
            "timestamp": pd.Timestamp("2024-01-01", tz="UTC")
            + pd.to_timedelta([0, 1, 6, 7], unit="h"),
            "open": [100.0, 100.0, 120.0, 124.0],
            "high": [105.0, 112.0, 125.0, 130.0],
            "low": [95.0, 99.0, 118.0, 119.0],
            "close": [100.0, 110.0, 121.0, 125.0],
            "volume": [0.0, math.e - 1.0, 9.0, 99.0],
            "segment": [0, 0, 1, 1],
        }
    )
    features = compute_features(candles)
    assert list(features.columns) == list(FEATURE_NAMES)
    expected = {
        # Row 0 has no previous bar; row 2 is the first bar after the gap.
        "log_return": [NAN, math.log(1.1), NAN, math.log(125 / 121)],
        "log_high_low": [
            math.log(105 / 95),
            math.log(112 / 99),
            math.log(125 / 118),
            math.log(130 / 119),
        ],
        "log_close_open": [0.0, math.log(1.1), math.log(121 / 120), math.log(125 / 124)],
        # ln(v_t / v_{t-1}): e - 1 after 0 is clipped; the bar after the gap has no change.
        "log_volume_change": [NAN, VOLUME_CHANGE_CLIP, NAN, math.log(11)],
        "hour_sin": [0.0, math.sin(math.pi / 12), 1.0, math.sin(7 * math.pi / 12)],
        "hour_cos": [1.0, math.cos(math.pi / 12), 0.0, math.cos(7 * math.pi / 12)],
    }
    for name, values in expected.items():
        np.testing.assert_allclose(features[name], values, rtol=1e-12, atol=1e-15, err_msg=name)


def test_scale_features_by_hand_in_float32():
    scaled = scale_features(np.array([[1.0, 2.0], [3.0, 4.0]]), [2.0, 3.0], [1.0, 2.0])
    assert scaled.dtype == np.float32
    np.testing.assert_array_equal(scaled, np.array([[-1.0, -0.5], [1.0, 0.5]], dtype=np.float32))


def test_targets_to_prices_by_hand_for_every_kind():
    targets = np.array([[[0.1, -0.2]], [[0.5, 0.0]]])  # [n=2, horizon=1, q=2]
    last = np.array([100.0, 200.0])
    np.testing.assert_allclose(
        targets_to_prices(targets, last, "simple_return"), [[[110.0, 80.0]], [[300.0, 200.0]]]
    )
    np.testing.assert_allclose(
        targets_to_prices(np.log(1 + targets), last, "log_return"),
        [[[110.0, 80.0]], [[300.0, 200.0]]],
    )
    np.testing.assert_array_equal(targets_to_prices(targets, last, "close"), targets)


def test_forecast_to_price_unscales_per_horizon_not_per_quantile():
    # forecast[0, h, q]; y = forecast * scale_h + mean_h; price = 100 * (1 + y).
    forecast = np.array([[[1.0, 0.0], [-1.0, 2.0]]])
    prices = forecast_to_price(
        forecast,
        np.array([100.0]),
        target_mean=[0.01, 0.02],
        target_scale=[0.1, 0.2],
        kind="simple_return",
    )
    np.testing.assert_allclose(prices, [[[111.0, 101.0], [82.0, 142.0]]])


@pytest.mark.parametrize("kind", sorted(TARGET_KINDS))
def test_features_to_target_to_scale_and_back_gives_the_future_close(kind):
    candles = make_candles(120, gaps={60: 4}, seed=3)
    horizon = 5
    table = feature_table(candles, kind, horizon)
    scaler = fit_scaler(table, table["timestamp"].iloc[80], kind, horizon)
    _, scaled = scaled_arrays(table, scaler)
    rows = np.flatnonzero(np.isfinite(scaled).all(axis=1))
    # Five bars ahead inside each segment: segment 0 is rows 0..59, segment 1 rows 60..119.
    assert rows.tolist() == list(range(55)) + list(range(60, 115))
    close = candles["close"].to_numpy()
    # Two identical "quantiles" per horizon step: a perfect forecast.
    forecast = np.repeat(scaled[rows][:, :, None], 2, axis=2)
    prices = forecast_to_price(
        forecast,
        close[rows],
        target_mean=scaler["target_mean"],
        target_scale=scaler["target_scale"],
        kind=kind,
    )
    expected = close[rows[:, None] + np.arange(1, horizon + 1)[None, :]]
    np.testing.assert_allclose(prices[:, :, 0], expected, rtol=1e-6)
    np.testing.assert_array_equal(prices[:, :, 0], prices[:, :, 1])


# Every feature of every set, the ones no set uses yet too.
_EVERY_SET = {**FEATURE_SETS, "every_formula": tuple(sorted(FEATURE_FORMULAS))}


@pytest.mark.parametrize("set_name", sorted(_EVERY_SET))
def test_a_window_never_sees_its_own_target_bar(set_name):
    """Shift-by-one leak test: the window ending at bar t must not change with bar t+1,
    for every feature of every set (the 168-bar means included)."""
    names = _EVERY_SET[set_name]
    candles = make_candles(420, seed=5)
    end, length = 300, 10

    def window_and_target(frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        features = compute_features(frame, names).to_numpy()
        mean, scale = np.nanmean(features[:250], axis=0), np.nanstd(features[:250], axis=0)
        scaled = scale_features(features, mean.tolist(), scale.tolist())
        window = gather_windows(scaled, np.array([end]), length)[0]
        return window, compute_targets(frame, "log_return", 3)[end]

    window, target = window_and_target(candles)
    assert np.isfinite(window).all()  # the window's history is long enough for every feature
    future = candles.copy()
    # Bar t+1 jumps 5%, and every later bar gets other prices and volumes.
    rng = np.random.default_rng(9)
    later = future.index > end
    future.loc[later, ["open", "high", "low", "close"]] *= rng.uniform(0.9, 1.1, (later.sum(), 1))
    future.loc[end + 1, ["close", "high"]] *= 1.05
    future.loc[later, "volume"] = rng.uniform(1, 5_000, later.sum())
    moved_window, moved_target = window_and_target(future)
    for column, name in enumerate(names):
        np.testing.assert_array_equal(moved_window[:, column], window[:, column], err_msg=name)
    # The perturbation is real: the target of the same window moved.
    assert np.all(moved_target != target)

    # And the window does end at bar t: moving bar t changes its last row only, and every
    # feature that reads prices or volume sees it.
    present = candles.copy()
    present.loc[end, ["close", "high", "volume"]] *= 1.05
    changed_window, _ = window_and_target(present)
    changed = changed_window != window
    assert np.flatnonzero(changed.any(axis=1)).tolist() == [length - 1]
    calendar = {"hour_sin", "hour_cos", "dow_sin", "dow_cos"}
    for column, name in enumerate(names):
        assert changed[-1, column] == (name not in calendar), name


# 1969-12-31 22:15 lies before the epoch: its hour needs floor division, not truncation.
HOUR_TIMES = [
    "2024-01-01 05:30:00",
    "2024-01-02 23:59:59",
    "1969-12-31 22:15:00",
    "2024-03-01 00:00:00",
]
HOURS = [5.0, 23.0, 22.0, 0.0]


@pytest.mark.parametrize("unit", ["s", "ms", "us", "ns"])
@pytest.mark.parametrize("tz", ["UTC", None])
def test_utc_hour_by_hand_for_every_datetime_unit(unit, tz):
    stamps = pd.Series(pd.to_datetime(HOUR_TIMES)).dt.tz_localize(tz).dt.as_unit(unit)
    hours = _utc_hour(stamps)
    assert hours.dtype == np.float64
    assert hours.tolist() == HOURS


def test_utc_hour_of_another_zone_is_the_hour_in_utc_as_in_the_onnx_graph():
    # 00:00 and 18:45 UTC are 05:30 and 00:15 the next day in Kolkata (UTC+5:30); the
    # feature is hour_utc(open_time), so the zone the times are shown in must not matter.
    utc = pd.Series(pd.to_datetime(["2024-01-01 00:00", "2024-01-01 18:45", None], utc=True))
    for stamps in (utc[:2], utc):  # the epoch path, and the path for a missing time
        hours = _utc_hour(stamps.dt.tz_convert("Asia/Kolkata"))
        assert hours.dtype == np.float64
        np.testing.assert_array_equal(hours, [0.0, 18.0, NAN][: len(stamps)])


def test_utc_hour_of_a_missing_time_is_nan():
    stamps = pd.Series(pd.to_datetime(["2024-01-01 07:00", None, "2024-01-01 09:10"], utc=True))
    np.testing.assert_array_equal(_utc_hour(stamps), [7.0, NAN, 9.0])


def test_utc_hour_of_arrow_backed_times():
    pa = pytest.importorskip("pyarrow")
    stamps = pd.Series(pd.to_datetime(HOUR_TIMES, utc=True)).astype(
        pd.ArrowDtype(pa.timestamp("us", tz="UTC"))
    )
    hours = _utc_hour(stamps)
    assert hours.dtype == np.float64
    assert hours.tolist() == HOURS


def test_float32_candles_give_float64_returns_and_volumes():
    # 100, 110 and 1e6 - 1 are exact in float32; their features must not be rounded to it.
    candles = GAP_CANDLES.iloc[:2].astype({"close": np.float32, "volume": np.float32})
    candles["volume"] = np.float32(999_999.0)
    arrays = feature_arrays(candles)
    candles.loc[1, "volume"] = np.float32(16_777_215.0)  # exact in float32, not after a cast
    arrays = feature_arrays(candles)
    assert arrays["log_return"].dtype == arrays["log_volume_change"].dtype == np.float64
    np.testing.assert_allclose(arrays["log_return"], [NAN, math.log(1.1)], rtol=1e-12)
    np.testing.assert_allclose(
        arrays["log_volume_change"], [NAN, math.log(16_777_215 / 999_999)], rtol=1e-12
    )


def test_volume_change_by_hand_with_zero_volumes_and_a_gap():
    volume = np.array([2.0, 4.0, 0.0, 0.0, 5.0, 1.0, 3.0])
    starts = np.array([True, False, False, False, False, True, False])
    expected = [NAN, math.log(2), -VOLUME_CHANGE_CLIP, 0.0, VOLUME_CHANGE_CLIP, NAN, math.log(3)]
    np.testing.assert_allclose(volume_change(volume, starts), expected, rtol=1e-15)


def test_volume_feature_is_unchanged_by_any_volume_unit():
    rng = np.random.default_rng(3)
    candles = GAP_CANDLES.assign(volume=rng.uniform(1, 1e4, len(GAP_CANDLES)))
    base = feature_arrays(candles)["log_volume_change"]
    for factor in (1e-3, 30.0, 1e7):
        scaled = feature_arrays(candles.assign(volume=candles["volume"] * factor))
        np.testing.assert_allclose(scaled["log_volume_change"], base, rtol=1e-12, atol=1e-13)
    # A power of two scales every volume exactly, so the feature is bit for bit the same.
    exact = feature_arrays(candles.assign(volume=candles["volume"] * 2.0**-20))
    np.testing.assert_array_equal(exact["log_volume_change"], base)


def test_extrapolating_flags_a_window_beyond_the_training_range_plus_the_margin():
    feature_range = {"min": [0.0, -1.0], "max": [2.0, 1.0], "margin": 0.5}
    windows = np.array(
        [
            [[-1.0, 1.9], [3.0, -2.0]],  # both on the edges of [-1, 3] and [-2, 2]: inside
            [[0.0, 0.0], [3.0001, 0.0]],  # the first feature just past its bound
            [[0.0, -2.0001], [1.0, 0.0]],  # the second feature just past its bound
        ]
    )
    assert extrapolating(windows, feature_range).tolist() == [False, True, True]
    assert extrapolating(windows, feature_range | {"margin": 1.0}).tolist() == [False] * 3
