"""Distributed training: `kedro run` and torchrun with two DDP processes (gloo on CPU), and
the settings refused inside `kedro run`."""

from __future__ import annotations

import json
import re
import sys
from collections import Counter
from pathlib import Path

import mlflow
import pytest
import torch

from lstm_forecast.models.lstm_params import LstmParams, TrainerParams
from tests.conftest import copy_project, run_command, run_kedro

ENTRY_POINT = "lstm_forecast.models.train_distributed"
CONTINUE = "lstm.export_onnx,plot_loss_curves,ridge.train"  # README, Scaling up
TORCHRUN = str(Path(sys.executable).parent / "torchrun")
# The stages up to the published model; reporting adds nothing to what DDP changes.
STAGES = "ingestion,features,training,export,validation"
DDP = "training.lstm.trainer.devices=2,training.lstm.trainer.strategy=ddp_spawn"
# (node name without namespace, function) of each node up to the published LSTM.
UPSTREAM = (
    ("clean_candles", "clean_assets"),
    ("build_features", "build_features"),
    ("split_chronologically", "split_chronologically"),
    ("fit_scaler_on_train", "fit_feature_scaler"),
    ("make_windows", "make_windows"),
    ("train", "train_model_lstm"),
    ("train", "train_model_ridge"),
    ("export_onnx", "export_onnx_lstm"),
    ("validate_onnx", "validate_onnx_lstm"),
    ("export_forecaster", "export_forecaster_lstm"),
)


def _weights(project: Path) -> dict[str, torch.Tensor]:
    checkpoint = torch.load(project / "data/06_models/model.ckpt", weights_only=True)
    return checkpoint["state_dict"]


@pytest.mark.e2e
def test_two_process_ddp_runs_kedro_once_and_torchrun_repeats_it(tmp_path, monkeypatch):
    monkeypatch.setenv("COLUMNS", "400")  # one log record per line: rich wraps at the width
    project = copy_project(tmp_path / "project")
    tracked = f"{DDP},tracking.enabled=true"
    first = run_kedro(project, "run", "--env=smoke", f"--pipelines={STAGES}", f"--params={tracked}")
    log = first.stdout + first.stderr
    ran = Counter(re.findall(r"Running node: (\S+): (\w+)\(", log))
    for node in UPSTREAM:
        assert ran[node] == 1, (node, ran)
    saved = Counter(re.findall(r"Saving data to (\S+) \(", log))
    assert saved["lstm.trained_model"] == 1 and set(saved.values()) == {1}, saved
    assert log.count("Kedro project lstm_forecast") == 1
    # Two ranks trained, each once (every worker's own line, through the run's logging).
    assert sorted(re.findall(r"DDP rank (\d+) of 2 finished", log)) == ["0", "1"]
    summary = json.loads((project / "data/08_reporting/training_summary.json").read_text())
    assert summary["world_size"] == 2 and summary["epochs_run"] == 2
    history = (project / "data/08_reporting/training_history.csv").read_text().splitlines()
    assert len(history) == 1 + summary["epochs_run"]
    report = json.loads((project / "data/08_reporting/lstm_validation_report.json").read_text())
    assert report["passed"], report["failures"]
    assert (project / "data/06_models/model.onnx").is_file()
    # One MLflow run, and rank 0's epoch losses in it (the workers log into the node's run).
    client = mlflow.MlflowClient(f"sqlite:///{project}/mlruns/mlflow.db")
    experiment = client.get_experiment_by_name("lstm-forecast")
    (run,) = client.search_runs([experiment.experiment_id])
    for metric in ("train_loss", "val_loss"):
        assert len(client.get_metric_history(run.info.run_id, metric)) == 2, metric

    weights = _weights(project)

    # The multi-machine launch, on one machine: torchrun starts the same fit in two ranks,
    # rank 0 saves through the catalog, and the weights are those of the two spawned workers,
    # bit for bit: a second fit under the same seed repeats the first (and no separate
    # `kedro run` repeat is needed to show it).
    (project / "data/06_models/model.ckpt").unlink()
    launched = run_command(
        [TORCHRUN, "--nproc_per_node=2", "-m", ENTRY_POINT, "--env=smoke"], project
    )
    log = launched.stdout + launched.stderr
    assert Counter(re.findall(r"Saving data to (\S+) \(", log)) == {
        f"lstm.{name}": 1 for name in ("trained_model", "training_history", "training_summary")
    }
    by_torchrun = _weights(project)
    assert weights.keys() == by_torchrun.keys()
    for name, tensor in weights.items():
        assert torch.equal(tensor, by_torchrun[name]), name
    # ... and the README's last step takes the pipeline on from that checkpoint.
    report = project / "data/08_reporting/lstm_validation_report.json"
    report.unlink()
    rest = run_kedro(project, "run", "--env=smoke", f"--from-nodes={CONTINUE}")
    assert "train_model_lstm(" not in rest.stdout + rest.stderr
    assert json.loads(report.read_text())["passed"]


def test_ddp_which_would_rerun_kedro_is_refused_before_any_node_runs(tmp_path):
    project = copy_project(tmp_path / "project")
    result = run_kedro(
        project,
        "run",
        "--env=smoke",
        "--pipelines=training",
        "--params=training.lstm.trainer.devices=2,training.lstm.trainer.strategy=ddp",
        check=False,
    )
    text = " ".join((result.stdout + result.stderr).split())
    assert result.returncode != 0
    assert "kedro issue #2049" in text and "trainer.strategy=ddp_spawn" in text
    assert "Running node" not in text


@pytest.mark.parametrize(
    ("trainer", "expected"),
    [
        ({"devices": 2, "strategy": "ddp"}, "re-run `kedro run`"),
        ({"devices": 4, "strategy": "auto"}, "re-run `kedro run`"),
        ({"devices": 1, "num_nodes": 2, "strategy": "ddp"}, "re-run `kedro run`"),
        ({"devices": 2, "num_nodes": 2, "strategy": "ddp_spawn"}, "this machine only"),
        ({"devices": "auto", "strategy": "ddp_spawn"}, "number of processes"),
    ],
)
def test_settings_that_cannot_run_inside_kedro_are_refused(monkeypatch, trainer, expected):
    for name in ("LOCAL_RANK", "WORLD_SIZE"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(ValueError, match=re.escape(expected)):
        LstmParams.model_validate({"trainer": trainer})


def test_a_launched_rank_accepts_ddp(monkeypatch):
    # Under torchrun every rank has these; Lightning then starts no processes itself.
    monkeypatch.setenv("LOCAL_RANK", "0")
    monkeypatch.setenv("WORLD_SIZE", "4")
    assert TrainerParams(devices=2, num_nodes=2, strategy="ddp").strategy == "ddp"


def test_the_entry_point_refuses_to_run_outside_a_launched_job(monkeypatch, capsys):
    from lstm_forecast.models.train_distributed import main

    for name in ("LOCAL_RANK", "WORLD_SIZE"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(SystemExit) as exit_info:
        main(["--env=smoke"])
    assert exit_info.value.code == 2
    assert "start this under torchrun" in capsys.readouterr().err
