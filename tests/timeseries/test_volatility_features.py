"""The volatility set's features against values worked out by hand or by plain loops."""

from __future__ import annotations

import math
import statistics

import numpy as np
import pandas as pd
import pytest

from lstm_forecast.timeseries.features import (
    FEATURE_FORMULAS,
    FEATURE_NAMES,
    FEATURE_SETS,
    LOOKBACK,
    compute_features,
    context_length,
    feature_set,
    lookback,
)
from lstm_forecast.timeseries.volatility_features import VARIANCE_FLOOR
from tests.synthetic import make_candles

NAN = math.nan
LN2 = math.log(2.0)


def _bars(ohlc: list[tuple[float, float, float, float]], volume: list[float]) -> pd.DataFrame:
    open_, high, low, close = (
        np.array(column, dtype=np.float64) for column in zip(*ohlc, strict=True)
    )
    return pd.DataFrame(
        {
            "timestamp": pd.Timestamp("2024-01-01", tz="UTC")
            + pd.to_timedelta(range(len(ohlc)), unit="h"),
            "open": open_,
            "high": high,
            "low": low,
            "close": close,
            "volume": np.asarray(volume, dtype=np.float64),
            "segment": np.zeros(len(ohlc), dtype=np.int64),
        }
    )


def test_range_variances_by_hand_with_a_floor_where_high_equals_low():
    bars = _bars([(100, 110, 100, 105), (105, 105, 105, 105), (100, 120, 90, 95)], [1, 1, 1])
    features = compute_features(bars, ["log_range_var", "log_gk_var"])
    parkinson = [math.log(1.1) ** 2 / (4 * LN2), 0.0, math.log(120 / 90) ** 2 / (4 * LN2)]
    garman_klass = [
        0.5 * math.log(1.1) ** 2 - (2 * LN2 - 1) * math.log(1.05) ** 2,
        0.0,
        0.5 * math.log(120 / 90) ** 2 - (2 * LN2 - 1) * math.log(0.95) ** 2,
    ]
    # A bar with high == low has no range: the log reads the floor, not -inf.
    floor = math.log(1e-8)
    np.testing.assert_allclose(
        features["log_range_var"], [math.log(parkinson[0]), floor, math.log(parkinson[2])]
    )
    np.testing.assert_allclose(
        features["log_gk_var"], [math.log(garman_klass[0]), floor, math.log(garman_klass[2])]
    )
    assert VARIANCE_FLOOR == 1e-8


def _loop_mean_log(values: list[float], segment: list[int], span: int, need: int) -> list[float]:
    """ln(max(mean of the last ``span`` values, floor)); NaN until ``need`` bars before t lie
    in t's segment: the definition, one row at a time."""
    out = []
    for t in range(len(values)):
        first = t
        while first > 0 and segment[first - 1] == segment[t]:
            first -= 1
        if t - first < need:
            out.append(NAN)
            continue
        out.append(math.log(max(statistics.fmean(values[t - span + 1 : t + 1]), 1e-8)))
    return out


@pytest.mark.parametrize("span", [6, 24, 168])
def test_trailing_realised_variances_by_loop_across_a_gap(span):
    candles = make_candles(240 if span == 168 else 80, gaps={30: 3}, seed=11)
    segment = candles["segment"].tolist()
    h, lo, c = (candles[k].tolist() for k in ("high", "low", "close"))
    parkinson = [math.log(h[t] / lo[t]) ** 2 / (4 * LN2) for t in range(len(c))]
    # Squared returns within a segment; the first bar of a segment has none (NaN).
    returns = [NAN] + [
        math.log(c[t] / c[t - 1]) ** 2 if segment[t] == segment[t - 1] else NAN
        for t in range(1, len(c))
    ]
    names = [f"log_range_rv_{span}", f"log_rv_{span}"]
    features = compute_features(candles, names)
    by_range = _loop_mean_log(parkinson, segment, span, span - 1)
    by_returns = _loop_mean_log(returns, segment, span, span)
    np.testing.assert_allclose(features[names[0]], by_range, rtol=1e-12)
    np.testing.assert_allclose(features[names[1]], by_returns, rtol=1e-12)
    # Segment 1 starts at row 30: its values begin span - 1 (range) or span (returns) bars in.
    assert np.flatnonzero(np.isfinite(features[names[0]].to_numpy()[30:]))[0] == span - 1
    assert np.flatnonzero(np.isfinite(features[names[1]].to_numpy()[30:]))[0] == span


