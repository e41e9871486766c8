"""The model registry, the training data every kind gets, and the kinds' defaults, by hand.

The training data is built from a small table whose fingerprints are computed here.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from lstm_forecast import models
from lstm_forecast.errors import LineageError
from lstm_forecast.lineage import fingerprint_frame, fingerprint_json
from lstm_forecast.models.base import ModelKind, TrainingData
from lstm_forecast.models.training_data import training_data
from lstm_forecast.models.training_params import TrainingParams
from lstm_forecast.timeseries.preparation import scaled_arrays, split_windows
from tests.models._data import training_data as synthetic_training_data
from tests.models.mean_kind import KIND as MEAN


def test_the_registry_loads_a_kind_once_by_its_path_and_forgets_it():
    assert models.names() == ["lstm", "ridge"]
    with pytest.raises(KeyError, match=r"No model kind 'arima'; registered kinds: \['lstm'"):
        models.get("arima")
    models.register("mean", "tests.models.mean_kind:KIND")
    try:
        assert models.names() == ["lstm", "ridge", "mean"]
        assert models._REGISTRY["mean"] == "tests.models.mean_kind:KIND"
        assert models.get("mean") is MEAN
        assert models._REGISTRY["mean"] is MEAN  # loaded once, kept
        assert models.get("mean") is MEAN
    finally:
        models.unregister("mean")
    assert models.names() == ["lstm", "ridge"]
    models.unregister("mean")  # twice: no error
    models.register("mean", MEAN)
    try:
        assert models.get("mean") is MEAN
    finally:
        models.unregister("mean")


def test_a_node_bound_to_a_kind_gets_it_as_its_kind_argument():
    def node(table: int, *, kind: str) -> tuple[int, str]:
        return table, kind

    bound = models.for_kind(node, "ridge")
    assert bound(3) == (3, "ridge")
    assert bound.__name__ == "node_ridge"


def _tiny_data() -> TrainingData:
    matrix = np.arange(24, dtype=np.float32).reshape(8, 3)
    targets = np.arange(16, dtype=np.float32).reshape(8, 2)
    return TrainingData(
        matrix=matrix,
        targets=targets,
        train_ends=np.array([2, 3]),
        val_ends=np.array([5]),
        window_length=3,
        feature_names=("a", "b", "c"),
        quantiles=(0.1, 0.5, 0.9),
        seed=1,
        lineage={"features": "f1"},
    )


def test_training_data_describes_itself_and_cuts_contiguous_windows():
    data = _tiny_data()
    assert data.horizon == 2
    windows = data.windows(np.array([2, 5]))
    assert windows.flags["C_CONTIGUOUS"]
    np.testing.assert_array_equal(windows[0], data.matrix[0:3])
    np.testing.assert_array_equal(windows[1], data.matrix[3:6])
    meta = data.describe("lstm")
    assert meta == {
        "kind": "lstm",
        "window_length": 3,
        "feature_names": ["a", "b", "c"],
        "horizon": 2,
        "quantiles": [0.1, 0.5, 0.9],
        "lineage": {"features": "f1"},
    }
    meta["lineage"]["features"] = "changed"
    assert data.lineage == {"features": "f1"}  # a copy, not the data's own dict
    assert TrainingData(**{**data.__dict__, "lineage": {}}).scaler is None


def test_a_kind_by_default_names_onnx_helper_and_one_layout():
    assert ModelKind.exporter(MEAN, None) == "onnx.helper"
    artifact = {"levels": [[1.0, 2.0]]}
    layouts = ModelKind.graph_layouts(MEAN, artifact)
    assert len(layouts) == 1
    np.testing.assert_array_equal(layouts[0]["levels"], np.array([[1.0, 2.0]], np.float32))


@pytest.fixture(scope="module")
def stage_outputs():
    """The features stage's outputs for a small synthetic table, with their lineage."""
    _, table, scaler = synthetic_training_data(rows=120, window_length=4, horizon=2)
    table = table.copy()
    table.attrs = {}
    scaler = dict(scaler) | {"lineage": {"features": fingerprint_frame(table)}}
    matrix, targets = scaled_arrays(table, scaler)
    val_start, test_start = table["timestamp"].iloc[72], table["timestamp"].iloc[96]
    windows = split_windows(table, matrix, targets, 4, val_start, test_start)
    return table, scaler, windows


def test_training_data_is_the_scaled_table_with_its_lineage(stage_outputs):
    table, scaler, windows = stage_outputs
    settings = TrainingParams(seed=5, quantiles=(0.2, 0.5, 0.8))
    data = training_data(table, scaler, windows["train"], windows["val"], settings)
    matrix, targets = scaled_arrays(table, scaler)
    np.testing.assert_array_equal(data.matrix, matrix)
    np.testing.assert_array_equal(data.targets, targets)
    np.testing.assert_array_equal(data.train_ends, windows["train"]["end_row"].to_numpy())
    np.testing.assert_array_equal(data.val_ends, windows["val"]["end_row"].to_numpy())
    assert (data.window_length, data.seed, data.quantiles) == (4, 5, (0.2, 0.5, 0.8))
    assert data.feature_names == tuple(scaler["feature_names"])
    assert data.scaler is scaler
    assert data.lineage == {
        "features": fingerprint_frame(table),
        "scaler": fingerprint_json(scaler),
    }


def test_training_data_refuses_a_scaler_or_windows_of_another_table(stage_outputs):
    table, scaler, windows = stage_outputs
    settings = TrainingParams()
    other = table.copy()
    other.loc[5, "close"] += 1.0
    with pytest.raises(LineageError, match="feature_scaler was made from another features") as err:
        training_data(other, scaler, windows["train"], windows["val"], settings)
    assert str(err.value).endswith("Fix: rerun `kedro run --pipelines=features` before training.")
    shifted = windows["val"].assign(origin_time=windows["val"]["origin_time"] + pd.Timedelta("1h"))
    with pytest.raises(LineageError, match=r"\bval_windows\b"):
        training_data(table, scaler, windows["train"], shifted, settings)
    shifted = windows["train"].assign(
        origin_time=windows["train"]["origin_time"] + pd.Timedelta("1h")
    )
    with pytest.raises(LineageError, match=r"\btrain_windows\b"):
        training_data(table, scaler, shifted, windows["val"], settings)
