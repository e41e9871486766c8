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

    def forward(self, window: torch.Tensor) -> torch.Tensor:
        """Forecast from the LSTM state after the last bar of each window."""
        sequence, _ = self.lstm(window)
        return self.head(self.dropout(sequence[:, -1, :]))

    def _step_loss(self, batch: tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
        windows, targets = batch
        return self.loss(self(windows).squeeze(-1), targets)

    def training_step(
        self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int
    ) -> torch.Tensor:
        loss = self._step_loss(batch)
        self.log("train_loss", loss, on_step=False, on_epoch=True, prog_bar=True)
        return loss

    def validation_step(self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int) -> None:
        self.log("val_loss", self._step_loss(batch), on_step=False, on_epoch=True, prog_bar=True)

    def predict_step(
        self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int
    ) -> torch.Tensor:
        return self(batch[0])

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
