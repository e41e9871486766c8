"""A fold's table, scaler and baselines for two assets, and the refusal's words, by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from lstm_forecast.errors import CandleDataError
from lstm_forecast.pipelines.backtest.nodes import _baselines, _fold_data, plan_folds
from lstm_forecast.pipelines.backtest.params import BacktestParams
from lstm_forecast.timeseries import baselines
from lstm_forecast.timeseries.feature_sets import FEATURE_SETS
from tests.synthetic import make_candles

# 300 bars per asset, 2 folds of 50 test bars after 30 validation bars: fold 1 tests rows
# 250..299 of each asset, validates on rows 220..249.
PARAMS = BacktestParams(
    test_bars=50, val_bars=30, window_length=8, horizon=2, feature_set="volatility", ewma_decay=0.8
)


@pytest.fixture(scope="module")
def two_assets() -> pd.DataFrame:
    first = make_candles(300).assign(asset="AAA")
    second = make_candles(300, seed=4).assign(asset="BBB", segment=1)
    return pd.concat([first, second], ignore_index=True)


def test_a_fold_keeps_the_asset_and_its_chosen_features(two_assets):
    plan = plan_folds(two_assets, PARAMS, folds=2)["folds"][1]
    table, scaler, data, _ = _fold_data(two_assets, plan, PARAMS)
    names = FEATURE_SETS["volatility"]
    assert list(table.columns[:4]) == ["timestamp", "close", "segment", "asset"]
    assert table["asset"].tolist() == ["AAA"] * 300 + ["BBB"] * 300
    assert set(names) <= set(table.columns) and "log_range_var" in names
    assert tuple(scaler["feature_names"]) == names == data.feature_names
    assert data.scaler is scaler


def test_baselines_are_each_assets_own_from_its_own_rows(two_assets):
    plan = plan_folds(two_assets, PARAMS, folds=2)["folds"][1]
    table, _, data, test_ends = _fold_data(two_assets, plan, PARAMS)
    # Origins 249..297 of each asset (targets t+1, t+2 inside rows 250..299).
    local = np.arange(249, 298)
    assert test_ends.tolist() == [*local, *(local + 300)]
    got = _baselines(table, test_ends, plan, data, PARAMS)
    assert sorted(got) == sorted(baselines.BASELINES)
    # The random walk's median is the origin's close, at every step.
    median = data.quantiles.index(0.5)
    close = table["close"].to_numpy()
    for step in range(2):
        np.testing.assert_allclose(got["random_walk"][:, step, median], close[test_ends])
    # Each asset's baselines are those of its rows alone, with the fold's settings.
    for start in (0, 300):
        own = baselines.forecast_all(
            table.iloc[start : start + 300].reset_index(drop=True),
            local,
            pd.Timestamp(plan["val_start"]),
            horizon=2,
            levels=np.asarray(data.quantiles),
            window_length=8,
            decay=0.8,
        )
        mine = slice(0, 49) if start == 0 else slice(49, 98)
        for name in baselines.BASELINES:
            np.testing.assert_array_equal(got[name][mine], own[name])


def test_folds_that_do_not_fit_are_refused_in_these_words():
    features = pd.DataFrame({"timestamp": pd.date_range("2024-01-01", periods=189, freq="h")})
    with pytest.raises(CandleDataError) as refused:
        plan_folds(features, PARAMS, folds=2)
    assert str(refused.value) == (
        "A backtest of 2 folds x 50 test bars with 30 validation bars does not fit in 189 bars "
        "with a training window left; lower backtest.test_bars or backtest.val_bars."
    )


def test_an_asset_that_ends_before_the_test_block_does_not_end_the_others():
    # AAA's 150 bars end before the fold's test rows (250..299 of the shared time axis).
    short = make_candles(150).assign(asset="AAA")
    long = make_candles(300, seed=4).assign(asset="BBB", segment=1)
    both = pd.concat([short, long], ignore_index=True)
    plan = plan_folds(both, PARAMS, folds=2)["folds"][1]
    table, _, data, test_ends = _fold_data(both, plan, PARAMS)
    assert test_ends.tolist() == list(range(150 + 249, 150 + 298))  # BBB's origins only
    got = _baselines(table, test_ends, plan, data, PARAMS)
    median = data.quantiles.index(0.5)
    np.testing.assert_allclose(
        got["random_walk"][:, 0, median], table["close"].to_numpy()[test_ends]
    )
