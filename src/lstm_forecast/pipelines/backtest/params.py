"""Typed ``params:backtest``: a self-contained experiment (no other stage's parameters)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from lstm_forecast.models.training_params import TrainingParams
from lstm_forecast.params import StrictParams
from lstm_forecast.timeseries.feature_sets import FEATURE_SETS


class BacktestParams(StrictParams):
    """``params:backtest``: rolling origin, expanding training window, one model kind."""

    test_bars: int = Field(336, ge=1)  # bars in each fold's test block
    val_bars: int = Field(720, ge=1)  # bars before each test block that drive early stopping
    window_length: int = Field(48, ge=2)
    horizon: int = Field(24, ge=1)
    target: Literal["log_return", "simple_return", "close"] = "log_return"
    feature_set: str = "basic"
    model: str = "lstm"
    ewma_decay: float = Field(0.94, gt=0, lt=1)
    training: TrainingParams = TrainingParams()

    @model_validator(mode="after")
    def _known_set(self) -> BacktestParams:
        if self.feature_set not in FEATURE_SETS:
            raise ValueError(
                f"feature_set {self.feature_set!r} is not one of {sorted(FEATURE_SETS)}"
            )
        return self
