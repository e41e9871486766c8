"""`kedro run --pipelines=inference` on the smoke project's ONNX model, torch made unimportable."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.conftest import BLOCK_TORCH, RAW_CSV, copy_project, kedro_env, run_kedro

pytestmark = pytest.mark.e2e

FORECASTS = Path("data/07_model_output/inference_forecasts.parquet")


@pytest.fixture
def inference_project(smoke_project: Path, tmp_path: Path) -> Path:
    """A fresh project copy holding only the smoke run's forecasters, nothing they came from."""
    project = copy_project(tmp_path / "project")
    for name in ("forecaster.onnx", "ridge.forecaster.onnx"):
        shutil.copy2(smoke_project / "data/06_models" / name, project / "data/06_models")
    return project


@pytest.fixture
def torchless_env(tmp_path: Path) -> dict[str, str]:
    blocker = tmp_path / "torchless"
    blocker.mkdir()
    (blocker / "sitecustomize.py").write_text(BLOCK_TORCH)
    env = kedro_env()
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(blocker), env.get("PYTHONPATH")]))
    return env


def _kedro(project: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(Path(sys.executable).parent / "kedro"), "run", "--env=smoke", *args],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_inference_runs_where_torch_cannot_be_imported(inference_project, torchless_env):
    refused = subprocess.run(
        [sys.executable, "-c", "import torch"],
        env=torchless_env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert refused.returncode != 0
    assert "blocked by the test" in refused.stderr

    result = _kedro(inference_project, torchless_env, "--pipelines=inference")
    assert result.returncode == 0, result.stderr[-6000:]
    forecasts = pd.read_parquet(inference_project / FORECASTS)
    # Both shipped assets, one forecaster: an asset column says which each row forecasts.
    assert forecasts["asset"].unique().tolist() == ["BTCUSDT", "ETHUSDT"]
    for asset, rows in forecasts.groupby("asset"):
        csv = RAW_CSV.with_name(f"{asset}.csv")
        last_bar = pd.read_csv(csv, usecols=["timestamp"])["timestamp"].iloc[-1]
        # Default tail_rows=500 per asset: windows of 12 + 1 bars give 500 - 12 origins, 6
        # steps each; the last origin is the file's last bar.
        assert len(rows) == (500 - 12) * 6
        assert rows["origin_time"].iloc[-1] == pd.Timestamp(last_bar, tz="UTC")
        last = pd.Timestamp(last_bar, tz="UTC") + pd.Timedelta("6h")
        assert rows["forecast_time"].iloc[-1] == last
    assert np.isfinite(forecasts[["q0.05", "q0.5", "q0.95"]].to_numpy()).all()
    table = pd.read_csv(inference_project / "data/07_model_output/inference_forecasts.csv")
    assert list(table.columns) == list(forecasts.columns)
    assert len(table) == len(forecasts)


def test_a_tracked_run_in_the_default_environment_needs_no_torch(inference_project, torchless_env):
    # Tracking is on in conf/base: kedro-mlflow's hook starts an MLflow run, and building
    # the catalog must not import torch for lstm.trained_model (a checkpoint dataset).
    result = subprocess.run(
        [str(Path(sys.executable).parent / "kedro"), "run", "--pipelines=inference"],
        cwd=inference_project,
        env=torchless_env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-6000:]
    assert "blocked by the test" not in result.stdout + result.stderr
    assert len(pd.read_parquet(inference_project / FORECASTS)) == 2 * (500 - 12) * 6  # 2 assets
    with sqlite3.connect(inference_project / "mlruns/mlflow.db") as store:
        runs = store.execute("SELECT name, status FROM runs").fetchall()
    assert runs == [("inference", "FINISHED")]


def test_batch_scoring_matches_the_validation_stage_forecasts(smoke_project, inference_project):
    run_kedro(
        inference_project,
        "run",
        "--env=smoke",
        "--pipelines=inference",
        "--params=inference.tail_rows=null,inference.batch_size=100",
    )
    forecasts = pd.read_parquet(inference_project / FORECASTS)
    validated = pd.read_parquet(
        smoke_project / "data/07_model_output/lstm_test_predictions.parquet"
    )
    matched = validated.merge(forecasts, on=["asset", "origin_time", "h"], suffixes=("_val", ""))
    assert len(matched) == len(validated) > 100
    np.testing.assert_array_equal(matched["last_close"], matched["last_close_val"])
    for column in ("q0.05", "q0.5", "q0.95"):
        np.testing.assert_allclose(matched[column], matched[f"{column}_val"], rtol=1e-6)


def test_a_csv_shorter_than_one_window_fails_the_run_and_says_why(inference_project):
    short = inference_project / "data/01_raw/short.csv"
    lines = RAW_CSV.read_text().splitlines()
    short.write_text("\n".join(lines[:11]) + "\n")  # header + 10 bars
    result = run_kedro(
        inference_project,
        "run",
        "--env=smoke",
        "--pipelines=inference",
        "--params=inference_csv=data/01_raw/short.csv",
        check=False,
    )
    assert result.returncode != 0
    output = " ".join((result.stdout + result.stderr).split())
    assert "CandleDataError" in output
    assert "short.csv" in output
    assert "at least 13 consecutive bars" in output


def test_an_unvalidated_forecaster_is_refused(inference_project, smoke_project):
    staged = smoke_project / "data/06_models/staging/forecaster.onnx"
    shutil.copy2(staged, inference_project / "data/06_models/forecaster.onnx")
    result = run_kedro(
        inference_project, "run", "--env=smoke", "--pipelines=inference", check=False
    )
    assert result.returncode != 0
    assert "does not record a passed validation" in " ".join(
        (result.stdout + result.stderr).split()
    )


def test_each_variant_serves_prices_within_its_tolerance_of_fp32(smoke_project, tmp_path):
    project = shutil.copytree(smoke_project, tmp_path / "project")
    prices = {}
    for variant in ("fp32", "opt", "int8"):
        run_kedro(
            project,
            "run",
            "--env=smoke",
            "--pipelines=inference",
            f"--params=inference.variant={variant}",
        )
        prices[variant] = pd.read_parquet(project / FORECASTS)[["q0.05", "q0.5", "q0.95"]]
    # Within each variant's tolerance in conf/base/parameters_variants.yml (USD).
    np.testing.assert_allclose(prices["opt"].to_numpy(), prices["fp32"].to_numpy(), atol=0.01)
    difference = np.abs(prices["int8"].to_numpy() - prices["fp32"].to_numpy())
    assert 0 < difference.max() <= 100.0  # variants.tolerance.int8.max_abs_price_diff
