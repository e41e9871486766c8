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

from lstm_forecast.onnx.contract import INPUT_NAME, OUTPUT_NAME, OnnxContract
from lstm_forecast.timeseries.features import scale_features
from lstm_forecast.timeseries.targets import forecast_to_price
from lstm_forecast.timeseries.windows import gather_windows
from tests.conftest import PROJECT_ROOT, RAW_CSV, copy_project, run_kedro

pytestmark = pytest.mark.e2e


def _clone_outputs(smoke_project: Path, destination: Path) -> Path:
    shutil.copytree(smoke_project, destination)
    return destination


def test_full_run_publishes_validated_quantile_models(smoke_project):
    for model, published in (("lstm", "model.onnx"), ("ridge", "ridge.onnx")):
        report = json.loads(
            (smoke_project / f"data/08_reporting/{model}_validation_report.json").read_text()
        )
        assert report["passed"] and report["checker"]["passed"], report["failures"]
        assert report["symbolic_dims"]["batch_symbolic"] and report["weight_check"]["passed"]
        assert report["tolerance"] == {"rtol": 1e-3, "atol": 1e-5}
        contract = OnnxContract.from_model(onnx.load(smoke_project / "data/06_models" / published))
        assert contract.validation["passed"] and contract.horizon == 6
        assert contract.quantiles == (0.05, 0.5, 0.95)
    metrics = json.loads((smoke_project / "data/08_reporting/forecast_metrics.json").read_text())
    assert set(metrics["baselines"]) == {"random_walk", "ewma", "garch", "har"}
    assert set(metrics["models"]["lstm"]["by_horizon"]) == {str(h) for h in range(1, 7)}
    assert "lstm_crps_skill_vs_garch_h6" in metrics["headline"]


def test_published_file_gives_the_reported_forecasts_at_batch_1_and_256(smoke_project):
    model = onnx.load(smoke_project / "data/06_models/model.onnx")
    contract = OnnxContract.from_model(model)
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    table = pd.read_parquet(smoke_project / "data/04_feature/features.parquet")
    test = pd.read_parquet(smoke_project / "data/05_model_input/test_windows.parquet")
    matrix = scale_features(
        table[list(contract.feature_names)].to_numpy(),
        contract.scaler.feature_mean,
        contract.scaler.feature_scale,
    )
    windows = gather_windows(matrix, test["end_row"].to_numpy(), contract.window_length)
    one_by_one = np.concatenate(
        [session.run([OUTPUT_NAME], {INPUT_NAME: w[None]})[0] for w in windows]
    )
    in_256s = np.concatenate(
        [
            session.run([OUTPUT_NAME], {INPUT_NAME: windows[i : i + 256]})[0]
            for i in range(0, len(windows), 256)
        ]
    )
    assert in_256s.shape == (len(windows), contract.horizon, len(contract.quantiles))
    np.testing.assert_allclose(one_by_one, in_256s, rtol=1e-5, atol=1e-6)
    # The same numbers, turned into prices, are what the validation stage wrote.
    predictions = pd.read_parquet(
        smoke_project / "data/07_model_output/lstm_test_predictions.parquet"
    )
    prices = forecast_to_price(
        in_256s,
        table["close"].to_numpy()[test["end_row"].to_numpy()],
        target_mean=contract.scaler.target_mean,
        target_scale=contract.scaler.target_scale,
        kind=contract.target_kind,
    )
    np.testing.assert_allclose(predictions["q0.95"], prices[:, :, 2].reshape(-1), rtol=1e-6)


def test_a_run_leaves_pyproject_and_telemetry_settings_untouched(smoke_project):
    assert (smoke_project / "pyproject.toml").read_bytes() == (
        PROJECT_ROOT / "pyproject.toml"
    ).read_bytes()
    assert (smoke_project / ".telemetry").read_text().strip() == "consent: false"


def test_export_alone_restages_from_the_saved_checkpoint(smoke_project, tmp_path):
    project = _clone_outputs(smoke_project, tmp_path / "project")
    checkpoint = project / "data/06_models/model.ckpt"
    staged = project / "data/06_models/staging/model.onnx"
    published = project / "data/06_models/model.onnx"
    before = (checkpoint.stat().st_mtime_ns, staged.stat().st_mtime_ns, published.read_bytes())
    result = run_kedro(project, "run", "--env=smoke", "--pipelines=export")
    assert "Running node: train: train_model_lstm(" not in " ".join(
        (result.stdout + result.stderr).split()
    )
    assert checkpoint.stat().st_mtime_ns == before[0]  # not retrained
    assert staged.stat().st_mtime_ns > before[1]  # re-exported, to staging only
    assert published.read_bytes() == before[2]  # publishing is validation's job


