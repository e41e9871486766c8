"""The LSTM kind: a Lightning LSTM with a direct multi-horizon, multi-quantile head.

torch and Lightning are imported inside the methods that need them, so asking the
registry for this kind (e.g. to validate its parameters) costs no torch import.
"""

from __future__ import annotations

import logging
from typing import Any, ClassVar, Literal

import numpy as np
import onnx
from pydantic import Field, model_validator

from lstm_forecast.params import StrictParams

from .base import ModelKind, Predictor, TrainedModel, TrainingData

logger = logging.getLogger(__name__)


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
        from .lstm_distributed import relaunch_refusal  # noqa: PLC0415

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

    torch_threads: int = Field(1, ge=1)  # a small LSTM gains nothing from more on shared cores
    batch_size: int = Field(256, ge=1)
    hidden_size: int = Field(32, ge=1)
    num_layers: int = Field(1, ge=1)
    dropout: float = Field(0.0, ge=0, lt=1)
    learning_rate: float = Field(3e-3, gt=0)
    weight_decay: float = Field(0.0, ge=0)
    trainer: TrainerParams = TrainerParams()
    early_stopping: EarlyStoppingParams = EarlyStoppingParams()
    checkpoint: StopParams = StopParams()
    logger: LoggerParams = LoggerParams()


class LstmKind(ModelKind):
    """LSTM forecaster trained with Lightning, exported with torch.onnx."""

    name: ClassVar[str] = "lstm"
    params_model: ClassVar[type[StrictParams]] = LstmParams
    dynamic_window: ClassVar[bool] = True

    def fit(self, data: TrainingData, params: LstmParams) -> TrainedModel:
        trained = self.fit_rank(data, params)
        if trained is None:
            raise RuntimeError(
                "This process is a rank other than 0 of a launched job: under torchrun run "
                "`-m lstm_forecast.models.train_distributed`, not `kedro run`, so that only "
                "rank 0 writes outputs."
            )
        return trained

    def fit_rank(self, data: TrainingData, params: LstmParams) -> TrainedModel | None:
        """This process's part of the fit, as the trainer parameters say (one process,
        ``ddp_spawn`` workers, or one rank of a torchrun job): the trained model on rank 0,
        None on the other ranks of a launched job."""
        from .lstm_distributed import fit_distributed  # noqa: PLC0415 - torch only when training

        trained = fit_distributed(data, params)
        if trained is None:
            return None
        summary = trained.summary
        logger.info(
            "Trained the LSTM for %d epochs in %.1f s on %d process(es); best val_loss %.5f "
            "at epoch %d.",
            summary["epochs_run"],
            summary["train_seconds"],
            summary["world_size"],
            summary["best_val_loss"],
            summary["best_epoch"],
        )
        artifact = trained.artifact | {"meta": data.describe(self.name)}
        return TrainedModel(artifact, trained.history, summary)

    def predictor(self, artifact: dict[str, Any]) -> Predictor:
        import torch  # noqa: PLC0415

        from .lstm_network import model_from_checkpoint  # noqa: PLC0415

        model = model_from_checkpoint(artifact)

        def predict(windows: np.ndarray) -> np.ndarray:
            with torch.inference_mode():
                return model(torch.from_numpy(np.ascontiguousarray(windows))).numpy()

        return predict

    def to_onnx(self, artifact: dict[str, Any], export: Any) -> onnx.ModelProto:
        from .torch_export import export_checkpoint  # noqa: PLC0415

        return export_checkpoint(artifact, export.model_dump())

    def exporter(self, export: Any) -> str:
        return f"torch.onnx {export.exporter}"

    def weights(self, artifact: dict[str, Any]) -> dict[str, np.ndarray]:
        return {
            name: tensor.detach().cpu().numpy().astype(np.float32)
            for name, tensor in artifact["state_dict"].items()
            if name != "levels"
        }

    def graph_layouts(self, artifact: dict[str, Any]) -> list[dict[str, np.ndarray]]:
        # Small LSTMs get their weights constant-folded into the ONNX LSTM op's W, R, B
        # (gates reordered from torch's i,f,g,o to ONNX's i,o,f,c; both biases in B);
        # larger ones keep torch's tensors as initializers and reorder them in the graph.
        weights = self.weights(artifact)
        folded = {name: value for name, value in weights.items() if not name.startswith("lstm.")}
        layer = 0
        while f"lstm.weight_ih_l{layer}" in weights:
            w, r, b_ih, b_hh = (
                weights[f"lstm.{name}_l{layer}"]
                for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")
            )
            folded[f"lstm.W_l{layer}"] = _onnx_gates(w)[None]
            folded[f"lstm.R_l{layer}"] = _onnx_gates(r)[None]
            folded[f"lstm.B_l{layer}"] = np.concatenate([_onnx_gates(b_ih), _onnx_gates(b_hh)])[
                None
            ]
            layer += 1
        return [weights, folded]


def _onnx_gates(tensor: np.ndarray) -> np.ndarray:
    """torch's gate blocks (input, forget, cell, output) in ONNX's order (i, o, f, c)."""
    i, f, g, o = np.split(tensor, 4, axis=0)
    return np.ascontiguousarray(np.concatenate([i, o, f, g], axis=0))


KIND = LstmKind()
