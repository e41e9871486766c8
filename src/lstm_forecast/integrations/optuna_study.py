"""Optuna pieces the tuning stage runs a study with: storage, sampler, bookkeeping.

- Storage: an RDB storage (SQLite file by default, PostgreSQL for several machines) with
  heartbeats, so a trial whose process was killed is marked FAIL by the next process that
  opens the study, and retried once with the same parameters
  (``RetryHeartbeatStaleTrialCallback``).
- Sampler: TPE, seeded per trial number (``seed + number``): a rerun with the same history
  samples the same parameters, and two processes sharing a study, which never get the same
  trial number, never draw from the same random stream.
- ``duplicate_of``: a trial whose parameters an earlier trial already ran is not trained
  again (Optuna's FAQ recipe), so concurrent workers do not repeat one another's work.
"""

from __future__ import annotations

import logging
import time
import warnings
from pathlib import Path
from typing import Any

import optuna
from optuna.exceptions import ExperimentalWarning
from optuna.samplers import BaseSampler, TPESampler
from optuna.storages import RDBStorage, RetryHeartbeatStaleTrialCallback
from optuna.trial import FrozenTrial, TrialState
from sqlalchemy.exc import IntegrityError, OperationalError

logger = logging.getLogger(__name__)

FINISHED = (TrialState.COMPLETE, TrialState.PRUNED)


def storage_url(storage: str | None, storage_dir: str, study_name: str) -> str:
    """The RDB URL: ``storage`` when given, else ``sqlite:///<storage_dir>/<study_name>.db``
    (its folder created)."""
    if storage:
        return storage
    folder = Path(storage_dir)
    folder.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{folder / study_name}.db"


def open_storage(url: str, heartbeat_s: int, grace_s: int) -> RDBStorage:
    """An ``RDBStorage`` with heartbeats; a killed trial is failed and retried once."""
    engine_kwargs: dict[str, Any] = {}
    if url.startswith("sqlite"):
        # Several processes on one SQLite file wait for its lock instead of failing at once.
        engine_kwargs["connect_args"] = {"timeout": 60}
    attempts = 5
    for attempt in range(attempts):
        try:
            # Heartbeats are marked experimental (since Optuna 2.8) yet are Optuna's documented
            # way to resume a killed trial; the warning would be noise on every run.
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ExperimentalWarning)
                return RDBStorage(
                    url,
                    engine_kwargs=engine_kwargs,
                    heartbeat_interval=heartbeat_s,
                    grace_period=grace_s,
                    heartbeat_stale_trial_callback=RetryHeartbeatStaleTrialCallback(max_retry=1),
                )
        except (IntegrityError, OperationalError):
            # Two workers creating a new database at once: one stamps the schema version,
            # the other's insert fails; the schema exists by the time it tries again.
            if attempt == attempts - 1:
                raise
            logger.info("The Optuna storage is being created by another worker; retrying.")
            time.sleep(0.5 * (attempt + 1))
    raise AssertionError("unreachable")


class TrialSeededSampler(BaseSampler):
    """``TPESampler`` seeded with ``seed + trial.number`` for each trial."""

    def __init__(self, seed: int, **tpe: Any) -> None:
        self._seed = seed
        self._tpe = tpe
        self._samplers: dict[int, TPESampler] = {}

    def _for(self, trial: FrozenTrial) -> TPESampler:
        if trial.number not in self._samplers:
            self._samplers[trial.number] = TPESampler(seed=self._seed + trial.number, **self._tpe)
        return self._samplers[trial.number]

    def infer_relative_search_space(self, study: Any, trial: FrozenTrial) -> dict[str, Any]:
        return self._for(trial).infer_relative_search_space(study, trial)

    def sample_relative(
        self, study: Any, trial: FrozenTrial, search_space: dict[str, Any]
    ) -> dict[str, Any]:
        return self._for(trial).sample_relative(study, trial, search_space)

    def sample_independent(
        self, study: Any, trial: FrozenTrial, param_name: str, param_distribution: Any
    ) -> Any:
        return self._for(trial).sample_independent(study, trial, param_name, param_distribution)

    def before_trial(self, study: Any, trial: FrozenTrial) -> None:
        self._for(trial).before_trial(study, trial)

    def after_trial(self, study: Any, trial: FrozenTrial, state: TrialState, values: Any) -> None:
        self._for(trial).after_trial(study, trial, state, values)
        self._samplers.pop(trial.number, None)


def finished_trials(study: optuna.Study) -> int:
    """Trials that count towards the study's size: complete or pruned."""
    return len(study.get_trials(deepcopy=False, states=FINISHED))


def duplicate_of(study: optuna.Study, trial: optuna.Trial) -> FrozenTrial | None:
    """An earlier trial (complete, pruned or still running) with exactly these parameters."""
    for other in study.get_trials(deepcopy=False, states=(*FINISHED, TrialState.RUNNING)):
        if other.number != trial.number and other.params == trial.params:
            return other
    return None


def stop_at(n_trials: int) -> Any:
    """A callback that stops ``optimize`` once the study has ``n_trials`` finished trials,
    counted over every process that works on it."""
    return optuna.study.MaxTrialsCallback(n_trials, states=FINISHED)
