"""Typed ``params:tuning``: one Optuna study of the LSTM's hyperparameters."""

from __future__ import annotations

from typing import Any

from pydantic import Field, model_validator

from lstm_forecast.models.training_params import TrainingParams
from lstm_forecast.params import StrictParams
from lstm_forecast.timeseries.feature_sets import FEATURE_SETS


class SearchSpace(StrictParams):
    """The values each trial chooses from: lists are categorical, pairs are ranges."""

    hidden_size: tuple[int, ...] = (16, 32, 64)
    num_layers: tuple[int, ...] = (1, 2)
    dropout: tuple[float, float] = (0.0, 0.3)
    learning_rate: tuple[float, float] = (3e-4, 1e-2)
    batch_size: tuple[int, ...] = (64, 128, 256)
    window_length: tuple[int, ...] = (24, 48, 96)
    feature_set: tuple[str, ...] = ("basic", "volatility")

    @model_validator(mode="after")
    def _ranges(self) -> SearchSpace:
        for name in ("dropout", "learning_rate"):
            low, high = getattr(self, name)
            if not low <= high:
                raise ValueError(f"space.{name}: low {low} is above high {high}")
        if not (self.dropout[0] >= 0 and self.dropout[1] < 1):
            raise ValueError(f"space.dropout {list(self.dropout)} must lie in [0, 1)")
        if not self.learning_rate[0] > 0:
            raise ValueError("space.learning_rate must be positive (it is searched on a log scale)")
        for name in ("hidden_size", "num_layers", "batch_size", "window_length"):
            values = getattr(self, name)
            if not values or min(values) < 1:
                raise ValueError(f"space.{name} needs at least one value, each at least 1")
        if min(self.window_length) < 2:
            raise ValueError("space.window_length: a window needs at least 2 bars")
        unknown = sorted(set(self.feature_set) - set(FEATURE_SETS))
        if not self.feature_set or unknown:
            raise ValueError(
                f"space.feature_set needs at least one of {sorted(FEATURE_SETS)}; "
                f"unknown: {unknown}"
            )
        return self


class PrunerParams(StrictParams):
    """``optuna.pruners.MedianPruner`` settings."""

    n_startup_trials: int = Field(3, ge=0)  # trials finished before any is pruned
    n_warmup_steps: int = Field(2, ge=0)  # epochs of a trial before it may be pruned


class TuningParams(StrictParams):
    """``params:tuning``."""

    study_name: str = Field("lstm-val-crps", pattern=r"^[A-Za-z0-9_.-]+$")
    storage: str | None = None  # an RDB URL; None: SQLite under storage_dir
    storage_dir: str = "data/07_model_output/optuna"
    n_trials: int = Field(30, ge=1)
    timeout_s: float | None = Field(None, gt=0)
    seed: int = 42
    tpe_startup_trials: int = Field(10, ge=0)
    pruner: PrunerParams = PrunerParams()
    heartbeat_s: int = Field(30, ge=1)
    grace_s: int = Field(120, ge=1)
    enqueue: tuple[dict[str, Any], ...] = ()
    space: SearchSpace = SearchSpace()
    training: TrainingParams = TrainingParams()

    @model_validator(mode="after")
    def _grace_after_heartbeat(self) -> TuningParams:
        if self.grace_s <= self.heartbeat_s:
            raise ValueError(
                f"grace_s ({self.grace_s}) must exceed heartbeat_s ({self.heartbeat_s}), or "
                "a live trial could be taken for a killed one"
            )
        unknown = {key for trial in self.enqueue for key in trial} - set(SearchSpace.model_fields)
        if unknown:
            raise ValueError(
                f"enqueue names {sorted(unknown)}, not in the search space "
                f"{sorted(SearchSpace.model_fields)}"
            )
        return self
