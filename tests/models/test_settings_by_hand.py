"""The LSTM kind's settings and the training settings, checked value by value.

Each launch rule of ``relaunch_refusal`` is reached with a stand-in trainer block (the real
``TrainerParams`` runs the same rule while validating), each default and bound of the
parameter models is pinned (the registry and the training data:
test_training_data_by_hand.py).
"""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from pydantic import ValidationError

from lstm_forecast import models
from lstm_forecast.models import lstm_params
from lstm_forecast.models.lstm_params import (
    EarlyStoppingParams,
    LoggerParams,
    LstmParams,
    StopParams,
    TrainerParams,
    launched_externally,
    relaunch_refusal,
)
from lstm_forecast.models.training_params import TrainingParams

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
