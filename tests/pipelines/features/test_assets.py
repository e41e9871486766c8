"""One split for every asset, and no window across an asset, a gap or a split.

Runs the real ingestion and features nodes on both shipped assets (BTCUSDT and ETHUSDT,
a year of hours each) with the project's own parameters.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from kedro.config import OmegaConfigLoader

from lstm_forecast.pipelines.features.nodes import (
    build_features,
    fit_feature_scaler,
    make_windows,
    split_chronologically,
)
from lstm_forecast.pipelines.features.params import FeaturesParams
from lstm_forecast.pipelines.ingestion.nodes import clean_assets
from lstm_forecast.timeseries.features import FEATURE_NAMES
from tests.conftest import CANDLES_DIR, PROJECT_ROOT


@pytest.fixture(scope="module")
def shipped_assets() -> dict:
    config = OmegaConfigLoader(str(PROJECT_ROOT / "conf"), base_env="base", default_run_env="local")
    parameters = config["parameters"]
    files = {path.stem: path.read_text for path in CANDLES_DIR.glob("*.csv")}
    candles, _ = clean_assets(files, "", parameters["ingestion"])
    features = FeaturesParams.model_validate(parameters["features"])
    table = build_features(candles, features)
    split = split_chronologically(table, features)
    scaler = fit_feature_scaler(table, split, features)
    made = make_windows(table, scaler, split, features)
    windows = dict(zip(("train", "val", "test"), made, strict=True))
    return {
        "table": table,
        "split": split,
        "scaler": scaler,
        "windows": windows,
        "params": features,
    }


def test_no_window_crosses_an_asset_a_gap_or_a_split(shipped_assets):
    table, split = shipped_assets["table"], shipped_assets["split"]
    horizon = shipped_assets["params"].horizon
    val_start, test_start = pd.Timestamp(split["val_start"]), pd.Timestamp(split["test_start"])
    asset = table["asset"].to_numpy()
    segment = table["segment"].to_numpy()
    stamps = table["timestamp"]
    for name, windows in shipped_assets["windows"].items():
        assert set(windows["asset"]) == {"BTCUSDT", "ETHUSDT"}, name  # both assets, each split
        for row in windows.itertuples():
            rows = np.arange(row.start_row - 1, row.end_row + horizon + 1)  # +1 bar for a return
            assert (asset[rows] == row.asset).all() and len(set(segment[rows])) == 1
            first_target, last_target = stamps.iloc[row.end_row + 1], stamps.iloc[rows[-1]]
            if name == "train":  # no bar of any asset's validation or test period
                assert last_target < val_start
            elif name == "val":
                assert first_target >= val_start
                assert last_target < test_start
            else:
                assert first_target >= test_start


def test_every_asset_is_split_at_the_same_dates(shipped_assets):
    split, windows = shipped_assets["split"], shipped_assets["windows"]
    for name in ("train", "val", "test"):
        by_asset = windows[name].groupby("asset")["target_time"]
        if name != "train":
            starts = by_asset.min()
            boundary = split["val_start" if name == "val" else "test_start"]
            assert (starts == pd.Timestamp(boundary)).all(), starts
    # The boundaries are dates on the time axis of all assets, not one asset's row counts.
    assert split["train_start"] == "2021-03-06T17:00:00+00:00"


def test_the_scaler_is_fit_on_the_pooled_training_rows_of_every_asset(shipped_assets):
    table, scaler = shipped_assets["table"], shipped_assets["scaler"]
    training = table[table["timestamp"] < pd.Timestamp(shipped_assets["split"]["val_start"])]
    rows = training[list(FEATURE_NAMES)].dropna()
    assert scaler["fitted_on_rows"] == len(rows)
    assert set(training.loc[rows.index, "asset"]) == {"BTCUSDT", "ETHUSDT"}
    np.testing.assert_allclose(scaler["feature_mean"], rows.mean().to_numpy(), rtol=1e-9)
