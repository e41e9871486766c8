"""The LSTM kind: non-crossing quantiles, pinball loss, early stopping, reproducibility."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from lstm_forecast import models
from lstm_forecast.models.lstm_network import LSTMForecaster, WindowDataset
from lstm_forecast.models.lstm_params import LstmParams
from tests.models._data import training_data

QUICK = {
    "hidden_size": 4,
    "batch_size": 32,
    "learning_rate": 0.01,
    "trainer": {"max_epochs": 2, "enable_progress_bar": False, "log_every_n_steps": 1},
    "early_stopping": {"patience": 1},
    "logger": {"kind": "none"},
}


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_quantiles_never_cross_on_random_weights_and_inputs(seed):
    torch.manual_seed(seed)
    model = LSTMForecaster(
        n_features=5,
        horizon=6,
        quantiles=(0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95),
        hidden_size=16,
    )
    # Large random weights make raw head outputs of both signs and large magnitudes.
    with torch.no_grad():
        model.head.weight.mul_(50.0)
    window = torch.randn(256, 10, 5) * 5
    forecast = model.eval()(window)
    assert forecast.shape == (256, 6, 7)
    assert bool((forecast.diff(dim=-1) >= 0).all())


def test_pinball_loss_against_a_hand_computed_case():
    model = LSTMForecaster(n_features=1, horizon=1, quantiles=(0.1, 0.9))
    forecast = torch.tensor([[[0.0, 2.0]]])
    target = torch.tensor([[1.0]])
    # tau 0.1: y above q by 1 -> 0.1 * 1; tau 0.9: y below q by 1 -> (1 - 0.9) * 1.
    assert model.pinball_loss(forecast, target).item() == pytest.approx((0.1 + 0.1) / 2)
    forecast = torch.tensor([[[2.0, 0.0]]])
    # tau 0.1, y below q by 1 -> 0.9; tau 0.9, y above q by 1 -> 0.9.
    assert model.pinball_loss(forecast, target).item() == pytest.approx(0.9)


def test_a_batch_is_gathered_from_the_matrix_without_copying_every_window():
    data, _, _ = training_data()
    dataset = WindowDataset(data.matrix, data.targets, data.train_ends, data.window_length)
    windows, targets = dataset.__getitems__([0, 5])
    end = data.train_ends[5]
    np.testing.assert_array_equal(
        windows[1].numpy(), data.matrix[end - data.window_length + 1 : end + 1]
    )
    np.testing.assert_array_equal(targets[1].numpy(), data.targets[end])


def test_the_same_seed_trains_the_same_weights_and_another_does_not():
    data, _, _ = training_data()
    kind = models.get("lstm")
    params = LstmParams.model_validate(QUICK)
    first = kind.fit(data, params).artifact["state_dict"]
    second = kind.fit(data, params).artifact["state_dict"]
    other = kind.fit(training_data(seed=8)[0], params).artifact["state_dict"]
    assert all(torch.equal(first[name], second[name]) for name in first)
    assert not all(torch.equal(first[name], other[name]) for name in first)


def test_early_stopping_keeps_the_best_epoch_not_the_last():
    data, _, _ = training_data()
    params = LstmParams.model_validate(
        QUICK
        | {
            "learning_rate": 0.05,
            "hidden_size": 16,
            "trainer": {"max_epochs": 40, "enable_progress_bar": False, "log_every_n_steps": 1},
            "early_stopping": {"patience": 2},
        }
    )
    trained = models.get("lstm").fit(data, params)
    summary = trained.summary
    assert summary["epochs_run"] < 40  # early stopping fired
    assert summary["best_epoch"] == summary["epochs_run"] - 1 - 2
    assert trained.history["val_loss"].idxmin() == summary["best_epoch"]
    # The weights returned are the best epoch's: their validation loss is the best one.
    predict = models.get("lstm").predictor(trained.artifact)
    forecast = torch.from_numpy(predict(data.windows(data.val_ends)))
    model = LSTMForecaster(n_features=6, horizon=3, quantiles=data.quantiles)
    val_loss = model.pinball_loss(forecast, torch.from_numpy(data.targets[data.val_ends]))
    assert val_loss.item() == pytest.approx(summary["best_val_loss"], rel=1e-5)
    assert val_loss.item() < trained.history["val_loss"].iloc[-1]
