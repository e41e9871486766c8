"""Fixtures for the outside-client tests: the smoke run's published forecaster, read as a
consumer would (the ONNX file, its JSON sidecar, the raw CSV), and the Python path beside it."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import onnxruntime as ort
import pandas as pd
import pytest

from lstm_forecast.onnx.contract import (
    CLOSE_QUANTILES,
    INPUT_NAME,
    OUTPUT_NAME,
    WINDOW_OK,
    OnnxContract,
)
from lstm_forecast.timeseries.reference import reference_inputs
from tests.conftest import RAW_CSV


@dataclass(frozen=True)
class Published:
    """The smoke run's published files and sessions on them."""

    project: Path
    forecaster_path: Path
    sidecar_path: Path
    sidecar: dict[str, Any]
    forecaster: ort.InferenceSession
    model: ort.InferenceSession  # model.onnx: scaled window -> scaled quantiles
    contract: OnnxContract  # model.onnx's contract (scaler, features, target)

    @property
    def rows(self) -> int:
        return self.contract.input_length  # context_length + 1

    def run(self, inputs: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        """``close_quantiles`` and ``window_ok`` of the published forecaster."""
        prices, ok = self.forecaster.run([CLOSE_QUANTILES, WINDOW_OK], inputs)
        return prices, ok

    def predict(self, windows: np.ndarray) -> np.ndarray:
        """model.onnx on scaled windows: the network of the Python path, torch-free."""
        return self.model.run([OUTPUT_NAME], {INPUT_NAME: windows})[0]


@pytest.fixture(scope="session")
def published(smoke_project: Path) -> Published:
    models = smoke_project / "data" / "06_models"
    model = onnx.load(models / "model.onnx")
    return Published(
        project=smoke_project,
        forecaster_path=models / "forecaster.onnx",
        sidecar_path=models / "forecaster.json",
        sidecar=json.loads((models / "forecaster.json").read_text()),
        forecaster=ort.InferenceSession(
            str(models / "forecaster.onnx"), providers=["CPUExecutionProvider"]
        ),
        model=ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"]),
        contract=OnnxContract.from_model(model),
    )


def raw_table(csv: Path = RAW_CSV) -> pd.DataFrame:
    """The shipped CSV as a consumer reads it: timestamps are UTC wall-clock text."""
    table = pd.read_csv(csv, index_col=0)
    return table.assign(timestamp=pd.to_datetime(table["timestamp"], utc=True))


def last_window(published: Published, csv: Path = RAW_CSV) -> pd.DataFrame:
    """The CSV's last ``context_length + 1`` rows, oldest first (the forecast origin is last)."""
    return raw_table(csv).tail(published.rows).reset_index(drop=True)


def window_inputs(rows: pd.DataFrame) -> dict[str, np.ndarray]:
    """The forecaster's two input tensors for one window of rows (batch of 1)."""
    return reference_inputs(rows)


def relative_difference(got: np.ndarray, expected: np.ndarray) -> float:
    """Largest ``|got - expected| / |expected|`` over every element."""
    got, expected = np.asarray(got, dtype=np.float64), np.asarray(expected, dtype=np.float64)
    assert got.shape == expected.shape, (got.shape, expected.shape)
    return float((np.abs(got - expected) / np.abs(expected)).max())
