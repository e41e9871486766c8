"""The LSTM kind's parameters and the launch checks they run while being validated.

A leaf module (pydantic and the standard library only): the kind (``lstm``), the
distributed launcher (``lstm_distributed``), each rank's fit (``lstm_training``) and the
torchrun entry point (``train_distributed``) all import it, and it imports none of them.
"""

from __future__ import annotations

import os
from typing import Any, Literal

from pydantic import Field, model_validator

from lstm_forecast.params import StrictParams

SPAWN = "ddp_spawn"
# torchrun (and any launcher Lightning recognises) sets these in every process it starts.
LAUNCH_VARIABLES = ("LOCAL_RANK", "WORLD_SIZE")


def launched_externally() -> bool:
    """Whether this process is one rank of a job that a launcher (torchrun, us) started."""
    return all(name in os.environ for name in LAUNCH_VARIABLES)


def relaunch_refusal(trainer: Any, world_size: int | None = None) -> str | None:
    """Why these trainer settings cannot run inside ``kedro run``, or None when they can.

    Args:
        trainer: The ``TrainerParams``.
        world_size: The number of processes once Lightning resolved ``devices``; None to
            count them from the parameters (``devices: auto`` then counts as one).
    """
    spawn = trainer.strategy.startswith(SPAWN)
    if spawn and trainer.num_nodes > 1:
        return (
            f"trainer.strategy={trainer.strategy!r} starts processes on this machine only, "
            f"but trainer.num_nodes={trainer.num_nodes}: for several machines launch "
            "`torchrun ... -m lstm_forecast.models.train_distributed` on each one "
            "(README, Scaling up)."
        )
    if spawn and not isinstance(trainer.devices, int):
        return (
            f"trainer.devices={trainer.devices!r}: with strategy {trainer.strategy!r} give "
            "the number of processes to spawn, e.g. trainer.devices=2."
        )
    if spawn or launched_externally():
        return None
    if world_size is None:
        devices = trainer.devices if isinstance(trainer.devices, int) else 1
        world_size = devices * trainer.num_nodes
    if world_size <= 1:
        return None
    return (
        f"trainer.strategy={trainer.strategy!r} with {world_size} processes would make "
        "Lightning re-run `kedro run` from the start in every extra process (kedro issue "
        "#2049). On one machine set trainer.strategy=ddp_spawn (the training node spawns "
        "the workers); across machines launch `torchrun ... -m "
        "lstm_forecast.models.train_distributed` (README, Scaling up)."
    )


class TrainerParams(StrictParams):
    """Keyword arguments of ``lightning.Trainer`` that the project lets users set."""

    max_epochs: int = Field(30, ge=1)
    accelerator: Literal["cpu", "gpu", "cuda", "mps", "tpu", "auto"] = "cpu"
    devices: int | Literal["auto"] = 1
    num_nodes: int = Field(1, ge=1)
    precision: str = "32-true"
    strategy: str = "auto"
    gradient_clip_val: float | None = Field(1.0, ge=0)
    enable_progress_bar: bool = True
    log_every_n_steps: int = Field(20, ge=1)
    # Per-epoch subsampling for years of many assets: a share (or a count) of the training
    # batches per epoch; the loader shuffles, so each epoch sees another random subset.
    limit_train_batches: float | int = Field(1.0, gt=0)

    @model_validator(mode="after")
    def _runs_once_under_kedro(self) -> TrainerParams:
        # Refused before any node runs, rather than after Lightning re-ran `kedro run`.
        refusal = relaunch_refusal(self)
        if refusal:
            raise ValueError(refusal)
        return self


class StopParams(StrictParams):
    """Which logged metric early stopping and checkpointing follow."""

    monitor: Literal["val_loss", "train_loss"] = "val_loss"
    mode: Literal["min", "max"] = "min"


class EarlyStoppingParams(StopParams):
    """``lightning.pytorch.callbacks.EarlyStopping`` settings."""

    patience: int = Field(5, ge=0)
    min_delta: float = Field(0.0, ge=0)


class LoggerParams(StrictParams):
    """An offline Lightning logger."""

    kind: Literal["csv", "tensorboard", "none"] = "csv"
    save_dir: str = "logs"
    name: str = "lstm"


class LstmParams(StrictParams):
    """``params:training.lstm``."""

    @property
    def scaling_features(self) -> list[str]:
        """The features of ``volatility_scaling`` as a list (empty when it is off)."""
        value = self.volatility_scaling
        return [] if value is None else [value] if isinstance(value, str) else list(value)

    torch_threads: int = Field(1, ge=1)  # a small LSTM gains nothing from more on shared cores
    batch_size: int = Field(256, ge=1)
    hidden_size: int = Field(32, ge=1)
    num_layers: int = Field(1, ge=1)
    dropout: float = Field(0.0, ge=0, lt=1)
    learning_rate: float = Field(3e-3, gt=0)
    weight_decay: float = Field(0.0, ge=0)
    # Log-variance feature(s) whose regression scales the quantiles inside the network;
    # None = the plain head (models/volatility_scaling.py).
    volatility_scaling: str | list[str] | None = None
    # Hour-of-day harmonics (and up to 3 of the weekday) in that regression; 0 = none.
    volatility_harmonics: int = Field(0, ge=0, le=12)
    trainer: TrainerParams = TrainerParams()
    early_stopping: EarlyStoppingParams = EarlyStoppingParams()
    checkpoint: StopParams = StopParams()
    logger: LoggerParams = LoggerParams()
