"""The real `kedro` CLI on a copy of the project with the small `smoke` environment."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pandas as pd
import pytest

from lstm_forecast.onnx_contract import INPUT_NAME, OUTPUT_NAME, read_metadata
from lstm_forecast.timeseries.windows import gather_windows
from tests.conftest import PROJECT_ROOT, RAW_CSV, copy_project, run_kedro

pytestmark = pytest.mark.e2e


def _clone_outputs(smoke_project: Path, destination: Path) -> Path:
    shutil.copytree(smoke_project, destination)
    return destination


def test_full_run_writes_a_validated_onnx_model(smoke_project):
    for model in ("lstm", "ridge"):
        name = "validation_report.json" if model == "lstm" else "ridge_validation_report.json"
        report = json.loads((smoke_project / "data/08_reporting" / name).read_text())
        assert report["passed"] and report["checker"]["passed"], report["failures"]
        assert report["symbolic_dims"]["batch_symbolic"]
        assert report["windows_compared"] > 0 and report["tolerance"] == {
            "rtol": 1e-3,
            "atol": 1e-5,
        }
    assert (smoke_project / "data/06_models/ridge.onnx").is_file()


def test_onnx_file_gives_the_reported_forecasts_at_batch_1_and_256(smoke_project):
    model = onnx.load(smoke_project / "data/06_models/model.onnx")
    metadata = read_metadata(model)
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    scaled = pd.read_parquet(smoke_project / "data/05_model_input/scaled_features.parquet")
    test = pd.read_parquet(smoke_project / "data/05_model_input/test_windows.parquet")
    windows = gather_windows(
        scaled[metadata["feature_names"]].to_numpy(np.float32),
        test["end_row"].to_numpy(),
        metadata["window_length"],
    )
    one_by_one = np.concatenate(
        [session.run([OUTPUT_NAME], {INPUT_NAME: w[None]})[0] for w in windows]
    )
    in_256s = np.concatenate(
        [
            session.run([OUTPUT_NAME], {INPUT_NAME: windows[i : i + 256]})[0]
            for i in range(0, len(windows), 256)
        ]
    )
    np.testing.assert_allclose(one_by_one, in_256s, rtol=1e-5, atol=1e-6)
    # The same numbers, turned into prices, are what the validation stage reported.
    predictions = pd.read_parquet(
        smoke_project / "data/07_model_output/lstm_test_predictions.parquet"
    )
    scaler = metadata["scaler"]
    log_return = in_256s[:, 0].astype(np.float64) * scaler["target_scale"] + scaler["target_mean"]
    np.testing.assert_allclose(
        predictions["forecast_close"], predictions["last_close"] * np.exp(log_return), rtol=1e-6
    )


def test_a_run_leaves_pyproject_and_telemetry_settings_untouched(smoke_project):
    assert (smoke_project / "pyproject.toml").read_bytes() == (
        PROJECT_ROOT / "pyproject.toml"
    ).read_bytes()
    assert (smoke_project / ".telemetry").read_text().strip() == "consent: false"


def test_export_alone_reexports_from_the_saved_checkpoint(smoke_project, tmp_path):
    project = _clone_outputs(smoke_project, tmp_path / "project")
    checkpoint = project / "data/06_models/model.ckpt"
    onnx_file = project / "data/06_models/model.onnx"
    before = (checkpoint.stat().st_mtime_ns, onnx_file.stat().st_mtime_ns)
    result = run_kedro(project, "run", "--env=smoke", "--pipelines=export")
    assert "train_lstm" not in result.stdout + result.stderr
    assert checkpoint.stat().st_mtime_ns == before[0]  # not retrained
    assert onnx_file.stat().st_mtime_ns > before[1]  # re-exported
    onnx.checker.check_model(onnx.load(onnx_file), full_check=True)


def test_node_selectors_run_a_slice_of_the_pipeline(smoke_project, tmp_path):
    project = _clone_outputs(smoke_project, tmp_path / "project")
    ridge = project / "data/06_models/ridge.pkl"
    ridge.unlink()
    result = run_kedro(
        project, "run", "--env=smoke", "--from-nodes=make_windows", "--to-nodes=ridge.train_ridge"
    )
    assert ridge.is_file()
    log = result.stdout + result.stderr
    assert "make_windows" in log and "train_lstm" not in log and "clean_candles" not in log
    run_kedro(project, "run", "--env=smoke", "--tags=features")


def test_bad_csv_stops_the_run_and_writes_no_candles(tmp_path):
    project = copy_project(tmp_path / "project")
    lines = RAW_CSV.read_text().splitlines()
    fields = lines[200].split(",")
    fields[5] = ""  # an empty close in the middle of the file
    lines[200] = ",".join(fields)
    bad = project / "data/01_raw/bad.csv"
    bad.write_text("\n".join(lines) + "\n")
    result = run_kedro(
        project, "run", "--env=smoke", "--params=raw_csv=data/01_raw/bad.csv", check=False
    )
    log = result.stdout + result.stderr
    assert result.returncode != 0
    assert "CandleDataError" in log and "bad.csv" in log and "close" in log
    assert not (project / "data/02_intermediate/candles.parquet").exists()


def test_corrupt_checkpoint_stops_the_export_with_a_clear_error(smoke_project, tmp_path):
    project = _clone_outputs(smoke_project, tmp_path / "project")
    checkpoint = project / "data/06_models/model.ckpt"
    checkpoint.write_bytes(checkpoint.read_bytes()[:1000])
    onnx_before = (project / "data/06_models/model.onnx").read_bytes()
    result = run_kedro(project, "run", "--env=smoke", "--pipelines=export", check=False)
    assert result.returncode != 0
    assert "not a readable Lightning checkpoint" in " ".join(
        (result.stdout + result.stderr).split()
    )
    assert (project / "data/06_models/model.onnx").read_bytes() == onnx_before


def test_truncated_onnx_file_stops_the_validation_with_a_clear_error(smoke_project, tmp_path):
    project = _clone_outputs(smoke_project, tmp_path / "project")
    onnx_file = project / "data/06_models/model.onnx"
    onnx_file.write_bytes(onnx_file.read_bytes()[:2000])
    result = run_kedro(project, "run", "--env=smoke", "--pipelines=validation", check=False)
    assert result.returncode != 0
    assert "not a readable ONNX model" in " ".join((result.stdout + result.stderr).split())
