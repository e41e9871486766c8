"""Nodes of the tuning pipeline: one Optuna study of the LSTM, run inside one node.

Each trial trains the registered ``lstm`` kind (its own training loop, with Optuna's pruning
callback added) on the training windows, early-stops on the validation windows, and scores
the mean CRPS over every horizon step, in price units, on the validation windows. The test
split is never read: no window used here has a target at or after ``test_start``.
"""

from __future__ import annotations

import logging
import os
import socket
from typing import Any

import numpy as np
import optuna
import pandas as pd
import yaml
from sqlalchemy.engine import make_url

from lstm_forecast import models
from lstm_forecast.integrations import nested_runs, optuna_study
from lstm_forecast.lineage import fingerprint_frame, require_same
from lstm_forecast.models.callbacks import extra_callbacks, pruning_callback
from lstm_forecast.models.training_data import training_data
from lstm_forecast.timeseries.scoring import crps_per_forecast
from lstm_forecast.timeseries.targets import forecast_to_price

from .params import SearchSpace, TuningParams
from .prepared import Prepared, prepare

logger = logging.getLogger(__name__)

# Where each searched value goes in conf/ (the features stage owns the window length).
_CONF_KEYS = {
    "hidden_size": "training.lstm.hidden_size",
    "num_layers": "training.lstm.num_layers",
    "dropout": "training.lstm.dropout",
    "learning_rate": "training.lstm.learning_rate",
    "batch_size": "training.lstm.batch_size",
    "window_length": "features.window_length",
    "feature_set": "features.feature_set",
}
OBJECTIVE = "mean CRPS (price units) over every horizon step on the validation windows"


def tune_lstm(
    candles: pd.DataFrame,
    feature_table: pd.DataFrame,
    feature_scaler: dict[str, Any],
    split_boundaries: dict[str, Any],
    tuning: TuningParams,
) -> tuple[str, dict[str, Any]]:
    """Run (or resume) the Optuna study ``tuning.study_name`` until it has ``n_trials``
    finished trials, and report its best parameters.

    Args:
        candles: Clean candles (other feature sets of the search space are computed from
            them, as the features stage would).
        feature_table: Unscaled feature table with targets (the features stage's).
        feature_scaler: Scaler fit on the training split.
        split_boundaries: The split (``val_start``, ``test_start``).
        tuning: ``params:tuning``.

    Returns:
        The best parameters as commented YAML (a ``conf/`` parameters file), and a summary
        of the study (every trial's state, value and parameters).
    """
    require_same(
        feature_scaler["lineage"],
        {"features": fingerprint_frame(feature_table)},
        what="feature_scaler",
        rerun="rerun `kedro run --pipelines=features` before tuning.",
    )
    prepared = prepare(candles, feature_table, feature_scaler, split_boundaries, tuning.space)
    url = optuna_study.storage_url(tuning.storage, tuning.storage_dir, tuning.study_name)
    study = optuna.create_study(
        study_name=tuning.study_name,
        storage=optuna_study.open_storage(url, tuning.heartbeat_s, tuning.grace_s),
        sampler=optuna_study.TrialSeededSampler(
            tuning.seed, n_startup_trials=tuning.tpe_startup_trials
        ),
        pruner=optuna.pruners.MedianPruner(**tuning.pruner.model_dump()),
        direction="minimize",
        load_if_exists=True,
    )
    for chosen in tuning.enqueue:
        study.enqueue_trial(chosen, skip_if_exists=True)
    done = optuna_study.finished_trials(study)
    logger.info(
        "Optuna study %r in %s: %d of %d trials finished before this run.",
        tuning.study_name,
        _redacted(url),
        done,
        tuning.n_trials,
    )
    if done < tuning.n_trials:
        study.optimize(
            lambda trial: _objective(trial, prepared, tuning),
            timeout=tuning.timeout_s,
            callbacks=[optuna_study.stop_at(tuning.n_trials)],
            gc_after_trial=True,
        )
    return _report(study, _redacted(url))


def _suggest(trial: optuna.Trial, space: SearchSpace) -> dict[str, Any]:
    return {
        "hidden_size": trial.suggest_categorical("hidden_size", list(space.hidden_size)),
        "num_layers": trial.suggest_categorical("num_layers", list(space.num_layers)),
        "dropout": trial.suggest_float("dropout", *space.dropout),
        "learning_rate": trial.suggest_float("learning_rate", *space.learning_rate, log=True),
        "batch_size": trial.suggest_categorical("batch_size", list(space.batch_size)),
        "window_length": trial.suggest_categorical("window_length", list(space.window_length)),
        "feature_set": trial.suggest_categorical("feature_set", list(space.feature_set)),
    }


