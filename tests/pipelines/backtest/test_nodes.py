"""Backtest fold planning on synthetic features, and the pipeline through `kedro run`."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest

from lstm_forecast.errors import CandleDataError
from lstm_forecast.pipelines.backtest.nodes import _merge, plan_folds

from ...conftest import run_kedro


def _features(rows: int) -> pd.DataFrame:
    return pd.DataFrame(
        {"timestamp": pd.date_range("2024-01-01", periods=rows, freq="h", tz="UTC")}
    )


def test_folds_tile_the_end_of_the_data_with_expanding_training_windows():
    table = _features(1_000)
    plan = plan_folds(table, {"folds": 3, "test_bars": 100, "val_bars": 50})
    folds = plan["folds"]
    stamp = table["timestamp"]
    assert [fold["test_start"] for fold in folds] == [
        stamp[row].isoformat() for row in (700, 800, 900)
    ]
    assert [fold["val_start"] for fold in folds] == [
        stamp[row].isoformat() for row in (650, 750, 850)
    ]
    assert [fold["test_end"] for fold in folds] == [
        stamp[800].isoformat(),
        stamp[900].isoformat(),
        None,
    ]
    assert {fold["train_start"] for fold in folds} == {stamp[0].isoformat()}


def test_folds_that_do_not_fit_are_refused():
    with pytest.raises(CandleDataError, match="does not fit"):
        plan_folds(_features(300), {"folds": 3, "test_bars": 100, "val_bars": 50})


def test_backtest_training_overrides_merge_key_by_key():
    base = {"seed": 1, "model": {"hidden_size": 32, "num_layers": 1}, "trainer": {"max_epochs": 30}}
    merged = _merge(base, {"model": {"hidden_size": 4}, "trainer": {"max_epochs": 1}})
    assert merged == {
        "seed": 1,
        "model": {"hidden_size": 4, "num_layers": 1},
        "trainer": {"max_epochs": 1},
    }
    assert base["model"]["hidden_size"] == 32


@pytest.mark.e2e
def test_backtest_pipeline_reports_relative_mae_per_fold(smoke_project: Path, tmp_path: Path):
    project = tmp_path / "project"
    shutil.copytree(smoke_project, project, symlinks=True)
    result = run_kedro(project, "run", "--env=smoke", "--pipelines=backtest", timeout=300)
    report = json.loads((project / "data/08_reporting/backtest_report.json").read_text())
    assert len(report["folds"]) == 2
    for fold in report["folds"]:
        assert fold["test_windows"] > 0
        assert fold["relative_mae"] == pytest.approx(fold["mae"] / fold["persistence_mae"])
    mean = sum(fold["relative_mae"] for fold in report["folds"]) / 2
    assert report["mean_relative_mae"] == pytest.approx(mean)
    assert "Backtest over 2 folds" in result.stdout + result.stderr
