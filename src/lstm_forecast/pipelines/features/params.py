"""Typed ``params:features``."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import Field, model_validator

from lstm_forecast.params import StrictParams
from lstm_forecast.timeseries.feature_sets import FEATURE_SETS


class SplitParams(StrictParams):
    """Chronological train/validation/test boundaries: by fractions, or by two dates."""

    train_fraction: float = Field(0.7, gt=0, lt=1)
    val_fraction: float = Field(0.15, gt=0, lt=1)
    val_start: datetime | date | None = None
    test_start: datetime | date | None = None
    # Assets kept out of training (no train/val window, not in the scaler): forecast zero-shot.
    zero_shot_assets: tuple[str, ...] = ()

    @model_validator(mode="after")
    def _consistent(self) -> SplitParams:
        if (self.val_start is None) != (self.test_start is None):
            raise ValueError("set both split.val_start and split.test_start, or neither")
        if self.val_start is None and self.train_fraction + self.val_fraction >= 1:
            raise ValueError(
                f"split.train_fraction + split.val_fraction = "
                f"{self.train_fraction + self.val_fraction:g} leaves no test split; keep it < 1"
            )
        if self.val_start is not None and not str(self.val_start) < str(self.test_start):
            raise ValueError("split.val_start must come before split.test_start")
        return self


class FeaturesParams(StrictParams):
    """``params:features``."""

    window_length: int = Field(48, ge=2)
    horizon: int = Field(24, ge=1)
    target: Literal["log_return", "simple_return", "close"] = "log_return"
    # A conf without the key reads the six features of every run before feature sets.
    feature_set: str = "basic"
    split: SplitParams = SplitParams()

    @model_validator(mode="after")
    def _known_set(self) -> FeaturesParams:
        if self.feature_set not in FEATURE_SETS:
            raise ValueError(
                f"feature_set {self.feature_set!r} is not one of {sorted(FEATURE_SETS)}"
            )
        return self