def test_node_selectors_run_a_slice_of_the_pipeline(smoke_project, tmp_path):
    project = _clone_outputs(smoke_project, tmp_path / "project")
    ridge = project / "data/06_models/ridge.json"
    ridge.unlink()
    result = run_kedro(
        project, "run", "--env=smoke", "--from-nodes=make_windows", "--to-nodes=ridge.train"
    )
    assert ridge.is_file() and "coef" in json.loads(ridge.read_text())
    log = result.stdout + result.stderr
    assert "make_windows" in log and "clean_candles" not in log
    assert "Running node: train: train_model_lstm(" not in " ".join(log.split())
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


@pytest.mark.parametrize(
    ("override", "named"),
    [
        ("training.lstm.hiden_size=64", "did you mean 'hidden_size'"),
        ("features.window_length=-3", "window_length"),
    ],
)
def test_bad_parameters_are_refused_before_any_node_runs(tmp_path, override, named):
    project = copy_project(tmp_path / "project")
    result = run_kedro(project, "run", "--env=smoke", f"--params={override}", check=False)
    log = " ".join((result.stdout + result.stderr).split())
    assert result.returncode != 0
    assert named in log
    assert "Running node" not in log
    assert not (project / "data/02_intermediate/candles.parquet").exists()


def test_corrupt_checkpoint_stops_the_export_with_a_clear_error(smoke_project, tmp_path):
    project = _clone_outputs(smoke_project, tmp_path / "project")
    checkpoint = project / "data/06_models/model.ckpt"
    checkpoint.write_bytes(checkpoint.read_bytes()[:1000])
    staged_before = (project / "data/06_models/staging/model.onnx").read_bytes()
    result = run_kedro(project, "run", "--env=smoke", "--pipelines=export", check=False)
    assert result.returncode != 0
    assert "checkpoint" in " ".join((result.stdout + result.stderr).split())
    assert (project / "data/06_models/staging/model.onnx").read_bytes() == staged_before


def test_truncated_onnx_file_stops_the_validation_with_a_clear_error(smoke_project, tmp_path):
    project = _clone_outputs(smoke_project, tmp_path / "project")
    staged = project / "data/06_models/staging/model.onnx"
    staged.write_bytes(staged.read_bytes()[:2000])
    published_before = (project / "data/06_models/model.onnx").read_bytes()
    result = run_kedro(project, "run", "--env=smoke", "--pipelines=validation", check=False)
    assert result.returncode != 0
    assert "not a readable ONNX model" in " ".join((result.stdout + result.stderr).split())
    assert (project / "data/06_models/model.onnx").read_bytes() == published_before


def test_a_model_that_fails_validation_is_not_published_nor_served(smoke_project, tmp_path):
    project = _clone_outputs(smoke_project, tmp_path / "project")
    published_before = (project / "data/06_models/model.onnx").read_bytes()
    metrics_before = (project / "data/08_reporting/forecast_metrics.json").read_bytes()
    result = run_kedro(
        project,
        "run",
        "--env=smoke",
        "--from-nodes=lstm.export_onnx",
        "--params=validation.tolerance.rtol=0,validation.tolerance.atol=1e-12",
        check=False,
    )
    log = " ".join((result.stdout + result.stderr).split())
    assert result.returncode != 0 and "was not published" in log
    report = json.loads((project / "data/08_reporting/lstm_validation_report.json").read_text())
    assert not report["passed"] and "parity" in report["failures"][0]
    assert (project / "data/06_models/model.onnx").read_bytes() == published_before
    assert (project / "data/08_reporting/forecast_metrics.json").read_bytes() == metrics_before


def test_mixed_stage_outputs_are_refused_at_export(smoke_project, tmp_path):
    """A run on a short CSV that dies after rewriting the features must not be mixed in."""
    project = _clone_outputs(smoke_project, tmp_path / "project")
    short = project / "data/01_raw/short.csv"
    short.write_text("\n".join(RAW_CSV.read_text().splitlines()[:400]) + "\n")
    run_kedro(
        project,
        "run",
        "--env=smoke",
        "--params=raw_csv=data/01_raw/short.csv",
        "--to-nodes=fit_scaler_on_train",
    )
    result = run_kedro(project, "run", "--env=smoke", "--pipelines=export", check=False)
    log = " ".join((result.stdout + result.stderr).split())
    assert result.returncode != 0
    assert "LineageError" in log and "another scaler" in log
