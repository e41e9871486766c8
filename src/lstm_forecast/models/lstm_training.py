"""Lightning pieces around the LSTM's fit: epoch history, offline logger, portable checkpoint."""

from __future__ import annotations

from typing import Any

import pytorch_lightning as pl
from pytorch_lightning.callbacks import Callback
from pytorch_lightning.loggers import CSVLogger, Logger, TensorBoardLogger

from lstm_forecast import tracking


class EpochHistory(Callback):
    """Keeps the epoch losses in memory, so the curves become a catalog dataset."""

    def __init__(self) -> None:
        self.rows: list[dict[str, float]] = []

    def on_train_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        # Callbacks run before the module's own on_train_epoch_end, which logs train_loss.
        self.rows.append(
            {
                "epoch": trainer.current_epoch,
                "train_loss": pl_module.epoch_train_loss,
                "val_loss": float(trainer.callback_metrics.get("val_loss", float("nan"))),
            }
        )


def make_logger(settings: Any) -> Logger | list[Logger] | bool:
    """The offline logger ``settings.kind`` names (csv | tensorboard | none), plus the
    active MLflow run's logger when the run is tracked (experiment tracking)."""
    local: Logger | bool = False
    if settings.kind == "csv":
        local = CSVLogger(save_dir=settings.save_dir, name=settings.name)
    elif settings.kind == "tensorboard":
        local = TensorBoardLogger(save_dir=settings.save_dir, name=settings.name)
    tracked = tracking.lightning_logger()
    if tracked is None:
        return local
    return [local, tracked] if local else [tracked]


def portable(checkpoint: dict[str, Any]) -> dict[str, Any]:
    """Reduce a Lightning checkpoint to plain types so that it loads with ``weights_only=True``."""
    return {
        "epoch": int(checkpoint["epoch"]),
        "global_step": int(checkpoint["global_step"]),
        "pytorch-lightning_version": str(checkpoint["pytorch-lightning_version"]),
        "state_dict": dict(checkpoint["state_dict"]),
        "hyper_parameters": {
            key: list(value) if isinstance(value, tuple) else value
            for key, value in checkpoint["hyper_parameters"].items()
        },
        "optimizer_states": checkpoint.get("optimizer_states", []),
    }
