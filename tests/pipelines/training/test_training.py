"""Training: a real Lightning Trainer on small data, reproducible under a seed."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from lstm_forecast.pipelines.features.nodes import (
    build_features,
    fit_scaler,
    make_windows,
    split_chronologically,
)
from lstm_forecast.pipelines.training.datamodule import WindowDataModule, WindowDataset
from lstm_forecast.pipelines.training.model import model_from_checkpoint
from lstm_forecast.pipelines.training.nodes import train_lstm, train_ridge
from tests.synthetic import make_candles

WINDOW = 8
FEATURES = {
    "window_length": WINDOW,
    "target": "log_return",
    "split": {"train_fraction": 0.6, "val_fraction": 0.2, "val_start": None, "test_start": None},
}
TRAINING = {
    "seed": 7,
    "torch_threads": 1,
    "batch_size": 32,
    "model": {
        "hidden_size": 4,
        "num_layers": 1,
        "dropout": 0.0,
        "learning_rate": 0.01,
        "weight_decay": 0.0,
    },
    "trainer": {
        "max_epochs": 2,
        "accelerator": "cpu",
        "devices": 1,
        "precision": "32-true",
        "strategy": "auto",
        "gradient_clip_val": 1.0,
        "enable_progress_bar": False,
        "log_every_n_steps": 1,
    },
    "early_stopping": {"monitor": "val_loss", "mode": "min", "patience": 1},
    "checkpoint": {"monitor": "val_loss", "mode": "min"},
    "logger": {"kind": "none"},
}


@pytest.fixture(scope="module")
def model_inputs():
    table = build_features(make_candles(400, gaps={200: 2}), FEATURES)
    boundaries = split_chronologically(table, FEATURES)
    scaler = fit_scaler(table, boundaries, FEATURES)
    return make_windows(table, scaler, boundaries, WINDOW)


@pytest.fixture(scope="module")
def trained(model_inputs):
    scaled, train, val, _ = model_inputs
    return train_lstm(scaled, train, val, TRAINING, WINDOW)


def _predict(checkpoint, scaled, windows):
    feature_names = [c for c in scaled.columns if c != "target"]
    dataset = WindowDataset(
        scaled[feature_names].to_numpy(),
        scaled["target"].to_numpy(),
        windows["end_row"].to_numpy(),
        WINDOW,
    )
    batch, _ = dataset.__getitems__(list(range(len(dataset))))
    with torch.inference_mode():
        return model_from_checkpoint(checkpoint)(batch).numpy()


def test_training_returns_the_best_checkpoint_and_its_history(trained):
    checkpoint, history, summary = trained
    assert set(checkpoint) >= {"state_dict", "hyper_parameters", "epoch"}
    assert checkpoint["hyper_parameters"]["window_length"] == WINDOW
    assert len(history) == summary["epochs_run"] == 2
    assert summary["best_val_loss"] == pytest.approx(history["val_loss"].min(), rel=1e-6)
    assert summary["best_epoch"] == int(history["val_loss"].idxmin())


def test_same_seed_and_data_give_bitwise_identical_predictions(model_inputs, trained):
    scaled, train, val, test = model_inputs
    again, _, _ = train_lstm(scaled, train, val, TRAINING, WINDOW)
    first, second = _predict(trained[0], scaled, test), _predict(again, scaled, test)
    assert first.tobytes() == second.tobytes()
    for name, tensor in trained[0]["state_dict"].items():
        assert torch.equal(tensor, again["state_dict"][name]), name


def test_another_seed_gives_another_model(model_inputs, trained):
    scaled, train, val, test = model_inputs
    other, _, _ = train_lstm(scaled, train, val, {**TRAINING, "seed": 8}, WINDOW)
    assert not np.array_equal(_predict(trained[0], scaled, test), _predict(other, scaled, test))


def test_checkpoint_loads_in_eval_mode(trained):
    assert not model_from_checkpoint(trained[0]).training


def test_datamodule_batches_match_single_windows(model_inputs):
    scaled, train, val, _ = model_inputs
    names = [c for c in scaled.columns if c != "target"]
    module = WindowDataModule(
        scaled[names].to_numpy(),
        scaled["target"].to_numpy(),
        train["end_row"].to_numpy(),
        val["end_row"].to_numpy(),
        WINDOW,
        batch_size=16,
    )
    windows, targets = next(iter(module.val_dataloader()))
    assert windows.shape == (16, WINDOW, len(names)) and windows.dtype == torch.float32
    first_end = val["end_row"].iloc[0]
    np.testing.assert_array_equal(
        windows[0].numpy(), scaled[names].to_numpy()[first_end - WINDOW + 1 : first_end + 1]
    )
    assert targets[0].item() == pytest.approx(scaled["target"].iloc[first_end])


def test_ridge_baseline_fits_the_same_windows(model_inputs):
    scaled, train, _, _ = model_inputs
    ridge = train_ridge(scaled, train, {"alpha": 1.0}, WINDOW)
    assert ridge.window_length_ == WINDOW
    assert ridge.n_features_in_ == WINDOW * len(ridge.feature_names_)
