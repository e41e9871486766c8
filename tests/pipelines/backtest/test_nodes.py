"""Backtest: fold planning by timestamp, and the fold-per-namespace pipeline through `kedro run`."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest

from lstm_forecast.errors import CandleDataError
from lstm_forecast.pipelines.backtest.nodes import _fold_data, plan_folds
from lstm_forecast.pipelines.backtest.params import BacktestParams
from lstm_forecast.pipelines.backtest.pipeline import FOLDS, create_pipeline
from lstm_forecast.timeseries.features import FEATURE_NAMES
from tests.synthetic import make_candles

from ...conftest import run_kedro


def _features(rows: int) -> pd.DataFrame:
    return pd.DataFrame(
        {"timestamp": pd.date_range("2024-01-01", periods=rows, freq="h", tz="UTC")}
    )


def test_folds_tile_the_end_of_the_data_with_expanding_training_windows():
    table = _features(1_000)
    plan = plan_folds(table, BacktestParams(test_bars=100, val_bars=50), folds=3)["folds"]
    stamp = table["timestamp"]
    assert [fold["test_start"] for fold in plan] == [
        "2024-01-30T04:00:00+00:00",
        "2024-02-03T08:00:00+00:00",
        "2024-02-07T12:00:00+00:00",
    ]
    assert [fold["val_start"] for fold in plan] == [
        stamp[650].isoformat(),
        stamp[750].isoformat(),
        stamp[850].isoformat(),
    ]
    assert [fold["test_end"] for fold in plan] == [
        "2024-02-03T08:00:00+00:00",
        "2024-02-07T12:00:00+00:00",
        None,
    ]
    assert {fold["train_start"] for fold in plan} == {"2024-01-01T00:00:00+00:00"}


def test_each_fold_windows_stay_inside_its_own_blocks_by_row():
    # 1000 gap-free bars, 3 folds of 100 test bars, 50 validation bars, windows of 8, h=3:
    # fold k's test block is rows 700+100k .. 799+100k, its validation block the 50 before.
    candles = make_candles(1_000)
    params = BacktestParams(test_bars=100, val_bars=50, window_length=8, horizon=3)
    plan = plan_folds(candles, params, folds=3)["folds"]
    for fold, test_row in ((0, 700), (1, 800), (2, 900)):
        _, scaler, data, test_ends = _fold_data(candles, plan[fold], params)
        # Every target bar t+1..t+3 inside the block: ends test_row-1 .. test_row+96.
        assert test_ends.tolist() == list(range(test_row - 1, test_row + 97))
        assert data.val_ends.tolist() == list(range(test_row - 51, test_row - 3))
        # Row 0 has no return, so the first full window ends at row 8; the last training
        # target is the bar just before the validation block.
        assert data.train_ends.tolist() == list(range(8, test_row - 53))
        assert scaler["horizon"] == 3
        # The fold's rows before validation, less row 0 (no return yet).
        assert scaler["fitted_on_rows"] == test_row - 51
        assert data.matrix.shape == (1_000, 6) and data.targets.shape == (1_000, 3)
        assert (data.window_length, data.seed) == (8, params.training.seed)
        assert data.quantiles == tuple(params.training.quantiles)
        assert data.feature_names == FEATURE_NAMES
    assert [fold["fold"] for fold in plan] == [0, 1, 2]
    # The last fold runs to the end of the data: its last window's target is the last bar.
    assert test_ends.max() + 3 == len(candles) - 1


def test_folds_that_do_not_fit_are_refused():
    with pytest.raises(CandleDataError, match="does not fit"):
        plan_folds(_features(300), BacktestParams(test_bars=100, val_bars=50), folds=3)


def test_each_fold_is_its_own_namespace():
    names = {node.name for node in create_pipeline().nodes}
    assert {f"backtest.fold_{k}.run_fold" for k in range(FOLDS)} <= names
    assert "gather_backtest_folds" in names


@pytest.mark.e2e
def test_backtest_scores_each_fold_on_its_own_test_block_only(smoke_project: Path, tmp_path):
    project = tmp_path / "project"
    shutil.copytree(smoke_project, project, symlinks=True)
    result = run_kedro(project, "run", "--env=smoke", "--pipelines=backtest", timeout=300)
    report = json.loads((project / "data/08_reporting/backtest_report.json").read_text())
    assert len(report["folds"]) == FOLDS
    for fold, plan in zip(report["folds"], report["plan"], strict=True):
        assert fold["test_windows"] > 0
        assert pd.Timestamp(fold["first_target"]) >= pd.Timestamp(plan["test_start"])
        if plan["test_end"] is not None:  # never scored on the next fold's bars
            assert pd.Timestamp(fold["last_target"]) < pd.Timestamp(plan["test_end"])
        assert set(fold["by_horizon"]["1"]["crps_skill"]) == {"random_walk", "ewma", "garch", "har"}
    mean = sum(f["by_horizon"]["1"]["crps_skill"]["garch"] for f in report["folds"]) / FOLDS
    assert report["mean"]["1"]["crps_skill"]["garch"] == pytest.approx(mean)
    assert f"Backtest over {FOLDS} folds" in result.stdout + result.stderr


def test_the_smallest_data_that_fits_keeps_two_validation_blocks_of_training():
    # 3 x 100 test bars + 50 validation bars + 2 x 50 training bars = 450 bars.
    params = BacktestParams(test_bars=100, val_bars=50)
    plan = plan_folds(_features(450), params, folds=3)
    assert (plan["test_bars"], plan["val_bars"]) == (100, 50)
    assert plan["folds"][0]["val_start"] == _features(450)["timestamp"][100].isoformat()
    with pytest.raises(CandleDataError, match="does not fit in 449 bars"):
        plan_folds(_features(449), params, folds=3)
