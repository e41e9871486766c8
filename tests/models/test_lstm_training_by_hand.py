"""One process's LSTM fit on a tiny series (a few dozen windows, two or three epochs), and
the Lightning pieces around it: what the Trainer is given (read by an extra callback at fit
start), the epoch history, the loggers and the portable checkpoint.
"""

from __future__ import annotations

import logging
import math
import os
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from pytorch_lightning import Callback
from pytorch_lightning.callbacks import EarlyStopping, ModelCheckpoint, ModelSummary
from pytorch_lightning.loggers import CSVLogger, TensorBoardLogger

from lstm_forecast.models import lstm_training
from lstm_forecast.models.callbacks import extra_callbacks
from lstm_forecast.models.lstm_params import LoggerParams, LstmParams
from lstm_forecast.models.lstm_training import EpochHistory, make_logger, portable, train_rank
from tests.models._data import training_data

BATCH = 16


def _params(**values) -> LstmParams:
    return LstmParams.model_validate(
        {
            "hidden_size": 3,
            "batch_size": BATCH,
            "learning_rate": 0.02,
            "weight_decay": 0.001,
            "dropout": 0.1,
            "num_layers": 2,
            "torch_threads": 1,
            "trainer": {"max_epochs": 2, "enable_progress_bar": False, "log_every_n_steps": 20},
            "early_stopping": {"patience": 3, "min_delta": 0.001},
            "logger": {"kind": "none"},
        }
        | values
    )


class _Seen(Callback):
    """Records what the Trainer was built with, at the start of the fit."""

    def on_fit_start(self, trainer, pl_module) -> None:
        self.trainer = trainer
        self.callbacks = list(trainer.callbacks)
        self.deterministic = torch.are_deterministic_algorithms_enabled()
        self.threads = torch.get_num_threads()
        self.root = trainer.default_root_dir
        self.hparams = dict(pl_module.hparams)


@pytest.fixture
def fitted(monkeypatch, caplog):
    """A fit, per test: mutmut links a function only to the test whose run first calls it,
    so a module-scoped fit would reach the later tests' assertions for no mutant.

    Process-wide state the fit must set is reset first: mutmut forks each mutant's tests
    from a process that trained already (deterministic algorithms on, seeds in os.environ).
    """
    data, _, _ = training_data(rows=90, window_length=4, horizon=2, seed=3)
    seen = _Seen()
    monkeypatch.setenv("PL_SEED_WORKERS", "0")
    torch.use_deterministic_algorithms(False)
    torch.set_num_threads(2)
    try:
        with extra_callbacks(seen), caplog.at_level(logging.INFO):
            started = time.perf_counter()
            trained = train_rank(data, _params())
            elapsed = time.perf_counter() - started
    finally:
        torch.set_num_threads(1)
    seen.workers_seeded = os.environ["PL_SEED_WORKERS"]
    seen.seed_lines = [m for m in caplog.messages if "Seed set" in m]
    seen.elapsed = elapsed
    return data, seen, trained


