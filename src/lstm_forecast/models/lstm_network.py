"""The LSTM forecaster as a LightningModule, and the windows it trains on as a DataModule."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytorch_lightning as pl
import torch
from torch import nn
from torch.nn import functional
from torch.utils.data import DataLoader, Dataset

from lstm_forecast.timeseries.windows import gather_windows

from .volatility_scaling import VolatilityScale, standard_start


class LSTMForecaster(pl.LightningModule):
    """Forecast every horizon step and quantile at once from a window of scaled features.

    Input ``window``: ``[batch, window_length, n_features]`` float32.
    Output ``forecast``: ``[batch, horizon, n_quantiles]`` float32, scaled targets, with
    quantiles that never cross: the lowest is free and each next one adds a softplus
    (non-negative) increment, so monotonicity holds by construction, not by sorting.
    """

    def __init__(
        self,
        n_features: int,
        horizon: int = 1,
        quantiles: tuple[float, ...] | list[float] = (0.5,),
        hidden_size: int = 32,
        num_layers: int = 1,
        dropout: float = 0.0,
        learning_rate: float = 1e-3,
        weight_decay: float = 0.0,
        window_length: int | None = None,
        feature_names: list[str] | None = None,
        volatility_scaling: dict[str, Any] | None = None,
    ) -> None:  # pragma: no mutate block
        # window_length and feature_names are not used by the network; they travel in the
        # checkpoint so that export can describe the model without other inputs.
        # volatility_scaling: None, or ``volatility_scaling.scaling_settings`` (the head's
        # quantiles are then standardised and scaled by a log-variance regression).
        # save_hyperparameters reads the arguments from the calling frame, which must be a
        # function named __init__; mutmut renames the functions it mutates, so __init__ only
        # records them (unmutated) and _build makes the layers (mutated, `make mutation`).
        super().__init__()
        self.save_hyperparameters()
        self._build(
            n_features, horizon, quantiles, hidden_size, num_layers, dropout, volatility_scaling
        )

    def _build(
        self,
        n_features: int,
        horizon: int,
        quantiles: tuple[float, ...] | list[float],
        hidden_size: int,
        num_layers: int,
        dropout: float,
        volatility_scaling: dict[str, Any] | None,
    ) -> None:
        """The LSTM, the monotone head and (optionally) the volatility-scaled output."""
        self.n_quantiles = len(quantiles)
        self.horizon = horizon
        self.lstm = nn.LSTM(
            input_size=n_features,
            hidden_size=hidden_size,
            num_layers=num_layers,
            batch_first=True,
            dropout=dropout if num_layers > 1 else 0.0,
        )
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(hidden_size, horizon * self.n_quantiles)
        self.register_buffer("levels", torch.tensor(list(quantiles), dtype=torch.float32))
        self.volatility = None
        if volatility_scaling is not None:
            self.volatility = VolatilityScale(hidden_size, horizon, volatility_scaling)
            if self.n_quantiles > 1:
                # Starts as the regression's Gaussian forecast, whatever the window: z at the
                # standard normal quantiles, no weight on the state (a lower validation loss
                # at 2 of 3 seeds than the default init, README "Features").
                with torch.no_grad():
                    self.head.bias.copy_(standard_start(self.levels).repeat(horizon))
                    self.head.weight.zero_()
        self.on_train_epoch_start()

    def forward(self, window: torch.Tensor) -> torch.Tensor:
        """Quantile forecasts from the LSTM state after the last bar of each window."""
        sequence, _ = self.lstm(window)
        state = self.dropout(sequence[:, -1, :])
        raw = self.head(state).unflatten(-1, (self.horizon, self.n_quantiles))
        if self.n_quantiles > 1:
            increments = functional.softplus(raw[..., 1:])
            raw = torch.cat([raw[..., :1], raw[..., :1] + torch.cumsum(increments, dim=-1)], -1)
        if self.volatility is None:
            return raw
        return self.volatility(window, state, raw)

    def pinball_loss(self, forecast: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        """Mean multi-quantile pinball loss over every horizon step and quantile."""
        error = targets.unsqueeze(-1) - forecast
        return torch.maximum(self.levels * error, (self.levels - 1.0) * error).mean()

    def _step_loss(self, batch: tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
        windows, targets = batch
        return self.pinball_loss(self(windows), targets)

    def on_train_epoch_start(self) -> None:
        self._loss_sum = torch.zeros(())
        self._loss_windows = 0
        self._epoch_loss: float | None = None

    def training_step(
        self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int
    ) -> torch.Tensor:
        loss = self._step_loss(batch)
        # Summed here and logged once an epoch: a `self.log` every step costs about a
        # millisecond, as much as a whole step of this small model (benchmarks/bench_training.py).
        self._loss_sum += loss.detach() * len(batch[1])
        self._loss_windows += len(batch[1])
        self._epoch_loss = None
        return loss

    @property
    def epoch_train_loss(self) -> float:
        """Mean training loss over the windows of the current (or last) epoch, every rank's
        windows included under DDP (the same value on every rank)."""
        if self._epoch_loss is None:
            totals = torch.stack([self._loss_sum, torch.tensor(float(self._loss_windows))])
            if self._trainer is not None and self.trainer.world_size > 1:
                # A collective: every rank reads this property at the same point of the epoch
                # (EpochHistory, then on_train_epoch_end), and the result is kept until the next.
                totals = self.trainer.strategy.reduce(totals, reduce_op="sum")
            self._epoch_loss = float(totals[0] / max(float(totals[1]), 1.0))
        return self._epoch_loss

    def on_train_epoch_end(self) -> None:
        # Already the mean over all ranks; sync_dist keeps Lightning from warning under DDP.
        self.log("train_loss", self.epoch_train_loss, prog_bar=True, sync_dist=True)

    def validation_step(self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int) -> None:
        # sync_dist: every rank checkpoints and early-stops on the mean over all ranks.
        self.log(
            "val_loss",
            self._step_loss(batch),
            on_step=False,
            on_epoch=True,
            prog_bar=True,
            sync_dist=True,
        )

    def configure_optimizers(self) -> Any:
        return torch.optim.Adam(
            self.parameters(),
            lr=self.hparams.learning_rate,
            weight_decay=self.hparams.weight_decay,
        )


def model_from_checkpoint(checkpoint: dict[str, Any]) -> LSTMForecaster:
    """Rebuild the trained model, in eval mode, from a loaded checkpoint dict.

    Checkpoints load in train mode, which would keep dropout active; ``eval()`` is called.
    """
    model = LSTMForecaster(**checkpoint["hyper_parameters"])
    model.load_state_dict(checkpoint["state_dict"])
    return model.eval()


class WindowDataset(Dataset):
    """The windows ending at ``end_rows``; a batch is copied out only when it is asked for."""

    def __init__(
        self, matrix: np.ndarray, targets: np.ndarray, end_rows: np.ndarray, window_length: int
    ) -> None:
        self.matrix = matrix
        self.targets = targets
        self.end_rows = np.asarray(end_rows, dtype=np.int64)
        self.window_length = window_length

    def __len__(self) -> int:
        return len(self.end_rows)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        windows, targets = self.__getitems__([index])
        return windows[0], targets[0]

    def __getitems__(self, indices: list[int]) -> tuple[torch.Tensor, torch.Tensor]:
        # DataLoader calls this with a whole batch of indices: one vectorised gather.
        ends = self.end_rows[np.asarray(indices)]
        windows = gather_windows(self.matrix, ends, self.window_length)
        return torch.from_numpy(windows), torch.from_numpy(self.targets[ends])


def _keep_batch(batch: tuple[torch.Tensor, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
    return batch


class WindowDataModule(pl.LightningDataModule):
    """Train and validation loaders over one scaled feature matrix (no per-window copies).

    Under DDP, Lightning (``use_distributed_sampler``, on by default) swaps each loader's
    sampler for a ``DistributedSampler`` seeded by ``seed_everything``: every rank draws its
    own shard of the window end rows from the same matrix, which is not copied.
    """

    def __init__(
        self,
        matrix: np.ndarray,
        targets: np.ndarray,
        train_end_rows: np.ndarray,
        val_end_rows: np.ndarray,
        window_length: int,
        batch_size: int,
    ) -> None:
        super().__init__()
        self.matrix = np.ascontiguousarray(matrix, dtype=np.float32)
        self.targets = np.ascontiguousarray(targets, dtype=np.float32)
        self.end_rows = {"train": train_end_rows, "val": val_end_rows}
        self.window_length = window_length
        self.batch_size = batch_size

    def _loader(self, split: str, shuffle: bool) -> DataLoader:
        dataset = WindowDataset(self.matrix, self.targets, self.end_rows[split], self.window_length)
        return DataLoader(
            dataset, batch_size=self.batch_size, shuffle=shuffle, collate_fn=_keep_batch
        )

    def train_dataloader(self) -> DataLoader:
        return self._loader("train", shuffle=True)

    def val_dataloader(self) -> DataLoader:
        return self._loader("val", shuffle=False)
