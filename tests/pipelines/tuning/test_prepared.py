"""The tuning stage's feature sets: another set built from candles exactly as the features
stage builds it, and one set of scored windows for every trial."""

from __future__ import annotations

import numpy as np
import pytest
from pydantic import ValidationError

from lstm_forecast.errors import LineageError
from lstm_forecast.pipelines.features.nodes import (
    build_features,
    fit_feature_scaler,
    make_windows,
    split_chronologically,
)
from lstm_forecast.pipelines.features.params import FeaturesParams
from lstm_forecast.pipelines.tuning.params import SearchSpace
from lstm_forecast.pipelines.tuning.prepared import prepare
from tests.synthetic import make_candles

BASIC = FeaturesParams(window_length=8, horizon=3, split={"train_fraction": 0.6})
VOLATILITY = BASIC.model_copy(update={"feature_set": "volatility"})
SPACE = SearchSpace(window_length=(6, 8), feature_set=("basic", "volatility"))


def _stage(candles, params):
    table = build_features(candles, params)
    split = split_chronologically(table, params)
    scaler = fit_feature_scaler(table, split, params)
    return table, split, scaler, make_windows(table, scaler, split, params)


def test_another_set_is_the_table_and_scaler_the_features_stage_would_make():
    candles = make_candles(700, gaps={200: 3}, seed=6)
    table, split, scaler, _ = _stage(candles, BASIC)
    prepared = prepare(candles, table, scaler, split, SPACE)
    assert prepared.sets["basic"].table is table  # the stage's own set is reused
    other_table, _, other_scaler, other_windows = _stage(candles, VOLATILITY)
    built = prepared.sets["volatility"]
    for key in ("feature_names", "feature_mean", "feature_scale", "target_mean", "feature_set"):
        assert built.scaler[key] == other_scaler[key], key
    names = other_scaler["feature_names"]
    np.testing.assert_array_equal(built.table[names].to_numpy(), other_table[names].to_numpy())
    windows = prepared.windows("volatility", 8)
    for split_name, expected in zip(("train", "val", "test"), other_windows, strict=True):
        np.testing.assert_array_equal(windows[split_name]["end_row"], expected["end_row"])
    # Every trial is scored on the windows both sets allow at the longest length: the
    # volatility set's, which need 167 bars before them.
    np.testing.assert_array_equal(prepared.score_ends, other_windows[1]["end_row"].to_numpy())
    basic_val = prepared.windows("basic", 8)["val"]["end_row"].to_numpy()
    assert len(basic_val) >= len(prepared.score_ends) > 0


def test_candles_that_did_not_make_the_table_are_refused():
    candles = make_candles(700, seed=6)
    table, split, scaler, _ = _stage(candles, BASIC)
    with pytest.raises(LineageError, match="not the candles the feature table was built from"):
        prepare(candles.iloc[1:], table, scaler, split, SPACE)


def test_an_unknown_feature_set_in_the_space_is_refused():
    with pytest.raises(ValidationError, match="unknown: \\['rsi'\\]"):
        SearchSpace(feature_set=("basic", "rsi"))
