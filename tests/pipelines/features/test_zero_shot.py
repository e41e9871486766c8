"""``features.split.zero_shot_assets``: an asset the model never trains on, scored on its test.

Runs the real ingestion and features nodes on both shipped assets (a year of hours each).
"""

from __future__ import annotations

import pandas as pd
import pytest
from kedro.config import OmegaConfigLoader

from lstm_forecast.errors import CandleDataError
from lstm_forecast.pipelines.features.nodes import (
    build_features,
    fit_feature_scaler,
    make_windows,
    split_chronologically,
)
from lstm_forecast.pipelines.features.params import FeaturesParams
from lstm_forecast.pipelines.ingestion.nodes import clean_assets
from lstm_forecast.timeseries.preparation import fit_scaler
from tests.conftest import CANDLES_DIR, PROJECT_ROOT


@pytest.fixture(scope="module")
def table_and_params() -> tuple:
    config = OmegaConfigLoader(str(PROJECT_ROOT / "conf"), base_env="base", default_run_env="local")
    parameters = config["parameters"]
    files = {path.stem: path.read_text for path in CANDLES_DIR.glob("*.csv")}
    candles, _ = clean_assets(
        files, "", parameters["ingestion"] | {"assets": ["BTCUSDT", "ETHUSDT"]}
    )
    return build_features(
        candles, FeaturesParams.model_validate(parameters["features"])
    ), parameters


def _features(parameters: dict, held_out: list[str]) -> FeaturesParams:
    block = parameters["features"]
    return FeaturesParams.model_validate(
        block | {"split": block["split"] | {"zero_shot_assets": held_out}}
    )


def test_a_zero_shot_asset_is_in_neither_the_scaler_nor_training_only_in_the_test(
    table_and_params,
):
    table, parameters = table_and_params
    features = _features(parameters, ["ETHUSDT"])
    split = split_chronologically(table, features)
    scaler = fit_feature_scaler(table, split, features)
    train, val, test = make_windows(table, scaler, split, features)
    assert set(train["asset"]) == set(val["asset"]) == {"BTCUSDT"}
    assert set(test["asset"]) == {"BTCUSDT", "ETHUSDT"}
    # The scaler is the one fit on BTC's rows alone (ETH's prices and volumes never count).
    btc = table[table["asset"] == "BTCUSDT"].reset_index(drop=True)
    alone = fit_scaler(btc, pd.Timestamp(split["val_start"]), features.target, features.horizon)
    for key in ("feature_mean", "feature_scale", "target_mean", "target_scale"):
        assert scaler[key] == pytest.approx(alone[key], rel=1e-12), key
    # Nothing held out: ETH trains, and the scaler moves.
    everyone = _features(parameters, [])
    pooled = fit_feature_scaler(table, split, everyone)
    assert pooled["feature_mean"] != pytest.approx(scaler["feature_mean"], rel=1e-6)
    assert "ETHUSDT" in set(make_windows(table, pooled, split, everyone)[0]["asset"])


def test_an_unknown_zero_shot_asset_is_refused_by_name(table_and_params):
    table, parameters = table_and_params
    features = _features(parameters, ["SOLUSDT"])
    with pytest.raises(CandleDataError, match=r"zero_shot_assets names \['SOLUSDT'\]"):
        fit_feature_scaler(table, split_chronologically(table, features), features)
