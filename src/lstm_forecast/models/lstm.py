"""The LSTM kind: a Lightning LSTM with a direct multi-horizon, multi-quantile head.

torch and Lightning are imported inside the methods that need them, so asking the
registry for this kind (e.g. to validate its parameters) costs no torch import.
"""

from __future__ import annotations

import logging
from typing import Any, ClassVar

import numpy as np
import onnx

from lstm_forecast.params import StrictParams

from .base import ModelKind, Predictor, TrainedModel, TrainingData
from .lstm_params import LstmParams

logger = logging.getLogger(__name__)


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
        from .lstm_export import export_checkpoint  # noqa: PLC0415

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
