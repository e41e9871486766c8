"""The interface every model kind implements, and the data handed to it."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
import onnx
import pandas as pd

from lstm_forecast.params import StrictParams
from lstm_forecast.timeseries.windows import gather_windows

# A reference predictor: windows [n, window_length, n_features] float32 -> [n, horizon, q].
Predictor = Callable[[np.ndarray], np.ndarray]


@dataclass(frozen=True)
class TrainingData:
    """What every kind trains on: one scaled matrix and the end rows of its windows."""

    matrix: np.ndarray  # [rows, n_features] float32, scaled
    targets: np.ndarray  # [rows, horizon] float32, scaled; NaN where no target exists
    train_ends: np.ndarray
    val_ends: np.ndarray
    window_length: int
    feature_names: tuple[str, ...]
    quantiles: tuple[float, ...]
    seed: int
    lineage: dict[str, str] = field(default_factory=dict)
    # The features stage's scaler (means and scales), for kinds that unscale inside the model.
    scaler: dict[str, Any] | None = None

    @property
    def horizon(self) -> int:
        """Bars ahead of the last forecast step."""
        return int(self.targets.shape[1])

    def windows(self, ends: np.ndarray) -> np.ndarray:
        """A contiguous copy of the windows ending at ``ends``."""
        return np.ascontiguousarray(gather_windows(self.matrix, ends, self.window_length))

    def describe(self, kind: str) -> dict[str, Any]:
        """The ``meta`` block every trained artefact carries."""
        return {
            "kind": kind,
            "window_length": self.window_length,
            "feature_names": list(self.feature_names),
            "horizon": self.horizon,
            "quantiles": list(self.quantiles),
            "lineage": dict(self.lineage),
        }


@dataclass(frozen=True)
class TrainedModel:
    """A fit's result: the artefact to store, its epoch history and a summary."""

    artifact: dict[str, Any]
    history: pd.DataFrame
    summary: dict[str, Any]


class ModelKind(ABC):
    """One kind of model. The artefact is a plain dict with a ``meta`` block (see
    ``TrainingData.describe``) so that every stage can read it without the kind's code."""

    name: ClassVar[str]
    params_model: ClassVar[type[StrictParams]]
    # Whether the exported graph accepts windows of another length than it was trained on.
    dynamic_window: ClassVar[bool] = False

    @abstractmethod
    def fit(self, data: TrainingData, params: StrictParams) -> TrainedModel:
        """Train on ``data.train_ends`` (and early-stop on ``data.val_ends`` if it can)."""

    @abstractmethod
    def predictor(self, artifact: dict[str, Any]) -> Predictor:
        """The reference predictor that the ONNX file must agree with."""

    @abstractmethod
    def to_onnx(self, artifact: dict[str, Any], export: Any) -> onnx.ModelProto:
        """Convert to an ONNX graph: input ``window``, output ``forecast`` ``[b, h, q]``."""

    def exporter(self, export: Any) -> str:
        """Which converter wrote the graph, for the contract."""
        return "onnx.helper"

    @abstractmethod
    def weights(self, artifact: dict[str, Any]) -> dict[str, np.ndarray]:
        """Every trained parameter by name, as float32 arrays."""

    def graph_layouts(self, artifact: dict[str, Any]) -> list[dict[str, np.ndarray]]:
        """The ways an exported graph may hold the weights, bit for bit (any one suffices)."""
        return [self.weights(artifact)]
