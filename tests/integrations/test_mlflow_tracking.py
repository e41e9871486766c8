"""Experiment tracking: each tracked `kedro run` is one MLflow run in the project's SQLite store.

The end-to-end tests drive three real smoke runs into one temporary store (two passing runs
with different hidden sizes, then one whose validation fails) and read everything back
through ``mlflow.MlflowClient``, the way a user comparing runs would. Where the machine
allows it (root, or unprivileged user namespaces), the runs happen in a network namespace
with no network at all, so "fully offline" is part of what passes.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pandas as pd
import pytest

from lstm_forecast.integrations import mlflow_tracking as tracking
from lstm_forecast.integrations import run_record
from tests.conftest import RAW_CSV, copy_project, run_kedro

TRACKED = "tracking.enabled=true"
RUNS = {  # label -> extra --params; the smoke env otherwise trains with hidden_size 8
    "small": "training.lstm.hidden_size=4",
    "default": "training.lstm.hidden_size=8",
}
# Zero tolerance: the LSTM's ONNX forecasts differ from torch's in the last float32 bits.
FAILING = "validation.tolerance.atol=0,validation.tolerance.rtol=0"

# This process reads the store too; MLflow's telemetry takes only "true", not DO_NOT_TRACK=1.
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")


# ---------------------------------------------------------------- helpers (no MLflow)
def test_parameter_blocks_are_flattened_and_long_values_left_out():
    params = {
        "training": {"lstm": {"hidden_size": 8, "dropout": 0.0}, "trainer": {}},
        "features": {"window_length": 12, "names": list(range(200))},
        "inference": {"ignored": True},
    }
    flat, skipped = run_record.flatten_params(params, ("training", "features", "absent"), 100)
    assert flat == {
        "training.lstm.hidden_size": "8",
        "training.lstm.dropout": "0.0",
        "training.trainer": "{}",
        "features.window_length": "12",
    }
    assert skipped == ["features.names"]


def test_numeric_leaves_keep_numbers_only():
    report = {
        "lstm_relative_mae": 0.98,
        "coverage": {"q10": 0.11, "q90": 0.9},
        "dm_p_values": [0.2, 0.01],
        "passed": True,
        "note": "text",
        "nan": float("nan"),
        "series": list(range(100)),
    }
    assert run_record.numeric_leaves(report) == {
        "lstm_relative_mae": 0.98,
        "coverage.q10": 0.11,
        "coverage.q90": 0.9,
        "dm_p_values.0": 0.2,
        "dm_p_values.1": 0.01,
    }


@pytest.mark.parametrize("header", [True, False])
def test_data_file_params_count_rows_without_the_header(tmp_path, header):
    lines = ["1615053600000,1.0,2.0", "1615057200000,1.5,2.5", "1615060800000,2.0,3.0"]
    text = "\n".join((["open_time,open,close"] if header else []) + lines)  # no final newline
    path = tmp_path / "candles.csv"
    path.write_text(text)
    params = run_record.data_file_params(path)
    assert params == {
        "data.file": "candles.csv",
        "data.sha256": hashlib.sha256(text.encode()).hexdigest(),
        "data.rows": "3",
    }


def test_git_params_say_unknown_outside_a_repository(tmp_path):
    assert run_record.git_params(tmp_path) == {"git.commit": "unknown", "git.dirty": "unknown"}


def test_tracking_params_refuse_unknown_keys():
    with pytest.raises(ValueError, match="did you mean 'registry'"):
        tracking.TrackingParams.model_validate({"register": {"name": "x"}})


def test_onnx_signature_keeps_names_dtypes_and_symbolic_axes():
    from onnx import TensorProto, helper

    graph = helper.make_graph(
        [helper.make_node("Identity", ["candles"], ["prices"])],
        "g",
        [helper.make_tensor_value_info("candles", TensorProto.DOUBLE, ["batch", 13, 5])],
        [
            helper.make_tensor_value_info("prices", TensorProto.DOUBLE, ["batch", 13, 5]),
            helper.make_tensor_value_info("window_ok", TensorProto.BOOL, ["batch"]),
        ],
    )
    signature = tracking.onnx_signature(helper.make_model(graph)).to_dict()
    assert json.loads(signature["inputs"]) == [
        {
            "type": "tensor",
            "tensor-spec": {"dtype": "float64", "shape": [-1, 13, 5]},
            "name": "candles",
        }
    ]
    outputs = json.loads(signature["outputs"])
    assert [(o["name"], o["tensor-spec"]["dtype"]) for o in outputs] == [
        ("prices", "float64"),
        ("window_ok", "bool"),
    ]


def test_lightning_logger_writes_into_the_bound_run_and_leaves_it_open(tmp_path):
    import mlflow

    assert tracking.lightning_logger() is None  # no tracked run: training adds no logger
    uri = f"sqlite:///{tmp_path}/mlflow.db"
    client = mlflow.MlflowClient(uri)
    run = client.create_run(client.create_experiment("t", artifact_location=str(tmp_path)))
    previous = mlflow.get_tracking_uri()
    tracking.bind_run(uri, run.info.run_id)
    try:
        first, second = tracking.lightning_logger(), tracking.lightning_logger()
        first.log_hyperparams({"hidden_size": 8})
        first.log_metrics({"val_loss": 0.5}, step=3)
        second.log_metrics({"val_loss": 0.7}, step=3)
        first.finalize("success")
    finally:
        tracking.unbind_run()
        mlflow.set_tracking_uri(previous)  # the logger sets MLflow's global URI
    logged = client.get_run(run.info.run_id)
    assert logged.info.status == "RUNNING"  # the Kedro hook, not Lightning, ends the run
    assert logged.data.params == {}  # the hook logs parameters, with their block prefix
    assert logged.data.metrics == {"val_loss": 0.5, "fit2-val_loss": 0.7}


# ---------------------------------------------------------------- end to end
def _kedro(project: Path, params: str, *args: str) -> subprocess.CompletedProcess[str]:
    return run_kedro(
        project,
        "run",
        "--env=smoke",
        f"--params={TRACKED},{params}",
        *args,
        check=False,
        timeout=900,
        offline=True,
    )


def _outputs(project: Path) -> dict:
    reports = project / "data" / "08_reporting"
    return {
        "model.onnx": (project / "data/06_models/model.onnx").read_bytes(),
        "history": pd.read_csv(reports / "training_history.csv"),
        "headline": json.loads((reports / "forecast_metrics.json").read_text())["headline"],
        "lstm_report": json.loads((reports / "lstm_validation_report.json").read_text()),
    }


@pytest.fixture(scope="module")
def tracked(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """Three tracked smoke runs into one store; what each left in data/ is kept per run."""
    project = copy_project(tmp_path_factory.mktemp("tracking") / "project")
    outputs = {}
    for label, params in RUNS.items():
        result = _kedro(project, params)
        assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-5000:]
        outputs[label] = _outputs(project)
    failed = _kedro(project, FAILING, "--namespaces=lstm")  # re-trains, re-exports, fails
    assert failed.returncode != 0, "validation with zero tolerance should have failed the run"
    assert "ValidationFailedError" in failed.stdout + failed.stderr
    return {"project": project, "outputs": outputs}


@pytest.fixture(scope="module")
def store(tracked: dict):
    import mlflow

    uri = f"sqlite:///{tracked['project']}/mlruns/mlflow.db"
    previous = mlflow.get_tracking_uri()
    mlflow.set_tracking_uri(uri)  # models:/ URIs resolve against it
    client = mlflow.MlflowClient(uri)
    experiment = client.get_experiment_by_name("lstm-forecast")
    runs = client.search_runs([experiment.experiment_id], order_by=["attributes.start_time ASC"])
    yield {"client": client, "experiment": experiment, "runs": runs}
    mlflow.set_tracking_uri(previous)


def _run(store: dict, hidden_size: str):
    return next(
        r
        for r in store["runs"]
        if r.data.params.get("training.lstm.hidden_size") == hidden_size
        and r.info.status == "FINISHED"
    )


def _logged_models(store: dict, run_id: str) -> dict:
    found = store["client"].search_logged_models(
        [store["experiment"].experiment_id], filter_string=f"source_run_id='{run_id}'"
    )
    return {model.name: model for model in found}


@pytest.mark.e2e
def test_each_run_is_recorded_with_its_parameters(store):
    assert [r.info.status for r in store["runs"]] == ["FINISHED", "FINISHED", "FAILED"]
    csv = RAW_CSV.read_bytes()
    for label, hidden in (("small", "4"), ("default", "8")):
        params = _run(store, hidden).data.params
        assert params["features.window_length"] == "12", label
        assert params["training.lstm.trainer.max_epochs"] == "2"
        assert params["validation.tolerance.atol"] == "1e-05"
        assert params["data.file"] == RAW_CSV.name
        assert params["data.sha256"] == hashlib.sha256(csv).hexdigest()
        assert params["data.rows"] == str(csv.count(b"\n") - 1)  # the header is not a row
        assert params["git.commit"] == "unknown"  # the temporary copy is no git repository


@pytest.mark.e2e
def test_epoch_losses_and_headline_metrics_are_logged(store, tracked):
    client = store["client"]
    for label, hidden in (("small", "4"), ("default", "8")):
        run = _run(store, hidden)
        outputs = tracked["outputs"][label]
        history = client.get_metric_history(run.info.run_id, "val_loss")
        np.testing.assert_allclose(
            [m.value for m in sorted(history, key=lambda m: m.step)],
            outputs["history"]["val_loss"].to_numpy(),
            rtol=1e-6,
        )
        assert len(client.get_metric_history(run.info.run_id, "train_loss")) == len(history)
        assert outputs["headline"], "forecast_metrics has no headline"
        for key, value in outputs["headline"].items():
            assert run.data.metrics[key] == pytest.approx(value), key
        report = outputs["lstm_report"]
        assert run.data.metrics["lstm.max_abs_error"] == pytest.approx(report["max_abs_error"])
        assert "ridge.max_abs_error" in run.data.metrics
    small, default = _run(store, "4"), _run(store, "8")
    assert small.data.metrics["val_loss"] != default.data.metrics["val_loss"]


@pytest.mark.e2e
def test_logged_onnx_model_loads_back_and_matches_the_published_file(store, tracked):
    import mlflow.onnx
    import mlflow.pyfunc

    rng = np.random.default_rng(0)
    for label, hidden in (("small", "4"), ("default", "8")):
        run = _run(store, hidden)
        models = _logged_models(store, run.info.run_id)
        assert {"model", "ridge"} <= set(models), label
        logged = mlflow.onnx.load_model(models["model"].model_uri)
        published = onnx.load_model_from_string(tracked["outputs"][label]["model.onnx"])
        assert logged.metadata_props == published.metadata_props  # the contract travels along
        n_features = published.graph.input[0].type.tensor_type.shape.dim[2].dim_value
        window = rng.standard_normal((5, 12, n_features)).astype(np.float32)
        expected = _run_onnx(published, window)
        np.testing.assert_array_equal(_run_onnx(logged, window), expected)
        pyfunc = mlflow.pyfunc.load_model(models["model"].model_uri)
        np.testing.assert_array_equal(pyfunc.predict({"window": window})["forecast"], expected)


def _run_onnx(model: onnx.ModelProto, window: np.ndarray) -> np.ndarray:
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return session.run(None, {session.get_inputs()[0].name: window})[0]


@pytest.mark.e2e
def test_passing_runs_register_model_onnx_and_the_failed_run_registers_nothing(store):
    client = store["client"]
    versions = client.search_model_versions("name='lstm-forecast'")
    passing = {_run(store, "4").info.run_id, _run(store, "8").info.run_id}
    assert {v.run_id for v in versions} == passing
    assert all(v.status == "READY" and v.tags["file"] == "model.onnx" for v in versions)
    # The product is registered beside the network, its sidecar with it (for `kedro serve`).
    forecasters = client.search_model_versions("name='lstm-forecast-forecaster'")
    assert {v.run_id for v in forecasters} == passing
    assert all(v.tags["file"] == "forecaster.onnx" for v in forecasters)
    failed = store["runs"][-1]
    assert failed.info.status == "FAILED"
    assert failed.data.params["validation.tolerance.atol"] == "0"
    assert _logged_models(store, failed.info.run_id) == {}
    # What explains the failure is kept with the run.
    reports = {a.path for a in client.list_artifacts(failed.info.run_id, "reports")}
    assert "reports/lstm_validation_report.json" in reports


@pytest.mark.e2e
def test_reports_and_plots_are_artifacts_of_the_run(store):
    run = _run(store, "8")
    paths = {a.path for a in store["client"].list_artifacts(run.info.run_id, "reports")}
    for name in ("forecast_metrics.json", "lstm_validation_report.json", "loss_curves.png"):
        assert f"reports/{name}" in paths


@pytest.mark.e2e
def test_the_smoke_environment_tracks_nothing(smoke_project):
    assert not (smoke_project / "mlruns").exists()
