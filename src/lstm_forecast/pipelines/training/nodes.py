"""Nodes of the training pipeline."""

from __future__ import annotations

import logging
import tempfile
import time
from typing import Any

import numpy as np
import pandas as pd
import pytorch_lightning as pl
import torch
from pytorch_lightning.callbacks import Callback, EarlyStopping, ModelCheckpoint
from pytorch_lightning.loggers import CSVLogger, Logger, TensorBoardLogger

from lstm_forecast import tracking
from lstm_forecast.timeseries.windows import gather_windows

from .datamodule import WindowDataModule
from .model import LSTMForecaster
from .ridge import fit_ridge

logger = logging.getLogger(__name__)


class _EpochHistory(Callback):
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


def train_lstm(
    scaled_features: pd.DataFrame,
    train_windows: pd.DataFrame,
    val_windows: pd.DataFrame,
    training: dict[str, Any],
    window_length: int,
) -> tuple[dict[str, Any], pd.DataFrame, dict[str, Any]]:
    """Train the LSTM with early stopping and return its best checkpoint.

    Args:
        scaled_features: Scaled feature matrix with a ``target`` column.
        train_windows: End rows of the training windows.
        val_windows: End rows of the validation windows.
        training: ``params:training``.
        window_length: Bars per window.

    Returns:
        The best checkpoint (a Lightning checkpoint dict), the per-epoch losses, and a
        summary (epochs run, best validation loss, wall time).
    """
    pl.seed_everything(training["seed"], workers=True)
    # A small LSTM gains nothing from intra-op threads and loses much when cores are shared.
    torch.set_num_threads(training["torch_threads"])
    feature_names = [name for name in scaled_features.columns if name != "target"]
    datamodule = WindowDataModule(
        matrix=scaled_features[feature_names].to_numpy(),
        targets=scaled_features["target"].to_numpy(),
        train_end_rows=train_windows["end_row"].to_numpy(),
        val_end_rows=val_windows["end_row"].to_numpy(),
        window_length=window_length,
        batch_size=training["batch_size"],
    )
    model = LSTMForecaster(
        n_features=len(feature_names),
        window_length=window_length,
        feature_names=feature_names,
        **training["model"],
    )
    history = _EpochHistory()
    started = time.perf_counter()
    # Lightning writes checkpoints to a directory; only the best one leaves this function.
    with tempfile.TemporaryDirectory(prefix="lstm-forecast-ckpt-") as checkpoint_dir:
        best = ModelCheckpoint(
            dirpath=checkpoint_dir, filename="best", save_top_k=1, **training["checkpoint"]
        )
        trainer = pl.Trainer(
            **training["trainer"],
            callbacks=[best, EarlyStopping(**training["early_stopping"]), history],
            logger=_make_logger(training["logger"]),
            deterministic=True,
            default_root_dir=checkpoint_dir,
            enable_model_summary=False,
        )
        trainer.fit(model, datamodule=datamodule)
        checkpoint = torch.load(best.best_model_path, map_location="cpu", weights_only=False)
    seconds = time.perf_counter() - started

    summary = {
        "epochs_run": trainer.current_epoch,
        "best_epoch": int(checkpoint["epoch"]),
        "best_val_loss": float(best.best_model_score),
        "train_windows": len(train_windows),
        "val_windows": len(val_windows),
        "train_seconds": round(seconds, 2),
        "seed": training["seed"],
    }
    logger.info(
        "Trained %d epochs in %.1f s; best val_loss %.5f at epoch %d.",
        summary["epochs_run"],
        seconds,
        summary["best_val_loss"],
        summary["best_epoch"],
    )
    return _portable(checkpoint), pd.DataFrame(history.rows), summary


def train_ridge(
    scaled_features: pd.DataFrame,
    train_windows: pd.DataFrame,
    ridge: dict[str, Any],
    window_length: int,
) -> Any:
    """Fit the scikit-learn baseline on the same training windows and target as the LSTM.

    Args:
        scaled_features: Scaled feature matrix with a ``target`` column.
        train_windows: End rows of the training windows.
        ridge: ``params:training.ridge`` (``alpha``).
        window_length: Bars per window.

    Returns:
        A fitted ``sklearn.linear_model.Ridge`` on flattened windows.
    """
    feature_names = [name for name in scaled_features.columns if name != "target"]
    ends = train_windows["end_row"].to_numpy()
    windows = gather_windows(
        scaled_features[feature_names].to_numpy(np.float32), ends, window_length
    )
    estimator = fit_ridge(windows, scaled_features["target"].to_numpy()[ends], ridge["alpha"])
    # Export and validation read these instead of guessing the input layout.
    estimator.window_length_ = window_length
    estimator.feature_names_ = feature_names
    logger.info(
        "Fitted the ridge baseline on %d windows x %d inputs.",
        *windows.shape[:1],
        estimator.n_features_in_,
    )
    return estimator


def _make_logger(settings: dict[str, Any]) -> Logger | list[Logger] | bool:
    # Experiment tracking (issue 18): in a tracked run, epochs also go to its MLflow run.
    local = _local_logger(settings)
    tracked = tracking.lightning_logger()
    if tracked is None:
        return local
    return [local, tracked] if local else [tracked]


def _local_logger(settings: dict[str, Any]) -> Logger | bool:
    kind = settings.get("kind", "csv")
    if kind == "csv":
        return CSVLogger(save_dir=settings["save_dir"], name=settings["name"])
    if kind == "tensorboard":
        return TensorBoardLogger(save_dir=settings["save_dir"], name=settings["name"])
    if kind in (None, "none", False):
        return False
    raise ValueError(f"training.logger.kind must be csv, tensorboard or none, not {kind!r}.")


def _portable(checkpoint: dict[str, Any]) -> dict[str, Any]:
    """Reduce a Lightning checkpoint to plain types so that it loads with ``weights_only=True``."""
    return {
        "epoch": int(checkpoint["epoch"]),
        "global_step": int(checkpoint["global_step"]),
        "pytorch-lightning_version": str(checkpoint["pytorch-lightning_version"]),
        "state_dict": dict(checkpoint["state_dict"]),
        "hyper_parameters": dict(checkpoint["hyper_parameters"]),
        "optimizer_states": checkpoint.get("optimizer_states", []),
    }
