"""The LSTM forecaster as a LightningModule."""

from __future__ import annotations

from typing import Any

import pytorch_lightning as pl
import torch
from torch import nn


class LSTMForecaster(pl.LightningModule):
    """Predict the scaled next-bar target from a window of scaled features.

    Input ``window``: ``[batch, window_length, n_features]`` float32.
    Output ``forecast``: ``[batch, 1]`` float32, the scaled target.
    """

    def __init__(
        self,
        n_features: int,
        hidden_size: int = 32,
        num_layers: int = 1,
        dropout: float = 0.0,
        learning_rate: float = 1e-3,
        weight_decay: float = 0.0,
        window_length: int | None = None,
        feature_names: list[str] | None = None,
    ) -> None:
        super().__init__()
        # window_length and feature_names are not used by the network; they travel in the
        # checkpoint so that export can describe the model without other inputs.
        self.save_hyperparameters()
        self.lstm = nn.LSTM(
            input_size=n_features,
            hidden_size=hidden_size,
            num_layers=num_layers,
            batch_first=True,
            dropout=dropout if num_layers > 1 else 0.0,
        )
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(hidden_size, 1)
        self.loss = nn.MSELoss()
        self.on_train_epoch_start()

    def forward(self, window: torch.Tensor) -> torch.Tensor:
        """Forecast from the LSTM state after the last bar of each window."""
        sequence, _ = self.lstm(window)
        return self.head(self.dropout(sequence[:, -1, :]))

    def _step_loss(self, batch: tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
        windows, targets = batch
        return self.loss(self(windows).squeeze(-1), targets)

    def on_train_epoch_start(self) -> None:
        self._loss_sum = torch.zeros(())
        self._loss_windows = 0

    def training_step(
        self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int
    ) -> torch.Tensor:
        loss = self._step_loss(batch)
        # Summed here and logged once an epoch: a `self.log` every step costs about a
        # millisecond, as much as a whole step of this small model (benchmarks/bench_training.py).
        self._loss_sum += loss.detach() * len(batch[1])
        self._loss_windows += len(batch[1])
        return loss

    @property
    def epoch_train_loss(self) -> float:
        """Mean training loss over the windows of the current (or last) epoch."""
        return float(self._loss_sum / max(self._loss_windows, 1))

    def on_train_epoch_end(self) -> None:
        self.log("train_loss", self.epoch_train_loss, prog_bar=True)

    def validation_step(self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int) -> None:
        self.log("val_loss", self._step_loss(batch), on_step=False, on_epoch=True, prog_bar=True)

    def configure_optimizers(self) -> Any:
        return torch.optim.Adam(
            self.parameters(),
            lr=self.hparams.learning_rate,
            weight_decay=self.hparams.weight_decay,
        )


def model_from_checkpoint(checkpoint: dict[str, Any]) -> LSTMForecaster:
    """Rebuild the trained model, in eval mode, from a loaded checkpoint dict.

    Args:
        checkpoint: What the ``model_checkpoint`` dataset loads.

    Returns:
        The model with the checkpoint's weights, ``eval()`` already called (checkpoints
        load in train mode, which would keep dropout active).
    """
    model = LSTMForecaster(**checkpoint["hyper_parameters"])
    model.load_state_dict(checkpoint["state_dict"])
    return model.eval()
