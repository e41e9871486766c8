"""The trained model that an ONNX file must agree with, behind one small interface."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

# A reference takes windows [batch, window_length, n_features] float32 and returns [batch, 1].
Reference = Callable[[np.ndarray], np.ndarray]


def reference_predictor(trained_model: Any) -> Reference:
    """Wrap a trained model artefact as a batch predictor.

    Args:
        trained_model: A Lightning checkpoint dict (the LSTM), or a fitted scikit-learn
            regressor on flattened windows.

    Returns:
        A function from a batch of windows to ``[batch, 1]`` predictions.
    """
    if isinstance(trained_model, dict) and "state_dict" in trained_model:
        return _torch_reference(trained_model)
    if hasattr(trained_model, "predict") and hasattr(trained_model, "window_length_"):
        return _sklearn_reference(trained_model)
    raise TypeError(f"No reference predictor for a {type(trained_model).__name__}.")


def _torch_reference(checkpoint: dict[str, Any]) -> Reference:
    import torch  # noqa: PLC0415 - only the torch branch needs torch

    from ..training.model import model_from_checkpoint  # noqa: PLC0415

    model = model_from_checkpoint(checkpoint)

    def predict(windows: np.ndarray) -> np.ndarray:
        with torch.inference_mode():
            return model(torch.from_numpy(np.ascontiguousarray(windows))).numpy()

    return predict


def _sklearn_reference(estimator: Any) -> Reference:
    def predict(windows: np.ndarray) -> np.ndarray:
        flat = windows.reshape(len(windows), -1)
        return estimator.predict(flat).reshape(-1, 1)

    return predict
