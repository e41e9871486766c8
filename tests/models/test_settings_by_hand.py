"""The LSTM kind's settings, the registry and the training data, checked value by value.

Each launch rule of ``relaunch_refusal`` is reached with a stand-in trainer block (the real
``TrainerParams`` runs the same rule while validating), each default and bound of the
parameter models is pinned, and the training data is built from a small table whose
fingerprints are computed here.
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from pydantic import ValidationError

from lstm_forecast import models
from lstm_forecast.errors import LineageError
from lstm_forecast.lineage import fingerprint_frame, fingerprint_json
from lstm_forecast.models import lstm_params
from lstm_forecast.models.base import ModelKind, TrainingData
from lstm_forecast.models.lstm_params import (
    EarlyStoppingParams,
    LoggerParams,
    LstmParams,
    StopParams,
    TrainerParams,
    launched_externally,
    relaunch_refusal,
)
from lstm_forecast.models.training_data import training_data
from lstm_forecast.models.training_params import TrainingParams
from lstm_forecast.timeseries.preparation import scaled_arrays, split_windows
from tests.models._data import training_data as synthetic_training_data
from tests.models.mean_kind import KIND as MEAN

SPREAD = (
    "trainer.strategy='ddp_spawn' starts processes on this machine only, but "
    "trainer.num_nodes=2: for several machines launch `torchrun ... -m "
    "lstm_forecast.models.train_distributed` on each one (README, Scaling up)."
)
AUTO = (
    "trainer.devices='auto': with strategy 'ddp_spawn' give the number of processes to "
    "spawn, e.g. trainer.devices=2."
)


def _rerun(strategy: str, processes: int) -> str:
    return (
        f"trainer.strategy={strategy!r} with {processes} processes would make Lightning re-run "
        "`kedro run` from the start in every extra process (kedro issue #2049). On one "
        "machine set trainer.strategy=ddp_spawn (the training node spawns the workers); "
        "across machines launch `torchrun ... -m lstm_forecast.models.train_distributed` "
        "(README, Scaling up)."
    )


def _trainer(strategy: str = "auto", devices: int | str = 1, num_nodes: int = 1):
    return SimpleNamespace(strategy=strategy, devices=devices, num_nodes=num_nodes)


@pytest.fixture
def one_process(monkeypatch):
    for name in lstm_params.LAUNCH_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_a_launch_needs_both_variables(one_process):
    assert lstm_params.LAUNCH_VARIABLES == ("LOCAL_RANK", "WORLD_SIZE")
    assert not launched_externally()
    one_process.setenv("LOCAL_RANK", "0")
    assert not launched_externally()  # one of the two: not a launcher's process
    one_process.setenv("WORLD_SIZE", "2")
    assert launched_externally()


def test_spawn_refuses_several_machines_and_unnumbered_devices(one_process):
    assert relaunch_refusal(_trainer("ddp_spawn", 2, num_nodes=2)) == SPREAD
    assert relaunch_refusal(_trainer("ddp_spawn", "auto")) == AUTO
    # One machine, a number of workers: the training node spawns them.
    assert relaunch_refusal(_trainer("ddp_spawn", 4, num_nodes=1)) is None
    assert relaunch_refusal(_trainer("ddp_spawn_find_unused_parameters_true", 2)) is None
    # Spawning is a prefix: "ddp" alone re-runs the command.
    assert relaunch_refusal(_trainer("ddp", 2)) == _rerun("ddp", 2)


def test_processes_are_devices_times_nodes_and_auto_counts_as_one(one_process):
    assert relaunch_refusal(_trainer("auto", 1, 1)) is None
    assert relaunch_refusal(_trainer("ddp", 3, 2)) == _rerun("ddp", 6)
    assert relaunch_refusal(_trainer("ddp", "auto", 2)) == _rerun("ddp", 2)
    assert relaunch_refusal(_trainer("ddp", "auto", 1)) is None
    # Lightning's own count wins once it resolved devices="auto".
    assert relaunch_refusal(_trainer("ddp", "auto", 1), world_size=4) == _rerun("ddp", 4)
    assert relaunch_refusal(_trainer("ddp", 8, 1), world_size=1) is None


def test_a_launched_rank_is_never_refused(one_process):
    one_process.setenv("LOCAL_RANK", "1")
    one_process.setenv("WORLD_SIZE", "4")
    assert relaunch_refusal(_trainer("ddp", 2, 2)) is None
    # A spawn across machines stays wrong, launched or not.
    assert relaunch_refusal(_trainer("ddp_spawn", 2, 2)) == SPREAD


def test_trainer_settings_validate_their_launch(one_process):
    with pytest.raises(ValidationError, match="would make Lightning re-run"):
        TrainerParams(strategy="ddp", devices=2)
    assert TrainerParams(strategy="ddp_spawn", devices=2).devices == 2


def test_defaults_are_the_documented_ones():
    assert TrainerParams().model_dump() == {
        "max_epochs": 30,
        "accelerator": "cpu",
        "devices": 1,
        "num_nodes": 1,
        "precision": "32-true",
        "strategy": "auto",
        "gradient_clip_val": 1.0,
        "enable_progress_bar": True,
        "log_every_n_steps": 20,
        "limit_train_batches": 1.0,
    }
    assert StopParams().model_dump() == {"monitor": "val_loss", "mode": "min"}
    assert EarlyStoppingParams().model_dump() == {
        "monitor": "val_loss",
        "mode": "min",
        "patience": 5,
        "min_delta": 0.0,
    }
    assert LoggerParams().model_dump() == {"kind": "csv", "save_dir": "logs", "name": "lstm"}
    params = LstmParams()
    assert params.model_dump(exclude={"trainer", "early_stopping", "checkpoint", "logger"}) == {
        "torch_threads": 1,
        "batch_size": 256,
        "hidden_size": 32,
        "num_layers": 1,
        "dropout": 0.0,
        "learning_rate": 3e-3,
        "weight_decay": 0.0,
        "volatility_scaling": None,
        "volatility_harmonics": 0,
    }
    assert params.scaling_features == []
    assert LstmParams(volatility_scaling="a").scaling_features == ["a"]
    assert LstmParams(volatility_scaling=["a", "b"]).scaling_features == ["a", "b"]


@pytest.mark.parametrize(
    ("model", "field", "lowest_ok", "refused"),
    [
        (TrainerParams, "max_epochs", 1, 0),
        (TrainerParams, "num_nodes", 1, 0),
        (TrainerParams, "gradient_clip_val", 0.0, -0.1),
        (TrainerParams, "log_every_n_steps", 1, 0),
        (TrainerParams, "limit_train_batches", 0.01, 0),
        (EarlyStoppingParams, "patience", 0, -1),
        (EarlyStoppingParams, "min_delta", 0.0, -0.1),
        (LstmParams, "torch_threads", 1, 0),
        (LstmParams, "batch_size", 1, 0),
        (LstmParams, "hidden_size", 1, 0),
        (LstmParams, "num_layers", 1, 0),
        (LstmParams, "dropout", 0.0, -0.1),
        (LstmParams, "dropout", 0.99, 1.0),
        (LstmParams, "learning_rate", 1e-9, 0.0),
        (LstmParams, "weight_decay", 0.0, -0.1),
        (LstmParams, "volatility_harmonics", 0, -1),
        (LstmParams, "volatility_harmonics", 12, 13),
    ],
)
def test_bounds(model, field, lowest_ok, refused):
    assert getattr(model(**{field: lowest_ok}), field) == lowest_ok
    with pytest.raises(ValidationError, match=field):
        model(**{field: refused})


def test_training_settings_validate_each_kinds_block():
    training = TrainingParams.model_validate({"lstm": {"hidden_size": 4}, "ridge": None})
    assert training.seed == 42
    assert training.quantiles == (0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95)
    assert isinstance(training.for_kind("lstm"), LstmParams)
    assert training.for_kind("lstm").hidden_size == 4
    assert training.for_kind("ridge") == models.get("ridge").params_model()
    with pytest.raises(ValidationError, match="unknown key 'lstmm': did you mean 'lstm'"):
        TrainingParams.model_validate({"lstmm": {}})
    with pytest.raises(ValidationError, match="hiden_size"):
        TrainingParams.model_validate({"lstm": {"hiden_size": 4}})


@pytest.mark.parametrize(
    ("levels", "message"),
    [
        ((0.5, 0.1), "must be distinct, ascending"),
        ((0.1, 0.5, 0.5), "must be distinct, ascending"),
        ((0.0, 0.5), "in \\(0, 1\\)"),
        ((0.5, 1.0), "in \\(0, 1\\)"),
        ((0.1, 0.9), "must include the median 0.5"),
    ],
)
def test_quantile_levels_are_refused_unless_distinct_ascending_inside_and_with_the_median(
    levels, message
):
    with pytest.raises(ValidationError, match=message):
        TrainingParams(quantiles=levels)
    assert TrainingParams(quantiles=(0.01, 0.5, 0.99)).quantiles == (0.01, 0.5, 0.99)


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
