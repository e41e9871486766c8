"""``fit_feature_scaler``: zero-shot assets kept out of the fit, the feature set it records.

Two assets of 200 gap-free hourly bars on the same dates: rows 0-199 are asset A, rows
200-399 asset B. Holding A out must give B's training means, worked out from the table.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from lstm_forecast.errors import CandleDataError
from lstm_forecast.pipelines.features.nodes import (
    build_features,
    fit_feature_scaler,
    split_chronologically,
)
from lstm_forecast.pipelines.features.params import FeaturesParams
from lstm_forecast.timeseries.feature_sets import FEATURE_SETS
from tests.synthetic import make_candles

BARS = 200


def _candles(assets: bool = True, bars: int = BARS) -> pd.DataFrame:
    if not assets:
        return make_candles(bars)
    first = make_candles(BARS).assign(asset="A")
    second = make_candles(BARS, seed=1).assign(asset="B")
    second["segment"] += first["segment"].max() + 1  # a segment never spans two assets
    return pd.concat([first, second], ignore_index=True)


def _params(zero_shot: tuple[str, ...] = (), feature_set: str = "basic") -> FeaturesParams:
    return FeaturesParams(
        window_length=12,
        horizon=4,
        feature_set=feature_set,
        split={"train_fraction": 0.6, "val_fraction": 0.2, "zero_shot_assets": zero_shot},
    )


def _fit(params: FeaturesParams, assets: bool = True, bars: int = BARS):
    table = build_features(_candles(assets, bars), params)
    boundaries = split_chronologically(table, params)
    return table, boundaries, fit_feature_scaler(table, boundaries, params)


def test_a_zero_shot_asset_is_left_out_of_the_fit():
    table, boundaries, scaler = _fit(_params(("A",)))
    training = table[(table.index >= BARS) & (table["timestamp"] < boundaries["val_start"])]
    assert set(training["asset"]) == {"B"} and len(training) > 50
    # Mean of B's training log returns (NaN on its first bar), not of both assets'.
    expected = float(np.nanmean(training["log_return"].to_numpy()))
    mean = dict(zip(scaler["feature_names"], scaler["feature_mean"], strict=True))
    assert mean["log_return"] == pytest.approx(expected, rel=1e-9)
    _, _, both = _fit(_params())
    both_mean = dict(zip(both["feature_names"], both["feature_mean"], strict=True))
    assert both_mean["log_return"] != pytest.approx(expected, rel=1e-6)  # the test can tell


def test_an_unknown_zero_shot_asset_is_refused_naming_the_assets():
    with pytest.raises(CandleDataError) as error:
        _fit(_params(("C", "A")))
    message = str(error.value)
    assert message.startswith(
        "features.split.zero_shot_assets names ['C'], not among the run's assets ['A', 'B']."
    )
    assert message.endswith("Fix: name assets listed in ingestion.assets.")


def test_a_zero_shot_asset_in_a_run_without_assets_is_refused():
    with pytest.raises(CandleDataError, match=r"names \['A'\], not among the run's assets \[\]"):
        _fit(_params(("A",)), assets=False)


def test_the_scaler_fits_and_records_the_chosen_feature_set():
    # Its longest variance span needs more history than 200 bars.
    _, _, scaler = _fit(_params(feature_set="volatility"), assets=False, bars=1500)
    assert scaler["feature_set"] == "volatility"
    assert list(scaler["feature_names"]) == list(FEATURE_SETS["volatility"])
    assert (
        len(scaler["feature_mean"]) == len(FEATURE_SETS["volatility"]) > len(FEATURE_SETS["basic"])
    )
