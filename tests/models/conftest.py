"""A small untrained LSTM checkpoint and its exports, shared by the model tests."""

from __future__ import annotations

import pytest
import torch

from lstm_forecast.models.lstm_export import export_checkpoint
from lstm_forecast.models.lstm_network import LSTMForecaster

WINDOW = 12
N_FEATURES = 6
HORIZON = 4
QUANTILES = (0.1, 0.5, 0.9)
DYNAMO = {
    "exporter": "dynamo",
    "opset": 18,
    "dynamic_window": True,
    "isolate_process": True,
}


def make_checkpoint(window_length: int = WINDOW, dropout: float = 0.5, seed: int = 0) -> dict:
    """A checkpoint dict as the training node returns it, with random weights and dropout."""
    torch.manual_seed(seed)
    model = LSTMForecaster(
        n_features=N_FEATURES,
        horizon=HORIZON,
        quantiles=QUANTILES,
        hidden_size=8,
        dropout=dropout,
        window_length=window_length,
    )
    return {
        "epoch": 0,
        "global_step": 0,
        "pytorch-lightning_version": "test",
        "state_dict": model.state_dict(),
        "hyper_parameters": dict(model.hparams),
    }


@pytest.fixture(scope="session")
def checkpoint() -> dict:
    return make_checkpoint()


@pytest.fixture(scope="session")
def dynamo_export(checkpoint):
    return export_checkpoint(checkpoint, DYNAMO)