def test_the_trainer_gets_the_settings_and_the_callbacks(fitted):
    data, seen, _ = fitted
    batches = math.ceil(len(data.train_ends) / BATCH)
    assert len(data.train_ends) % BATCH != 0  # so a floor division would differ
    trainer = seen.trainer
    assert trainer.log_every_n_steps == min(20, batches)
    assert trainer.max_epochs == 2
    assert seen.deterministic and seen.threads == 1
    assert seen.workers_seeded == "1" and seen.seed_lines == []
    assert trainer.logger is None  # logger kind none, and no tracked run
    assert not any(isinstance(c, ModelSummary) for c in seen.callbacks)
    (best,) = [c for c in seen.callbacks if isinstance(c, ModelCheckpoint)]
    assert (best.monitor, best.mode, best.save_top_k, best.filename) == (
        "val_loss",
        "min",
        1,
        "best",
    )
    assert Path(best.dirpath).name.startswith(f"lstm-forecast-ckpt-{os.getpid()}-")
    assert seen.root == best.dirpath and not Path(best.dirpath).exists()  # removed after
    (stop,) = [c for c in seen.callbacks if isinstance(c, EarlyStopping)]
    assert (stop.monitor, stop.patience, stop.min_delta) == ("val_loss", 3, -0.001)
    assert stop.mode == "min"
    assert [type(c) for c in seen.callbacks].count(EpochHistory) == 1
    assert seen in seen.callbacks
    assert seen.hparams == {
        "n_features": len(data.feature_names),
        "horizon": 2,
        "quantiles": [0.1, 0.5, 0.9],
        "hidden_size": 3,
        "num_layers": 2,
        "dropout": 0.1,
        "learning_rate": 0.02,
        "weight_decay": 0.001,
        "window_length": 4,
        "feature_names": list(data.feature_names),
        "volatility_scaling": None,
    }


def test_the_fit_returns_the_best_epoch_its_history_and_a_summary(fitted):
    data, seen, trained = fitted
    history = trained.history
    assert list(history.columns) == ["epoch", "train_loss", "val_loss"]
    assert history["epoch"].tolist() == [0, 1]
    assert (history["train_loss"] > 0).all() and (history["val_loss"] > 0).all()
    summary = trained.summary
    seconds = summary.pop("train_seconds")
    assert isinstance(seconds, float) and round(seconds, 2) == seconds
    assert 0 < seconds <= seen.elapsed + 0.01
    assert summary == {
        "epochs_run": 2,
        "best_epoch": int(history["val_loss"].idxmin()),
        "best_val_loss": pytest.approx(history["val_loss"].min(), rel=1e-6),
        "train_windows": len(data.train_ends),
        "val_windows": len(data.val_ends),
        "seed": 3,
        "world_size": 1,
    }
    artifact = trained.artifact
    assert artifact["epoch"] == summary["best_epoch"]
    assert set(artifact) == {
        "epoch",
        "global_step",
        "pytorch-lightning_version",
        "state_dict",
        "hyper_parameters",
        "optimizer_states",
    }
    assert artifact["global_step"] == math.ceil(len(data.train_ends) / BATCH) * (
        summary["best_epoch"] + 1
    )


def test_the_same_seed_gives_the_same_weights_and_another_seed_others():
    data, _, _ = training_data(rows=60, window_length=3, horizon=1, seed=3)
    other, _, _ = training_data(rows=60, window_length=3, horizon=1, seed=4)
    # One batch an epoch (fewer windows than the batch size): logging every step.
    params = _params(batch_size=256, trainer={"max_epochs": 1, "enable_progress_bar": False})
    seen = _Seen()
    with extra_callbacks(seen):
        first = train_rank(data, params).artifact["state_dict"]
    assert len(data.train_ends) < 256 and seen.trainer.log_every_n_steps == 1
    again = train_rank(data, params).artifact["state_dict"]
    assert all(torch.equal(first[name], again[name]) for name in first)
    reseeded = train_rank(other, params).artifact["state_dict"]
    assert not torch.equal(first["head.weight"], reseeded["head.weight"])


def test_a_volatility_scaled_fit_starts_from_the_training_regression():
    data, _, _ = training_data(rows=60, window_length=3, horizon=1)
    params = _params(volatility_scaling=["log_high_low"], trainer={"max_epochs": 1})
    trained = train_rank(data, params)
    settings = trained.artifact["hyper_parameters"]["volatility_scaling"]
    assert settings == lstm_training._scaling(data, params)
    assert settings["features"] == ["log_high_low"]
    assert "volatility.intercept" in trained.artifact["state_dict"]


