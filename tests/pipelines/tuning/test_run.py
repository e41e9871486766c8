"""The tuning pipeline through the real `kedro run` on the smoke run's features: a study
that is killed mid-trial and resumed, prunes, writes its best parameters and nests its
trials in MLflow; and two processes sharing one study."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import time
from pathlib import Path

import optuna
import pytest
import yaml

from ...conftest import KEDRO, kedro_env, run_kedro

pytestmark = pytest.mark.e2e

STUDY = "lstm-val-crps"
TUNE = ("run", "--env=smoke", "--pipelines=tuning")


def _project(smoke_project: Path, tmp_path: Path) -> Path:
    project = tmp_path / "project"
    shutil.copytree(smoke_project, project, symlinks=True)
    return project


def _db(project: Path, study: str = STUDY) -> Path:
    return project / "data/07_model_output/optuna" / f"{study}.db"


def _states(db: Path, beating: bool = False) -> dict[int, str]:
    """Trial number -> state; with ``beating``, only trials that recorded a heartbeat."""
    query = "SELECT number, state FROM trials"
    if beating:
        query += " JOIN trial_heartbeats USING (trial_id)"
    if not db.exists():
        return {}
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5) as connection:
            return dict(connection.execute(query).fetchall())
    except sqlite3.OperationalError:  # the tables are being created
        return {}


def _trials(project: Path, study: str = STUDY) -> list[optuna.trial.FrozenTrial]:
    loaded = optuna.load_study(study_name=study, storage=f"sqlite:///{_db(project, study)}")
    return loaded.get_trials(deepcopy=False)


@pytest.mark.filterwarnings("ignore::optuna.exceptions.ExperimentalWarning")
def test_a_killed_study_resumes_prunes_and_writes_the_best_parameters(smoke_project, tmp_path):
    project = _project(smoke_project, tmp_path)
    first = subprocess.Popen(
        [KEDRO, *TUNE],
        cwd=project,
        env=kedro_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + 240
    try:
        # Killed in the middle of a trial that has sent its first heartbeat, after trial 0
        # completed (so that the pruner has a trial to compare with when the study resumes).
        while "RUNNING" not in _states(_db(project), beating=True).values() or (
            "COMPLETE" not in _states(_db(project)).values()
        ):
            assert first.poll() is None, "the study ended before it could be killed"
            assert time.monotonic() < deadline, "no trial started within 240 s"
            time.sleep(0.05)
    finally:
        os.killpg(first.pid, signal.SIGKILL)
        first.wait(timeout=30)
    at_kill = _states(_db(project))
    killed = [number for number, state in at_kill.items() if state == "RUNNING"]
    assert len(killed) == 1 and sum(s in ("COMPLETE", "PRUNED") for s in at_kill.values()) < 3
    assert at_kill[0] == "COMPLETE"

    run_kedro(project, *TUNE, "--params=tracking.enabled=true", timeout=300)
    trials = _trials(project)
    by_number = {t.number: t for t in trials}
    # The killed trial was failed by its stale heartbeat and run again with its parameters.
    assert by_number[killed[0]].state.name == "FAIL"
    retried = [
        t
        for t in trials
        if optuna.storages.RetryHeartbeatStaleTrialCallback.retried_trial_number(t) == killed[0]
    ]
    # (A trial killed while it was still drawing its values holds only those drawn so far.)
    assert len(retried) == 1 and by_number[killed[0]].params.items() <= retried[0].params.items()
    assert retried[0].state.name in ("COMPLETE", "PRUNED")
    finished = [t for t in trials if t.state.name in ("COMPLETE", "PRUNED")]
    assert len(finished) == 3 and any(t.state.name == "PRUNED" for t in finished)
    # The enqueued hopeless trial (learning rate 1e-6) was pruned, after its first epoch.
    hopeless = [t for t in finished if t.params["learning_rate"] == 1e-6]
    assert [(t.state.name, t.last_step) for t in hopeless] == [("PRUNED", 0)]

    complete = [t for t in finished if t.state.name == "COMPLETE"]
    best = min(complete, key=lambda t: t.value)
    text = (project / "data/07_model_output/tuning_best_params.yml").read_text()
    written = yaml.safe_load(text)
    assert written["features"] == {
        "window_length": best.params["window_length"],
        "feature_set": best.params["feature_set"],  # the smoke space searches basic only
    }
    assert written["training"]["lstm"]["learning_rate"] == best.params["learning_rate"]
    assert written["training"]["lstm"]["hidden_size"] == best.params["hidden_size"]
    recipe = f"training.lstm.hidden_size={best.params['hidden_size']}"
    assert "conf/local/parameters_tuned.yml" in text and recipe in text
    _assert_nested_runs(project, trials, killed[0])


def _assert_nested_runs(project: Path, trials: list, killed: int) -> None:
    from mlflow import MlflowClient

    client = MlflowClient(tracking_uri=f"sqlite:///{project}/mlruns/mlflow.db")
    experiment = client.get_experiment_by_name("lstm-forecast")
    runs = client.search_runs([experiment.experiment_id])
    parents = [r for r in runs if "mlflow.parentRunId" not in r.data.tags]
    children = [r for r in runs if "mlflow.parentRunId" in r.data.tags]
    assert len(parents) == 1
    assert {r.data.tags["mlflow.parentRunId"] for r in children} == {parents[0].info.run_id}
    # One child per trial trained by the resumed run (those after the killed one).
    ran = {t.number: t for t in trials if t.number > killed and t.state.name != "FAIL"}
    assert {r.info.run_name for r in children} == {f"trial-{n}" for n in ran}
    for run in children:
        trial = ran[int(run.info.run_name.split("-")[1])]
        expected = {"COMPLETE": "FINISHED", "PRUNED": "KILLED"}[trial.state.name]
        assert run.info.status == expected
        assert float(run.data.params["learning_rate"]) == trial.params["learning_rate"]
        if trial.state.name == "COMPLETE":
            assert run.data.metrics["val_crps"] == pytest.approx(trial.value)
    best = min(t.value for t in trials if t.state.name == "COMPLETE")
    assert parents[0].data.metrics["best_val_crps"] == pytest.approx(best)


@pytest.mark.filterwarnings("ignore::optuna.exceptions.ExperimentalWarning")
def test_two_processes_share_one_study_without_repeating_a_trial(smoke_project, tmp_path):
    project = _project(smoke_project, tmp_path)
    args = [KEDRO, *TUNE, "--params=tuning.study_name=shared,tuning.n_trials=5"]
    workers = [
        subprocess.Popen(
            args,
            cwd=project,
            env=kedro_env(),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    for worker in workers:
        _, errors = worker.communicate(timeout=300)
        assert worker.returncode == 0, errors[-3000:]
    trials = _trials(project, "shared")
    finished = [t for t in trials if t.state.name in ("COMPLETE", "PRUNED")]
    # Each process stops once the study has 5 finished trials: at most one more in flight.
    assert 5 <= len(finished) <= 6
    assert all(t.state.name != "FAIL" for t in trials)
    # Every trial was run by one of the two processes, and no parameters were trained twice.
    host = socket.gethostname()
    assert {t.user_attrs["worker"] for t in trials} <= {f"{host}:{w.pid}" for w in workers}
    trained = [t for t in finished if "duplicate_of" not in t.user_attrs]
    keys = [tuple(sorted(t.params.items())) for t in trained]
    assert len(keys) == len(set(keys))
    for t in finished:
        if "duplicate_of" in t.user_attrs:
            assert trials[t.user_attrs["duplicate_of"]].params == t.params
