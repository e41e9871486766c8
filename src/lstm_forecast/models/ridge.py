"""The ridge kind: a linear baseline on flattened windows, with empirical residual quantiles.

One multi-output ``sklearn.linear_model.Ridge`` predicts every horizon step's scaled target
(a point forecast); each quantile is that point plus the same quantile of its residuals on
the validation split, per horizon step. Chosen over one ``QuantileRegressor`` per step and
level (24 x 7 linear programs on 288 inputs): one fit, calibrated on data the fit did not
see, and quantiles that cannot cross. Stored as JSON coefficients, never as a pickle.
"""

from __future__ import annotations

import logging
from typing import Any, ClassVar

import numpy as np
import onnx
import pandas as pd
from onnx import TensorProto, helper, numpy_helper
from pydantic import Field
from sklearn.linear_model import Ridge

from lstm_forecast.onnx.contract import INPUT_NAME, OUTPUT_NAME
from lstm_forecast.params import StrictParams

from .base import ModelKind, Predictor, TrainedModel, TrainingData

logger = logging.getLogger(__name__)


class RidgeParams(StrictParams):
    """``params:training.ridge``."""

    alpha: float = Field(10.0, ge=0)


class RidgeKind(ModelKind):
    """Ridge regression from every lagged feature of a window to every horizon step."""

    name: ClassVar[str] = "ridge"
    params_model: ClassVar[type[StrictParams]] = RidgeParams

    def fit(self, data: TrainingData, params: RidgeParams) -> TrainedModel:
        train = data.windows(data.train_ends).reshape(len(data.train_ends), -1)
        val = data.windows(data.val_ends).reshape(len(data.val_ends), -1)
        estimator = Ridge(alpha=params.alpha).fit(train, data.targets[data.train_ends])
        residuals = data.targets[data.val_ends] - estimator.predict(val)
        offsets = np.quantile(residuals, data.quantiles, axis=0).T  # [horizon, q]
        logger.info(
            "Fitted the ridge baseline on %d windows x %d inputs; residual quantiles from %d "
            "validation windows.",
            len(train),
            train.shape[1],
            len(val),
        )
        artifact = {
            "meta": data.describe(self.name),
            "alpha": params.alpha,
            "coef": np.atleast_2d(estimator.coef_).astype(np.float32).tolist(),
            "intercept": np.atleast_1d(estimator.intercept_).astype(np.float32).tolist(),
            "offsets": offsets.astype(np.float32).tolist(),
        }
        summary = {"train_windows": len(train), "val_windows": len(val), "alpha": params.alpha}
        return TrainedModel(artifact, pd.DataFrame(columns=["epoch"]), summary)

    def predictor(self, artifact: dict[str, Any]) -> Predictor:
        coef, intercept, offsets = _arrays(artifact)

        def predict(windows: np.ndarray) -> np.ndarray:
            flat = windows.reshape(len(windows), -1).astype(np.float32)
            point = flat @ coef.T + intercept
            return point[:, :, None] + offsets[None]

        return predict

    def to_onnx(self, artifact: dict[str, Any], export: Any) -> onnx.ModelProto:
        # A four-node graph of standard ops with the weights as initializers, rather than
        # skl2onnx's ai.onnx.ml LinearRegressor, whose coefficients are node attributes
        # that neither the weight check nor dynamic quantisation can see.
        coef, intercept, offsets = _arrays(artifact)
        meta = artifact["meta"]
        length, n_features = meta["window_length"], len(meta["feature_names"])
        horizon, n_quantiles = offsets.shape
        initializers = [
            numpy_helper.from_array(np.array([-1, length * n_features], np.int64), "flat_shape"),
            numpy_helper.from_array(np.ascontiguousarray(coef.T), "coef"),
            numpy_helper.from_array(intercept, "intercept"),
            numpy_helper.from_array(np.array([-1, horizon, 1], np.int64), "point_shape"),
            numpy_helper.from_array(offsets, "offsets"),
        ]
        nodes = [
            helper.make_node("Reshape", [INPUT_NAME, "flat_shape"], ["flat"]),
            helper.make_node("Gemm", ["flat", "coef", "intercept"], ["point"]),
            helper.make_node("Reshape", ["point", "point_shape"], ["point_3d"]),
            helper.make_node("Add", ["point_3d", "offsets"], [OUTPUT_NAME]),
        ]
        graph = helper.make_graph(
            nodes,
            "ridge_quantiles",
            [
                helper.make_tensor_value_info(
                    INPUT_NAME, TensorProto.FLOAT, ["batch", length, n_features]
                )
            ],
            [
                helper.make_tensor_value_info(
                    OUTPUT_NAME, TensorProto.FLOAT, ["batch", horizon, n_quantiles]
                )
            ],
            initializers,
        )
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", export.opset)])
        model.ir_version = 8  # the oldest IR that opset 18 allows: readable by older runtimes
        return model

    def weights(self, artifact: dict[str, Any]) -> dict[str, np.ndarray]:
        coef, intercept, offsets = _arrays(artifact)
        return {"coef": np.ascontiguousarray(coef.T), "intercept": intercept, "offsets": offsets}


def _arrays(artifact: dict[str, Any]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return (
        np.asarray(artifact["coef"], dtype=np.float32),
        np.asarray(artifact["intercept"], dtype=np.float32),
        np.asarray(artifact["offsets"], dtype=np.float32),
    )


KIND = RidgeKind()
