"""Typed fitting settings: shared ones plus one block per registered model kind.

The training stage reads them as ``params:training``; the backtest has a block of the same
shape of its own (``params:backtest.training``).
"""

from __future__ import annotations

from typing import Any

from pydantic import ConfigDict, field_validator, model_validator

from lstm_forecast import models
from lstm_forecast.params import StrictParams, _unknown_key_message


class TrainingParams(StrictParams):
    """``params:training``: ``seed``, ``quantiles`` and one ``<kind>:`` block per model kind.

    Each kind's block is validated by that kind's own parameter model (from the registry),
    so a typo inside ``training.lstm`` is refused just like one at the top level.
    """

    model_config = ConfigDict(extra="allow", frozen=True)

    seed: int = 42
    quantiles: tuple[float, ...] = (0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95)

    @model_validator(mode="before")
    @classmethod
    def _refuse_unknown_keys(cls, data: Any) -> Any:
        if isinstance(data, dict):
            known = set(cls.model_fields) | set(models.names())
            unknown = [key for key in data if key not in known]
            if unknown:
                raise ValueError("; ".join(_unknown_key_message(key, known) for key in unknown))
            data = dict(data)
            for kind in models.names():
                data[kind] = models.get(kind).params_model.model_validate(data.get(kind) or {})
        return data

    @field_validator("quantiles")
    @classmethod
    def _levels(cls, levels: tuple[float, ...]) -> tuple[float, ...]:
        if list(levels) != sorted(set(levels)) or not all(0 < q < 1 for q in levels):
            raise ValueError(f"quantiles {list(levels)} must be distinct, ascending, in (0, 1)")
        if 0.5 not in levels:
            raise ValueError(f"quantiles {list(levels)} must include the median 0.5")
        return levels

    def for_kind(self, kind: str) -> StrictParams:
        """The validated parameter block of one model kind."""
        return getattr(self, kind)
