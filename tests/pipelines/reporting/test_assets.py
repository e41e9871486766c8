"""Reporting over several assets: baselines per asset, scores per asset and pooled."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from lstm_forecast.pipelines.features.nodes import (
    build_features,
    fit_feature_scaler,
    make_windows,
    split_chronologically,
)
from lstm_forecast.pipelines.reporting.nodes import (
    compute_forecast_metrics,
    forecast_baselines,
    summarise_run,
)
from lstm_forecast.timeseries import forecasts
from tests.synthetic import make_candles

from ..conftest import FEATURES as BY_FRACTIONS
from .test_nodes import LEVELS, REPORTING

# Dates, so that one asset alone is split where the two together are.
FEATURES = BY_FRACTIONS.model_copy(
    update={
        "split": BY_FRACTIONS.split.model_copy(
            update={"val_start": "2024-01-11", "test_start": "2024-01-14"}
        )
    }
)


def _stages(candles: pd.DataFrame) -> dict:
    table = build_features(candles, FEATURES)
    split = split_chronologically(table, FEATURES)
    scaler = fit_feature_scaler(table, split, FEATURES)
    _, _, test = make_windows(table, scaler, split, FEATURES)
    return {"table": table, "split": split, "test": test}


def _two_assets(second_scale: float = 0.1, second_seed: int = 1) -> pd.DataFrame:
    first = make_candles(400, gaps={150: 2}).assign(asset="AAA")
    second = make_candles(400, seed=second_seed).assign(asset="BBB")
    prices = ["open", "high", "low", "close"]
    second[prices] *= second_scale
    second["segment"] += first["segment"].max() + 1
    return pd.concat([first, second], ignore_index=True)


def _median_model(stages: dict) -> pd.DataFrame:
    table, test = stages["table"], stages["test"]
    ends = test["end_row"].to_numpy()
    close = table["close"].to_numpy()
    actual = close[ends[:, None] + np.arange(1, 4)[None, :]]
    prices = close[ends][:, None, None] * np.array([0.99, 1.0, 1.01]) * np.ones((1, 3, 1))
    return forecasts.to_frame(
        table["timestamp"].to_numpy()[ends], close[ends], prices, LEVELS, "1h", actual
    )


@pytest.fixture(scope="module")
def two(feature_outputs) -> dict:
    stages = _stages(_two_assets())
    predictions = {"model": _median_model(stages)}
    baselines = forecast_baselines(
        stages["table"], stages["split"], stages["test"], REPORTING, **predictions
    )
    metrics = compute_forecast_metrics(baselines, REPORTING, **predictions)
    return stages | {"predictions": predictions, "baselines": baselines, "metrics": metrics}


def test_each_assets_baselines_are_fit_on_that_assets_training_split_only(two):
    alone = _stages(make_candles(400, gaps={150: 2}))
    assert alone["split"]["val_start"] == two["split"]["val_start"]  # same dates, same split
    mine = two["baselines"][two["baselines"]["asset"] == "AAA"].drop(columns="asset")
    model = {"model": _median_model(alone)}
    expected = forecast_baselines(alone["table"], alone["split"], alone["test"], REPORTING, **model)
    pd.testing.assert_frame_equal(mine.reset_index(drop=True), expected, rtol=1e-12)
    # Another second asset (other prices, other returns) leaves the first's baselines alone.
    other = _stages(_two_assets(second_scale=7.0, second_seed=9))
    again = forecast_baselines(
        other["table"], other["split"], other["test"], REPORTING, **{"model": _median_model(other)}
    )
    pd.testing.assert_frame_equal(
        again[again["asset"] == "AAA"].reset_index(drop=True),
        two["baselines"][two["baselines"]["asset"] == "AAA"].reset_index(drop=True),
    )
    assert not np.allclose(
        again.loc[again["asset"] == "BBB", "q0.05"].to_numpy(),
        two["baselines"].loc[two["baselines"]["asset"] == "BBB", "q0.05"].to_numpy(),
    )


def test_metrics_are_given_per_asset_and_pooled_with_a_dm_test_each(two):
    metrics = two["metrics"]
    assert metrics["assets"] == ["AAA", "BBB"]
    windows = two["test"]["asset"].value_counts()
    for asset, scores in metrics["by_asset"].items():
        assert scores["test_period"]["windows"] == windows[asset]
        dm = scores["models"]["model"]["by_horizon"]["1"]["diebold_mariano"]["random_walk"]
        assert dm["p_value"] is not None
    assert metrics["test_period"]["windows"] == len(two["test"])
    assert metrics["units"] == "fraction of the last close"
    # Pooled CRPS is in fractions of the price, so BBB (a tenth of AAA's price) counts fully.
    pooled = metrics["models"]["model"]["mean_crps"]
    per_asset = [s["models"]["model"]["mean_crps"] for s in metrics["by_asset"].values()]
    assert pooled < 0.1 and min(per_asset) > 1.0


def test_the_summary_has_one_verdict_line_per_asset_and_model(two):
    summary = summarise_run(two["metrics"], REPORTING, model={"passed": True})
    lines = summary["models"]["model"]["verdict_by_asset"]
    assert list(lines) == ["AAA", "BBB"]
    assert all(line.startswith(f"{asset}: model: h=1 ") for asset, line in lines.items())
    assert sum(line.strip().startswith(("AAA:", "BBB:")) for line in summary["text"]) == 2
