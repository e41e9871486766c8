"""The re-implementation mistakes measured in issue 15, each made impossible or caught.

A consumer of model.onnx had to rewrite the feature code; these mistakes raised no error
and moved forecasts by up to $83.8 (quote volume), $54.7 (newest-first windows), $20.4 (hour
of day in US Eastern time) and $0.04 (log instead of log1p of volume; since issue 26 the
volume feature is a ratio, so its unit cannot move the forecast). Each test feeds the
published forecaster.onnx (or reads its sidecar) the way a consumer would, and asserts what
stops the mistake; where the mistake would still move the forecast, it shows that too, so
the guard is not vacuous.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from lstm_forecast.onnx.contract import CANDLES, OPEN_TIME
from lstm_forecast.timeseries.features import compute_features, scale_features
from lstm_forecast.timeseries.reference import epoch_seconds, python_path_prices
from lstm_forecast.timeseries.targets import forecast_to_price
from tests.conftest import RAW_CSV

from .conftest import Published, last_window, raw_table, relative_difference, window_inputs

pytestmark = pytest.mark.e2e

HOUR = 3600
# A change the validation tolerance would never hide: well above the sidecar's 1e-6.
VISIBLE = 1e-5


def test_the_graph_takes_raw_candles_so_no_consumer_computes_a_feature(published: Published):
    inputs = {i.name: (i.type, i.shape[1:]) for i in published.forecaster.get_inputs()}
    assert inputs == {
        CANDLES: ("tensor(double)", [published.rows, 5]),
        OPEN_TIME: ("tensor(int64)", [published.rows]),
    }
    formulas = published.sidecar["contract"]["feature_formulas"]
    assert set(formulas) == set(published.contract.feature_names)


# ------------------------------------------------------------------ quote instead of base volume
def test_the_sidecar_pins_base_volume_and_its_example_matches_the_csv(published: Published):
    volume_column = published.sidecar["inputs"][0]["columns"][4]
    assert "base" in volume_column and "not quote" in volume_column
    formula = published.sidecar["contract"]["feature_formulas"]["log_volume_change"]
    assert "base_volume_t / base_volume_{t-1}" in formula
    # The reference example holds real bars: a consumer can hold its own data source against
    # them. Its volumes are the CSV's `volume` (base asset), thousands of times below quote_av.
    table = raw_table().set_index("timestamp")
    example = published.sidecar["reference_example"]
    times = pd.to_datetime(example[OPEN_TIME], unit="s", utc=True)
    candles = np.asarray(example[CANDLES])
    np.testing.assert_array_equal(
        candles, table.loc[times, ["open", "high", "low", "close", "volume"]].to_numpy()
    )
    assert (table.loc[times, "quote_av"].to_numpy() > 1000 * candles[:, 4]).all()


def test_quote_volume_would_move_the_forecast(published: Published):
    # Why the sidecar must say "base": the graph cannot tell the two volumes apart.
    rows = last_window(published)
    right, _ = published.run(window_inputs(rows))
    wrong, _ = published.run(window_inputs(rows.assign(volume=rows["quote_av"])))
    assert relative_difference(wrong, right) > VISIBLE


# -------------------------------------------------------------------------- newest-first windows
def test_a_newest_first_window_is_flagged(published: Published):
    inputs = window_inputs(last_window(published))
    _, ok = published.run(inputs)
    assert ok.tolist() == [True]
    reversed_ = {name: np.ascontiguousarray(value[:, ::-1]) for name, value in inputs.items()}
    _, ok = published.run(reversed_)
    assert ok.tolist() == [False]


def test_a_window_with_a_gap_or_a_duplicate_is_flagged(published: Published):
    table = raw_table()
    rows = published.rows
    with_gap = table.drop(table.index[-rows // 2]).tail(rows)
    duplicated = pd.concat([table.iloc[-rows + 1 : -1], table.iloc[-2:]])  # bar repeated
    for case in (with_gap, duplicated):
        assert len(case) == rows
        _, ok = published.run(window_inputs(case.reset_index(drop=True)))
        assert ok.tolist() == [False]


# ----------------------------------------------------------------- hour of day in the wrong zone
def test_the_hour_comes_from_utc_epoch_seconds_inside_the_graph(published: Published):
    assert "UTC" in published.sidecar["inputs"][1]["unit"]
    assert "hour_utc" in published.sidecar["contract"]["feature_formulas"]["hour_sin"]
    inputs = window_inputs(last_window(published))
    right, _ = published.run(inputs)

    def shifted(seconds: int) -> np.ndarray:
        prices, ok = published.run({**inputs, OPEN_TIME: inputs[OPEN_TIME] + seconds})
        assert ok.tolist() == [True]
        return prices

    # Only the time of day counts: a whole day later gives the same bits...
    np.testing.assert_array_equal(shifted(24 * HOUR), right)
    # ...while UTC text read as US Eastern (5 h off in winter) changes the forecast.
    assert relative_difference(shifted(5 * HOUR), right) > VISIBLE


def test_the_reference_example_exposes_timestamps_read_in_the_wrong_zone(published: Published):
    # No consumer computes an hour, so the zone can only go wrong when turning the CSV's text
    # into epoch seconds. The example's bars are in the CSV: read as UTC, their times match.
    example = published.sidecar["reference_example"]
    volumes = np.asarray(example[CANDLES])[:, 4]
    text = pd.read_csv(RAW_CSV, index_col=0).set_index("volume").loc[volumes, "timestamp"]
    naive = pd.to_datetime(text)
    assert epoch_seconds(naive.dt.tz_localize("UTC")).tolist() == example[OPEN_TIME]
    eastern = naive.dt.tz_localize("America/New_York", ambiguous="NaT", nonexistent="NaT")
    known = eastern.notna().to_numpy()
    assert known.any()
    assert (epoch_seconds(eastern[known]) != np.asarray(example[OPEN_TIME])[known]).all()


# ------------------------------------------- volume in another unit, prices in another currency
# Issue 26: a forecaster that learnt ln(1 + volume) biased forecasts on an exchange trading
# 30 times less. The volume feature is a ratio of consecutive volumes, so the unit of volume
# (an exchange's size, a coin's price) cannot move the forecast.
def test_a_windows_volumes_times_any_constant_leave_the_forecast_unchanged(published: Published):
    rows = last_window(published)
    right, ok = published.run(window_inputs(rows))
    assert ok.tolist() == [True]
    # A power of two scales every volume exactly: the forecast is the same bit for bit.
    for factor in (2.0**-10, 2.0**20):
        exact, _ = published.run(window_inputs(rows.assign(volume=rows["volume"] * factor)))
        np.testing.assert_array_equal(exact, right)
    # Any other constant rounds each volume once: the same forecast to float rounding.
    for factor in (1 / 30, 1000.0, 1e7):
        scaled, _ = published.run(window_inputs(rows.assign(volume=rows["volume"] * factor)))
        np.testing.assert_allclose(scaled, right, rtol=1e-9, atol=0)


def test_prices_times_1000_and_volume_over_1000_scale_the_forecast_by_1000(published: Published):
    rows = last_window(published)
    right, _ = published.run(window_inputs(rows))
    prices = ["open", "high", "low", "close"]
    other = rows.assign(**{c: rows[c] * 1000.0 for c in prices}, volume=rows["volume"] / 1000.0)
    scaled, ok = published.run(window_inputs(other))
    assert ok.tolist() == [True]
    np.testing.assert_allclose(scaled, right * 1000.0, rtol=1e-9, atol=0)
    # The features themselves are the same (the scaled window the network sees).
    features = [compute_features(table.assign(segment=0)) for table in (rows, other)]
    pd.testing.assert_frame_equal(features[1], features[0], rtol=1e-12)


def test_the_python_path_computes_the_same_volume_feature_as_the_graph(published: Published):
    rows = last_window(published)
    quiet = rows.assign(volume=np.linspace(0.5, 2.0, len(rows)))
    graph, ok = published.run(window_inputs(quiet))
    assert ok.tolist() == [True]
    right = python_path_prices(published.predict, published.contract, quiet)
    assert relative_difference(graph, right) <= 1e-6
    # The old feature, ln(1 + volume), would give another forecast: the check is not vacuous.
    old = _python_path(published, quiet, np.log1p)
    assert relative_difference(old, graph) > VISIBLE


def _python_path(published: Published, rows: pd.DataFrame, volume_feature) -> np.ndarray:
    contract = published.contract
    features = compute_features(rows.assign(segment=0))
    features["log_volume_change"] = volume_feature(rows["volume"].to_numpy(dtype=np.float64))
    matrix = scale_features(
        features[list(contract.feature_names)].to_numpy()[1:],
        contract.scaler.feature_mean,
        contract.scaler.feature_scale,
    )
    return forecast_to_price(
        published.predict(np.ascontiguousarray(matrix[None])),
        rows["close"].to_numpy(dtype=np.float64)[-1:],
        target_mean=list(contract.scaler.target_mean),
        target_scale=list(contract.scaler.target_scale),
        kind=contract.target_kind,
    )


def test_a_zero_volume_bar_gives_a_finite_forecast(published: Published):
    # ln(0 / v) is -inf: the graph clips it, as the Python path does, so a bar without
    # trades still gives a forecast.
    rows = last_window(published)
    rows.loc[len(rows) - 1, "volume"] = 0.0
    graph, ok = published.run(window_inputs(rows))
    assert ok.tolist() == [True]
    assert np.isfinite(graph).all()
    expected = python_path_prices(published.predict, published.contract, rows)
    assert relative_difference(graph, expected) <= 1e-6


# ------------------------------------------------------------------- beyond the training range
def test_a_window_beyond_the_training_range_is_flagged_as_extrapolating(published: Published):
    feature_range = published.sidecar["contract"]["feature_range"]
    assert feature_range["margin"] > 0 and len(feature_range["min"]) == len(
        published.contract.feature_names
    )
    rows = last_window(published)
    outputs = ["close_quantiles", "window_ok", "extrapolating"]
    _, ok, flag = published.forecaster.run(outputs, window_inputs(rows))
    assert ok.tolist() == [True] and flag.tolist() == [False]
    # A 60% one-bar crash: a log return far below anything training saw, still a valid window.
    crashed = rows.copy()
    last = len(crashed) - 1
    crashed.loc[last, ["open", "high", "low", "close"]] = crashed.loc[last - 1, "close"] * 0.4
    _, ok, flag = published.forecaster.run(outputs, window_inputs(crashed))
    assert ok.tolist() == [True] and flag.tolist() == [True]
