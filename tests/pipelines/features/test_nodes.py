"""Features: no leakage through the scaler, windows that respect gaps and splits, no copies."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from pydantic import ValidationError

from lstm_forecast.errors import CandleDataError, LineageError
from lstm_forecast.lineage import fingerprint_json
from lstm_forecast.pipelines.features.nodes import (
    build_features,
    fit_feature_scaler,
    make_windows,
    split_chronologically,
)
from lstm_forecast.pipelines.features.params import FeaturesParams
from lstm_forecast.timeseries.features import FEATURE_NAMES
from lstm_forecast.timeseries.preparation import scaled_arrays
from lstm_forecast.timeseries.targets import forecast_to_price, target_columns
from tests.synthetic import make_candles

PARAMS = FeaturesParams(
    window_length=12,
    horizon=4,
    split={"train_fraction": 0.6, "val_fraction": 0.2},
)
GAPS = {150: 3, 420: 1, 650: 5}


def _run(candles: pd.DataFrame, params: FeaturesParams = PARAMS):
    table = build_features(candles, params)
    boundaries = split_chronologically(table, params)
    scaler = fit_feature_scaler(table, boundaries, params)
    train, val, test = make_windows(table, scaler, boundaries, params)
    return table, boundaries, scaler, {"train": train, "val": val, "test": test}


@pytest.fixture(scope="module")
def outputs():
    return _run(make_candles(800, gaps=GAPS))


def test_features_and_targets_are_missing_exactly_where_bars_are(outputs):
    table = outputs[0]
    starts = np.flatnonzero(np.diff(table["segment"].to_numpy(), prepend=-1) != 0)
    assert np.flatnonzero(table["log_return"].isna()).tolist() == starts.tolist()
    # The h-step target needs bar t+h in the same segment: the last h bars of each lack it.
    ends = np.append(starts[1:], len(table))
    for h, column in enumerate(target_columns(4), start=1):
        missing = sorted(int(row) for end in ends for row in range(end - h, end))
        assert np.flatnonzero(table[column].isna()).tolist() == missing


def test_split_by_fractions_is_chronological(outputs):
    table, boundaries = outputs[0], outputs[1]
    assert boundaries["method"] == "fractions"
    assert pd.Timestamp(boundaries["val_start"]) == table["timestamp"].iloc[int(800 * 0.6)]
    assert pd.Timestamp(boundaries["val_start"]) < pd.Timestamp(boundaries["test_start"])


def test_split_by_dates_overrides_fractions():
    candles = make_candles(400)
    params = PARAMS.model_copy(
        update={
            "split": PARAMS.split.model_copy(
                update={"val_start": "2024-01-10", "test_start": "2024-01-14"}
            )
        }
    )
    boundaries = split_chronologically(build_features(candles, params), params)
    assert boundaries["method"] == "dates"
    assert pd.Timestamp(boundaries["test_start"]) == pd.Timestamp("2024-01-14", tz="UTC")


def test_no_window_crosses_a_gap_or_puts_a_target_in_another_split(outputs):
    table, boundaries, _, windows = outputs
    segment = table["segment"].to_numpy()
    times = table["timestamp"]
    val_start, test_start = (pd.Timestamp(boundaries[k]) for k in ("val_start", "test_start"))
    limits = {"train": (times.iloc[0], val_start), "val": (val_start, test_start)}
    limits["test"] = (test_start, times.iloc[-1] + pd.Timedelta("1h"))
    for split, frame in windows.items():
        starts, ends = frame["start_row"].to_numpy(), frame["end_row"].to_numpy()
        last = ends + PARAMS.horizon
        assert (segment[starts] == segment[last]).all(), split  # inputs and targets: one segment
        hours = (times.iloc[last].to_numpy() - times.iloc[starts].to_numpy()) / np.timedelta64(
            1, "h"
        )
        assert (hours == PARAMS.window_length + PARAMS.horizon - 1).all(), split  # no gap
        low, high = limits[split]
        assert (times.iloc[ends + 1] >= low).all(), split
        assert (times.iloc[last] < high).all(), split


def test_every_gap_free_window_is_used(outputs):
    windows = outputs[3]
    total = sum(len(frame) for frame in windows.values())
    # Each segment loses its first bar (no return), L-1 starts and its last `horizon` bars;
    # windows whose targets straddle a split boundary (horizon - 1 per boundary) go too.
    segment_lengths = np.diff([0, 150, 420, 650, 800])
    expected = int(np.sum(segment_lengths - 1 - (PARAMS.window_length - 1) - PARAMS.horizon))
    assert total == expected - 2 * (PARAMS.horizon - 1)


def test_scaler_never_sees_validation_or_test_values():
    candles = make_candles(800, gaps=GAPS)
    table = build_features(candles, PARAMS)
    boundaries = split_chronologically(table, PARAMS)
    clean = fit_feature_scaler(table, boundaries, PARAMS)
    poisoned = table.copy()
    val_start = pd.Timestamp(boundaries["val_start"])
    poisoned.loc[poisoned["timestamp"] >= val_start, list(FEATURE_NAMES)] = 1e6
    # A target is poisoned by the time of its target bar, not by its row's own time.
    for h, column in enumerate(target_columns(PARAMS.horizon), start=1):
        poisoned.loc[(poisoned["timestamp"].shift(-h) >= val_start).to_numpy(), column] = 1e6
    poisoned_boundaries = split_chronologically(poisoned, PARAMS)
    assert poisoned_boundaries["val_start"] == boundaries["val_start"]
    fitted = fit_feature_scaler(poisoned, poisoned_boundaries, PARAMS)
    for key in ("feature_mean", "feature_scale", "target_mean", "target_scale"):
        assert fitted[key] == clean[key], key


def test_windows_store_indices_only(outputs):
    for frame in outputs[3].values():
        assert frame.columns.tolist() == ["start_row", "end_row", "origin_time", "target_time"]
        assert frame["end_row"].to_numpy().nbytes == 8 * len(frame)


def test_a_scaler_from_another_table_is_refused():
    _, boundaries, scaler, _ = _run(make_candles(400))
    other = build_features(make_candles(400, seed=3), PARAMS)
    with pytest.raises(LineageError, match="feature_scaler was made from another features"):
        make_windows(other, scaler, boundaries, PARAMS)


def test_too_little_data_for_a_training_window_is_refused():
    with pytest.raises(CandleDataError, match="No train window fits"):
        _run(make_candles(40), PARAMS.model_copy(update={"window_length": 30}))


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"window_length": -3}, "window_length"),
        ({"split": {"train_fraction": 0.9, "val_fraction": 0.2}}, "leaves no test split"),
        ({"split": {"val_start": "2024-01-10"}}, "set both"),
        ({"horizn": 3}, "did you mean 'horizon'"),
    ],
)
def test_bad_parameters_are_refused_naming_the_key(values, message):
    with pytest.raises(ValidationError, match=message):
        FeaturesParams.model_validate(values)


@pytest.mark.parametrize("kind", ["log_return", "simple_return", "close"])
def test_every_target_kind_goes_through_the_stage_and_back_to_the_future_close(kind):
    candles = make_candles(300, gaps={150: 3}, seed=4)
    params = PARAMS.model_copy(update={"target": kind})
    table, _, scaler, windows = _run(candles, params)
    assert scaler["target_kind"] == kind
    close = candles["close"].to_numpy()
    ends = windows["test"]["end_row"].to_numpy()
    steps = np.arange(1, params.horizon + 1)
    future = close[ends[:, None] + steps[None, :]]
    last = close[ends][:, None]
    # The stage's unscaled targets, in the kind's own units, from the candles by hand.
    by_hand = {"log_return": np.log(future / last), "simple_return": future / last - 1.0}
    np.testing.assert_allclose(
        table[target_columns(params.horizon)].to_numpy()[ends],
        by_hand.get(kind, future),
        rtol=1e-12,
    )
    # A perfect forecast (the scaled targets themselves) turns back into those closes.
    _, scaled = scaled_arrays(table, scaler)
    prices = forecast_to_price(
        scaled[ends][:, :, None],
        close[ends],
        target_mean=scaler["target_mean"],
        target_scale=scaler["target_scale"],
        kind=kind,
    )
    np.testing.assert_allclose(prices[:, :, 0], future, rtol=1e-5)


def _dated(val_start: str, test_start: str) -> FeaturesParams:
    split = PARAMS.split.model_copy(update={"val_start": val_start, "test_start": test_start})
    return PARAMS.model_copy(update={"split": split})


def test_split_boundaries_by_hand_and_their_edges():
    # 100 bars from 2024-01-01 00:00 UTC: the last bar is 2024-01-05 03:00.
    table = build_features(make_candles(100), PARAMS)
    by_fraction = split_chronologically(table, PARAMS)
    assert {key: value for key, value in by_fraction.items() if key != "lineage"} == {
        "method": "fractions",
        "train_start": "2024-01-01T00:00:00+00:00",
        "val_start": "2024-01-03T12:00:00+00:00",  # row int(100 * 0.6) = 60
        "test_start": "2024-01-04T08:00:00+00:00",  # row int(100 * 0.8) = 80
        "end": "2024-01-05T03:00:00+00:00",
    }
    # test_start may be the last bar; val_start may not be the first, nor equal test_start.
    last = split_chronologically(table, _dated("2024-01-02", "2024-01-05T03:00"))
    assert last["test_start"] == "2024-01-05T03:00:00+00:00"
    assert split_chronologically(table, _dated("2024-01-01T01:00", "2024-01-02"))["method"] == (
        "dates"
    )
    bounds = r"\(2024-01-01 00:00:00\+00:00 \.\. 2024-01-05 03:00:00\+00:00\) in that"
    for val_start, test_start in (
        ("2024-01-01T00:00", "2024-01-02"),
        ("2024-01-02", "2024-01-05T04:00"),
    ):
        with pytest.raises(CandleDataError, match=bounds):
            split_chronologically(table, _dated(val_start, test_start))


def test_the_scaler_records_its_split_and_the_split_fingerprint(outputs):
    _, boundaries, scaler, _ = outputs
    assert scaler["fitted_before"] == boundaries["val_start"]
    assert scaler["lineage"]["split"] == fingerprint_json(boundaries)
    moved = boundaries | {"test_start": boundaries["end"]}
    assert scaler["lineage"]["split"] != fingerprint_json(moved)


def test_fractions_that_put_val_and_test_on_one_bar_are_refused():
    # 10 bars: int(10 * 0.6) = 6 and int(10 * 0.65) = 6, so the validation split is empty.
    params = PARAMS.model_copy(
        update={"split": PARAMS.split.model_copy(update={"val_fraction": 0.05})}
    )
    with pytest.raises(CandleDataError, match="in that order"):
        split_chronologically(build_features(make_candles(10), params), params)


def test_a_split_made_from_another_table_is_refused_naming_the_fix():
    table, boundaries, _, _ = _run(make_candles(400))
    other = build_features(make_candles(400, seed=3), PARAMS)
    with pytest.raises(LineageError) as caught:
        fit_feature_scaler(other, boundaries, PARAMS)
    assert "split_boundaries was made from another features than the one on disk" in str(
        caught.value
    )
    assert "rerun `kedro run --pipelines=features` and the stages after it." in str(caught.value)
    scaler = fit_feature_scaler(table, boundaries, PARAMS)
    with pytest.raises(LineageError, match="rerun `kedro run --pipelines=features`"):
        make_windows(other, scaler, boundaries, PARAMS)


def test_feature_table_layout_index_and_fresh_arrays():
    # Candles after a filter keep their labels: rows 5.. of a longer frame.
    candles = make_candles(60).iloc[5:]
    table = build_features(candles, PARAMS)
    assert table.columns.tolist() == [
        "timestamp", "close", "segment", *FEATURE_NAMES, *target_columns(PARAMS.horizon)
    ]  # fmt: skip
    assert table.index.equals(candles.index)
    assert table["timestamp"].equals(candles["timestamp"])
    # The table owns its values: none is shared with the candles, which it must not change.
    for name in ("close", "segment"):
        assert not np.shares_memory(table[name].to_numpy(), candles[name].to_numpy()), name


def test_the_scaler_records_its_split_when_fit_directly():
    table = build_features(make_candles(200), PARAMS)
    boundaries = split_chronologically(table, PARAMS)
    scaler = fit_feature_scaler(table, boundaries, PARAMS)
    assert scaler["fitted_before"] == boundaries["val_start"]
    assert set(scaler["lineage"]) == {"features", "split"}
    assert scaler["lineage"]["split"] == fingerprint_json(boundaries)