def test_a_refused_launch_stops_before_the_fit(monkeypatch):
    data, _, _ = training_data(rows=60, window_length=3, horizon=1)
    seen = []
    monkeypatch.setattr(
        lstm_training, "relaunch_refusal", lambda *args: seen.append(args) or "no, because"
    )
    started = _Seen()
    params = _params()
    with pytest.raises(ValueError, match=r"^no, because$"), extra_callbacks(started):
        train_rank(data, params)
    assert seen == [(params.trainer, 1)]
    assert not hasattr(started, "trainer")


def test_the_volatility_head_is_fit_on_the_training_windows(monkeypatch):
    data, _, _ = training_data(rows=60, window_length=3, horizon=1)
    assert lstm_training._scaling(data, _params()) is None
    calls = []
    monkeypatch.setattr(
        lstm_training, "scaling_settings", lambda *args: calls.append(args) or {"s": 1}
    )
    params = _params(volatility_scaling=["a", "b"], volatility_harmonics=2)
    assert lstm_training._scaling(data, params) == {"s": 1}
    ((names, features, scaler, matrix, targets, ends, count),) = calls
    assert (names, features, scaler, count) == (["a", "b"], data.feature_names, data.scaler, 2)
    assert matrix is data.matrix and targets is data.targets and ends is data.train_ends


def test_the_epoch_history_reads_both_losses():
    history = EpochHistory()
    module = SimpleNamespace(epoch_train_loss=0.5)
    history.on_train_epoch_end(SimpleNamespace(current_epoch=3, callback_metrics={}), module)
    metrics = {"val_loss": torch.tensor(0.25)}
    history.on_train_epoch_end(SimpleNamespace(current_epoch=4, callback_metrics=metrics), module)
    assert history.rows[1] == {"epoch": 4, "train_loss": 0.5, "val_loss": 0.25}
    assert history.rows[0]["epoch"] == 3 and math.isnan(history.rows[0]["val_loss"])
    assert EpochHistory().rows == []


def test_the_offline_logger_and_the_tracked_one(monkeypatch, tmp_path):
    monkeypatch.setattr(lstm_training.tracking, "lightning_logger", lambda: None)
    csv = make_logger(LoggerParams(kind="csv", save_dir=str(tmp_path), name="n"))
    assert isinstance(csv, CSVLogger)
    assert (csv.save_dir, csv.name) == (str(tmp_path), "n")
    board = make_logger(LoggerParams(kind="tensorboard", save_dir=str(tmp_path), name="m"))
    assert isinstance(board, TensorBoardLogger)
    assert (board.save_dir, board.name) == (str(tmp_path), "m")
    assert make_logger(LoggerParams(kind="none")) is False
    tracked = object()
    monkeypatch.setattr(lstm_training.tracking, "lightning_logger", lambda: tracked)
    assert make_logger(LoggerParams(kind="none")) == [tracked]
    both = make_logger(LoggerParams(kind="csv", save_dir=str(tmp_path)))
    assert isinstance(both[0], CSVLogger) and both[1] is tracked and len(both) == 2


def test_a_portable_checkpoint_holds_plain_types_only():
    state = {"w": torch.ones(2)}
    checkpoint = {
        "epoch": np.int64(3),
        "global_step": np.int64(12),
        "pytorch-lightning_version": 2,
        "state_dict": state,
        "hyper_parameters": {"quantiles": (0.1, 0.9), "hidden_size": 4, "names": ["a"]},
        "optimizer_states": [{"lr": 1}],
        "callbacks": {"dropped": True},
    }
    result = portable(checkpoint)
    assert result == {
        "epoch": 3,
        "global_step": 12,
        "pytorch-lightning_version": "2",
        "state_dict": state,
        "hyper_parameters": {"quantiles": [0.1, 0.9], "hidden_size": 4, "names": ["a"]},
        "optimizer_states": [{"lr": 1}],
    }
    assert type(result["epoch"]) is int and type(result["global_step"]) is int
    assert result["state_dict"] is not state
    del checkpoint["optimizer_states"]
    assert portable(checkpoint)["optimizer_states"] == []