def test_weekday_by_hand_in_utc_before_and_after_the_epoch():
    times = ["2024-01-01 00:00", "2024-01-06 23:00", "2024-01-07 12:00", "1969-12-31 22:00"]
    frame = _bars([(1, 1, 1, 1)] * 4, [1] * 4).assign(timestamp=pd.to_datetime(times, utc=True))
    features = compute_features(frame, ["dow_sin", "dow_cos"])
    days = [0, 5, 6, 2]  # Monday, Saturday, Sunday; 1969-12-31 was a Wednesday
    np.testing.assert_allclose(features["dow_sin"], [math.sin(2 * math.pi * d / 7) for d in days])
    np.testing.assert_allclose(features["dow_cos"], [math.cos(2 * math.pi * d / 7) for d in days])
    # A time in another zone counts in UTC: Monday 00:30 in Berlin is Sunday 23:30 UTC.
    berlin = frame.assign(
        timestamp=pd.to_datetime(["2024-01-08 00:30"] * 4).tz_localize("Europe/Berlin")
    )
    assert compute_features(berlin, ["dow_sin"])["dow_sin"].iloc[0] == pytest.approx(
        math.sin(2 * math.pi * 6 / 7)
    )


def test_relative_volume_by_hand_with_zero_volumes_and_a_gap():
    volume = [0.0] * 24 + [48.0, 0.0, 5.0] + [3.0] * 24
    frame = _bars([(1, 1, 1, 1)] * len(volume), volume)
    frame["segment"] = [0] * 26 + [1] * 25
    values = compute_features(frame, ["log_relative_volume"])["log_relative_volume"].to_numpy()
    assert np.isnan(values[:23]).all()  # fewer than 23 bars before t in its segment
    assert values[23] == 0.0  # all 24 volumes zero: no signal, not NaN
    assert values[24] == pytest.approx(math.log(48 / 2))  # mean of 23 zeros and 48 is 2
    assert values[25] == -10.0  # a zero volume beside traded ones: ln 0 clipped
    # Segment 1 starts at row 26 (5.0, then 3.0 x 24): NaN until its 24th bar.
    assert np.isnan(values[26:49]).all()
    assert values[49] == pytest.approx(math.log(3.0 / ((5.0 + 3.0 * 23) / 24)))
    assert values[50] == pytest.approx(0.0)


def test_the_basic_set_is_the_six_features_of_every_earlier_run_bit_for_bit():
    assert (
        FEATURE_SETS["basic"]
        == FEATURE_NAMES
        == (
            "log_return",
            "log_high_low",
            "log_close_open",
            "log_volume_change",
            "hour_sin",
            "hour_cos",
        )
    )
    candles = make_candles(60, gaps={20: 2}, seed=4)
    features = compute_features(candles)
    close, high, low, open_, volume = (
        candles[k].to_numpy() for k in ("close", "high", "low", "open", "volume")
    )
    first = np.r_[True, np.diff(candles["segment"].to_numpy()) != 0]
    log_return = np.r_[NAN, np.log(close)[1:] - np.log(close)[:-1]]
    log_return[first] = NAN
    change = np.r_[NAN, np.clip(np.log(volume[1:] / volume[:-1]), -10, 10)]
    change[first] = NAN
    angle = 2 * np.pi * candles["timestamp"].dt.hour.to_numpy(dtype=np.float64) / 24
    expected = {
        "log_return": log_return,
        "log_high_low": np.log(high / low),
        "log_close_open": np.log(close / open_),
        "log_volume_change": change,
        "hour_sin": np.sin(angle),
        "hour_cos": np.cos(angle),
    }
    assert list(features.columns) == list(FEATURE_NAMES)
    for name, values in expected.items():
        np.testing.assert_array_equal(features[name].to_numpy(), values, err_msg=name)


def test_every_feature_of_every_set_has_a_formula_and_the_context_covers_its_lookback():
    for name, names in FEATURE_SETS.items():
        assert set(names) <= set(FEATURE_FORMULAS), name
        assert len(set(names)) == len(names), name
        assert feature_set(name) == names
    assert lookback(FEATURE_NAMES) == 1
    assert context_length(48, FEATURE_NAMES) == 48  # basic: window + 1 bars, as before
    assert lookback(FEATURE_SETS["volatility"]) == LOOKBACK["log_range_rv_168"] == 167
    assert context_length(48, FEATURE_SETS["volatility"]) == 48 + 166
    assert context_length(48, ["log_rv_168"]) == 48 + 167
    with pytest.raises(ValueError, match="Unknown feature set 'rsi'"):
        feature_set("rsi")
    with pytest.raises(ValueError, match="Unknown features"):
        compute_features(make_candles(5), ["rsi_14"])


@pytest.mark.parametrize("name", sorted(FEATURE_FORMULAS))
def test_no_feature_mixes_two_segments(name):
    """A feature on the bars after a gap equals the same feature computed on that segment
    alone: nothing from the run before the gap reaches it."""
    candles = make_candles(420, gaps={200: 5}, seed=2)
    together = compute_features(candles, [name])[name].to_numpy()[200:]
    alone = compute_features(candles.iloc[200:].reset_index(drop=True), [name])[name].to_numpy()
    np.testing.assert_array_equal(together, alone)
    assert np.isnan(alone[: LOOKBACK.get(name, 0)]).all()
    assert np.isfinite(alone[LOOKBACK.get(name, 0) :]).all()
