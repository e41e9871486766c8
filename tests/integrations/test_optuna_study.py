"""The study's bookkeeping: per-trial seeding, duplicates, the trial budget, the storage."""

from __future__ import annotations

import time

import optuna
import pytest

from lstm_forecast.integrations import optuna_study

# ask/tell by hand on a heartbeat storage, and the experimental stale-trial check itself.
pytestmark = [
    pytest.mark.filterwarnings("ignore:Heartbeat of storage:UserWarning"),
    pytest.mark.filterwarnings("ignore::optuna.exceptions.ExperimentalWarning"),
]


def _study(tmp_path, seed=3, name="s"):
    url = optuna_study.storage_url(None, str(tmp_path / "optuna"), name)
    return optuna.create_study(
        study_name=name,
        storage=optuna_study.open_storage(url, heartbeat_s=1, grace_s=2),
        sampler=optuna_study.TrialSeededSampler(seed, n_startup_trials=5),
        load_if_exists=True,
    )


def _draw(trial):
    return trial.suggest_float("x", 0.0, 1.0) + trial.suggest_categorical("k", [1, 2, 3, 4])


def test_storage_is_a_sqlite_file_named_by_the_study(tmp_path):
    _study(tmp_path, name="my-study")
    assert (tmp_path / "optuna" / "my-study.db").is_file()
    assert optuna_study.storage_url("postgresql://u@h/db", "x", "s") == "postgresql://u@h/db"


def test_trial_n_draws_from_seed_plus_n_in_any_process(tmp_path):
    first = _study(tmp_path / "a")
    first.optimize(_draw, n_trials=3)
    # Another study (another process) that starts at trial 2 draws trial 2's values again.
    second = _study(tmp_path / "b")
    for trial in first.trials[:2]:
        second.add_trial(trial)
    second.optimize(_draw, n_trials=1)
    assert second.trials[2].params == first.trials[2].params
    # ... and the trials of one study do not share a stream.
    assert first.trials[0].params != first.trials[1].params


def test_duplicate_of_finds_an_earlier_trial_with_the_same_parameters(tmp_path):
    study = _study(tmp_path)
    study.enqueue_trial({"x": 0.5, "k": 2})
    study.optimize(_draw, n_trials=1)
    study.enqueue_trial({"x": 0.5, "k": 2})
    trial = study.ask()
    _draw(trial)
    assert optuna_study.duplicate_of(study, trial).number == 0
    study.tell(trial, state=optuna.trial.TrialState.PRUNED)
    study.enqueue_trial({"x": 0.25, "k": 2})
    other = study.ask()
    _draw(other)
    assert optuna_study.duplicate_of(study, other) is None


def test_the_budget_counts_complete_and_pruned_trials_of_every_process(tmp_path):
    study = _study(tmp_path)

    def prune_odd(trial):
        value = _draw(trial)
        if trial.number % 2:
            raise optuna.TrialPruned()
        return value

    study.optimize(prune_odd, callbacks=[optuna_study.stop_at(3)])
    assert optuna_study.finished_trials(study) == 3
    assert [t.state.name for t in study.trials] == ["COMPLETE", "PRUNED", "COMPLETE"]
    # A second process on the same file sees them and would stop after one more trial.
    again = _study(tmp_path)
    assert optuna_study.finished_trials(again) == 3


def test_killed_trial_is_failed_and_retried_with_its_parameters(tmp_path):
    study = _study(tmp_path)
    trial = study.ask({"x": optuna.distributions.FloatDistribution(0, 1)})
    # A heartbeat, then the process "dies" (nothing more is written).
    study._storage.record_heartbeat(trial._trial_id)
    time.sleep(3.0)  # past the grace period of 2 s
    optuna.storages.fail_stale_trials(study)
    states = [t.state.name for t in study.trials]
    assert states == ["FAIL", "WAITING"]
    assert study.trials[1].params == study.trials[0].params