def _objective(trial: optuna.Trial, prepared: Prepared, tuning: TuningParams) -> float:
    chosen = _suggest(trial, tuning.space)
    trial.set_user_attr("worker", f"{socket.gethostname()}:{os.getpid()}")
    twin = optuna_study.duplicate_of(trial.study, trial)
    if twin is not None:
        trial.set_user_attr("duplicate_of", twin.number)
        if twin.state == optuna.trial.TrialState.COMPLETE:
            logger.info("Trial %d repeats trial %d: not trained again.", trial.number, twin.number)
            return float(twin.value)
        raise optuna.TrialPruned(f"same parameters as trial {twin.number} ({twin.state.name})")
    windows = prepared.windows(chosen["feature_set"], chosen["window_length"])
    features = prepared.sets[chosen["feature_set"]]
    data = training_data(
        features.table, features.scaler, windows["train"], windows["val"], tuning.training
    )
    lstm = tuning.training.for_kind("lstm")
    network = {k: v for k, v in chosen.items() if k not in ("window_length", "feature_set")}
    params = lstm.model_copy(update=network)
    with nested_runs.child_run(f"trial-{trial.number}", chosen) as run:
        try:
            with extra_callbacks(pruning_callback(trial, monitor="val_loss")):
                trained = models.get("lstm").fit(data, params)
        except optuna.TrialPruned:
            if run is not None:
                run.status = "KILLED"
                run.log({}, {"optuna_state": "PRUNED"})
            raise
        score = _validation_crps(trained.artifact, prepared, features.scaler, data)
        trial.set_user_attr("epochs_run", int(trained.summary["epochs_run"]))
        if run is not None:
            run.log({"val_crps": score, "best_val_loss": trained.summary["best_val_loss"]})
    return score


def _validation_crps(
    artifact: dict[str, Any],
    prepared: Prepared,
    scaler: dict[str, Any],
    data: models.TrainingData,
) -> float:
    ends = prepared.score_ends
    horizon = data.horizon
    scaled = models.get("lstm").predictor(artifact)(data.windows(ends))
    close = next(iter(prepared.sets.values())).table["close"].to_numpy(dtype=np.float64)
    prices = forecast_to_price(
        scaled,
        close[ends],
        target_mean=scaler["target_mean"],
        target_scale=scaler["target_scale"],
        kind=scaler["target_kind"],
    )
    actual = close[ends[:, None] + np.arange(1, horizon + 1)[None, :]]
    return float(crps_per_forecast(actual, prices, data.quantiles).mean())


def _report(study: optuna.Study, storage: str) -> tuple[str, dict[str, Any]]:
    trials = study.get_trials(deepcopy=False)
    states = {s.name: sum(t.state == s for t in trials) for s in optuna.trial.TrialState}
    complete = [t for t in trials if t.state == optuna.trial.TrialState.COMPLETE]
    if not complete:
        raise RuntimeError(
            f"No trial of study {study.study_name!r} completed ({states}): every one was "
            "pruned or failed. Widen tuning.space, relax tuning.pruner, or add trials."
        )
    best = min(complete, key=lambda t: t.value)
    overrides = ",".join(f"{_CONF_KEYS[k]}={v}" for k, v in best.params.items())
    nested_runs.log_to_parent({"best_val_crps": best.value, "trials_complete": len(complete)})
    logger.info(
        'Best trial %d of study %r: val CRPS %.6g with %s. Use: kedro run --params="%s"',
        best.number,
        study.study_name,
        best.value,
        best.params,
        overrides,
    )
    text = _best_yaml(study.study_name, storage, best, len(complete), overrides)
    summary = {
        "study_name": study.study_name,
        "storage": storage,
        "objective": OBJECTIVE,
        "states": states,
        "best": {"number": best.number, "value": best.value, "params": best.params},
        "recipe": f'kedro run --params="{overrides}"',
        "trials": [
            {
                "number": t.number,
                "state": t.state.name,
                # A pruned trial's value would be its last val_loss, not a CRPS.
                "value": t.value if t.state == optuna.trial.TrialState.COMPLETE else None,
                "params": t.params,
                "last_epoch": t.last_step,
                **t.user_attrs,
            }
            for t in trials
        ],
    }
    return text, summary


def _best_yaml(
    name: str, storage: str, best: optuna.trial.FrozenTrial, complete: int, overrides: str
) -> str:
    nested: dict[str, Any] = {}
    for key, value in best.params.items():
        block, *path, leaf = _CONF_KEYS[key].split(".")
        target = nested.setdefault(block, {})
        for part in path:
            target = target.setdefault(part, {})
        target[leaf] = value
    header = (
        f"# Best of Optuna study {name!r} ({storage}): trial {best.number}, {complete} "
        f"complete trials,\n# {OBJECTIVE}: {best.value:.6g}.\n"
        "# Use: copy this file to conf/local/parameters_tuned.yml and run `kedro run`, or\n"
        f'# kedro run --params="{overrides}"\n'
    )
    return header + yaml.safe_dump(nested, sort_keys=True)


def _redacted(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)
