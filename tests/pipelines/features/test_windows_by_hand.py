"""``make_windows`` on two tiny assets: each window's asset, and zero-shot assets left out.

Two assets of 200 gap-free hourly bars on the same dates: rows 0-199 are asset A, rows
200-399 asset B. So a window's asset is A exactly when its end row is below 200, and both
assets have the same windows, B's 200 rows after A's.
"""

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
from lstm_forecast.pipelines.features.params import FeaturesParams
from tests.synthetic import make_candles

BARS = 200
SPLITS = ("train", "val", "test")


def _candles() -> pd.DataFrame:
    first = make_candles(BARS).assign(asset="A")
    second = make_candles(BARS, seed=1).assign(asset="B")
    second["segment"] += first["segment"].max() + 1  # a segment never spans two assets
    return pd.concat([first, second], ignore_index=True)


def _windows(zero_shot: tuple[str, ...]) -> dict[str, pd.DataFrame]:
    params = FeaturesParams(
        window_length=12,
        horizon=4,
        split={"train_fraction": 0.6, "val_fraction": 0.2, "zero_shot_assets": zero_shot},
    )
    table = build_features(_candles(), params)
    boundaries = split_chronologically(table, params)
    scaler = fit_feature_scaler(table, boundaries, params)
    return dict(zip(SPLITS, make_windows(table, scaler, boundaries, params), strict=True))


@pytest.fixture(scope="module")
def every_asset() -> dict[str, pd.DataFrame]:
    return _windows(())


@pytest.fixture(scope="module")
def a_held_out() -> dict[str, pd.DataFrame]:
    return _windows(("A",))


def _end_rows(frame: pd.DataFrame, asset: str) -> list[int]:
    return frame.loc[frame["asset"] == asset, "end_row"].tolist()


@pytest.mark.parametrize("split", SPLITS)
def test_each_window_names_the_asset_of_its_end_row(every_asset, split):
    frame = every_asset[split]
    expected = np.where(frame["end_row"].to_numpy() < BARS, "A", "B")
    assert frame["asset"].tolist() == expected.tolist()
    # Same dates, no gaps: B has A's windows, 200 rows later.
    assert [row + BARS for row in _end_rows(frame, "A")] == _end_rows(frame, "B")
    assert _end_rows(frame, "A")  # not vacuous


@pytest.mark.parametrize("split", ["train", "val"])
def test_a_zero_shot_asset_has_no_train_or_val_window(every_asset, a_held_out, split):
    frame = a_held_out[split]
    assert set(frame["asset"]) == {"B"}
    assert frame["end_row"].tolist() == _end_rows(every_asset[split], "B")
    # Renumbered from 0 (A's windows came first), with no old index left as a column.
    assert frame.index.equals(pd.RangeIndex(len(frame)))
    assert frame.columns.tolist() == ["start_row", "end_row", "origin_time", "target_time", "asset"]


def test_a_zero_shot_asset_keeps_its_test_windows(every_asset, a_held_out):
    pd.testing.assert_frame_equal(a_held_out["test"], every_asset["test"])
    assert set(a_held_out["test"]["asset"]) == {"A", "B"}
