"""Typed parameters: the one validation step between ``conf/`` and the nodes.

Kedro 1.7 validates a ``params:`` input against the node's type hint when the hint is a
pydantic model, before any node runs (``kedro.validation.ParameterValidator``). Every
stage's parameter model derives from ``StrictParams``, so a misspelt or unknown key is
refused with the closest known key and the accepted ones, instead of being ignored.
"""

from __future__ import annotations

import difflib
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator


class StrictParams(BaseModel):
    """A frozen parameter block that refuses keys it does not know."""

    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True)

    @model_validator(mode="before")
    @classmethod
    def _refuse_unknown_keys(cls, data: Any) -> Any:
        # pydantic's own "Extra inputs are not permitted" names the key but not the fix.
        if isinstance(data, dict):
            known = set(cls.model_fields)
            unknown = [key for key in data if key not in known]
            if unknown:
                raise ValueError("; ".join(_unknown_key_message(key, known) for key in unknown))
        return data


def _unknown_key_message(key: str, known: set[str]) -> str:
    close = difflib.get_close_matches(str(key), sorted(known), n=1, cutoff=0.6)
    hint = f"did you mean {close[0]!r}? " if close else ""
    return f"unknown key {key!r}: {hint}accepted keys are {sorted(known)}"


class OnnxRuntimeParams(StrictParams):
    """onnxruntime session settings shared by validation, inference and the benchmarks."""

    intra_op_num_threads: int = Field(1, ge=0)  # 0 lets onnxruntime choose
    inter_op_num_threads: int = Field(1, ge=0)
    graph_optimization_level: Literal["disable", "basic", "extended", "all"] = "all"

    def as_dict(self) -> dict[str, Any]:
        """The settings as the plain mapping ``onnx.contract.make_session`` takes."""
        return self.model_dump()
