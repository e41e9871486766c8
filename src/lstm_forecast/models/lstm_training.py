"""The LSTM's fit in one process (every rank runs it), and the Lightning pieces around it:
epoch history, offline logger, portable checkpoint."""

from __future__ import annotations

import os
import tempfile
import time
from typing import TYPE_CHECKING, Any

import pandas as pd
import pytorch_lightning as pl
import torch
from pytorch_lightning.callbacks import Callback, EarlyStopping, ModelCheckpoint
from pytorch_lightning.loggers import CSVLogger, Logger, TensorBoardLogger

from lstm_forecast.integrations import mlflow_tracking as tracking

from . import callbacks as extra
from .base import TrainedModel, TrainingData
from .lstm_network import LSTMForecaster, WindowDataModule
from .lstm_params import relaunch_refusal
from .volatility_scaling import scaling_settings

if TYPE_CHECKING:
    from .lstm_params import LstmParams


def train_rank(data: TrainingData, params: LstmParams) -> TrainedModel | None:
    """Fit the LSTM in this process: the whole fit, or this rank's share of a DDP fit.

    Under DDP every rank calls this with the same data and parameters; Lightning shards the
    windows with a ``DistributedSampler`` and only global rank 0 writes the best checkpoint.
    Returns the trained model on rank 0 and None on every other rank.

    Raises:
        ValueError: When Lightning would start more processes by re-running the current
            command (kedro issue #2049) instead of the processes being launched already.
    """
    torch.set_num_threads(params.torch_threads)
    pl.seed_everything(data.seed, workers=True, verbose=False)
    datamodule = WindowDataModule(
        data.matrix,
        data.targets,
        data.train_ends,
        data.val_ends,
        data.window_length,
        params.batch_size,
    )
    model = LSTMForecaster(
        n_features=len(data.feature_names),
        horizon=data.horizon,
        quantiles=list(data.quantiles),
        window_length=data.window_length,
        feature_names=list(data.feature_names),
        **params.model_dump(include={"hidden_size", "num_layers", "dropout"}),
        **params.model_dump(include={"learning_rate", "weight_decay"}),
        volatility_scaling=_scaling(data, params),
    )
    history = EpochHistory()
    trainer_args = params.trainer.model_dump()
    # Lightning warns when an epoch has fewer batches than the logging interval.
    batches = max(1, -(-len(data.train_ends) // params.batch_size))
    trainer_args["log_every_n_steps"] = min(trainer_args["log_every_n_steps"], batches)
    started = time.perf_counter()
    # Lightning writes checkpoints to a folder; only the best one leaves this function.
    # Under DDP, ModelCheckpoint broadcasts rank 0's folder, and only rank 0 writes to it.
    # The pid in the name lets a later run remove the folder of a killed one (datasets/_stale.py).
    with tempfile.TemporaryDirectory(prefix=f"lstm-forecast-ckpt-{os.getpid()}-") as checkpoint_dir:
        best = ModelCheckpoint(
            dirpath=checkpoint_dir,
            filename="best",
            save_top_k=1,
            **params.checkpoint.model_dump(),
        )
        trainer = pl.Trainer(
            **trainer_args,
            callbacks=[
                best,
                EarlyStopping(**params.early_stopping.model_dump()),
                history,
                *extra.current(),  # e.g. the tuning stage's pruning callback
            ],
            logger=make_logger(params.logger),
            deterministic=True,
            default_root_dir=checkpoint_dir,
            enable_model_summary=False,
        )
        # devices="auto" is only resolved here (e.g. every GPU of the machine).
        refusal = relaunch_refusal(params.trainer, trainer.world_size)
        if refusal:
            raise ValueError(refusal)
        trainer.fit(model, datamodule=datamodule)
        if trainer.global_rank != 0:
            return None
        checkpoint = torch.load(best.best_model_path, map_location="cpu", weights_only=False)
    seconds = time.perf_counter() - started
    summary = {
        "epochs_run": trainer.current_epoch,
        "best_epoch": int(checkpoint["epoch"]),
        "best_val_loss": float(best.best_model_score),
        "train_windows": len(data.train_ends),
        "val_windows": len(data.val_ends),
        "train_seconds": round(seconds, 2),
        "seed": data.seed,
        "world_size": trainer.world_size,
    }
    return TrainedModel(portable(checkpoint), pd.DataFrame(history.rows), summary)


def _scaling(data: TrainingData, params: LstmParams) -> dict[str, Any] | None:
    """The volatility-scaled head's settings, fit on the training windows, or None."""
    if not params.scaling_features:
        return None
    return scaling_settings(
        params.scaling_features,
        data.feature_names,
        data.scaler,
        data.matrix,
        data.targets,
        data.train_ends,
        params.volatility_harmonics,
    )


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
