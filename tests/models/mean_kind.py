"""A third, trivial model kind that exists only in the tests: the training targets' quantiles.

It registers through ``lstm_forecast.models.register`` and nothing else: the stages, the
catalog's ``{kind}.*`` patterns and the reports must take it as they take ridge.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import onnx
import pandas as pd
from onnx import TensorProto, helper, numpy_helper

from lstm_forecast.models import ModelKind, TrainedModel, TrainingData
from lstm_forecast.onnx.contract import INPUT_NAME, OUTPUT_NAME
from lstm_forecast.params import StrictParams


class MeanParams(StrictParams):
    """No settings."""


class MeanKind(ModelKind):
    name: ClassVar[str] = "mean"
    params_model: ClassVar[type[StrictParams]] = MeanParams
    dynamic_window = True

    def fit(self, data: TrainingData, params: MeanParams) -> TrainedModel:
        levels = np.quantile(data.targets[data.train_ends], data.quantiles, axis=0).T
        artifact = {"meta": data.describe(self.name), "levels": levels.astype(np.float32).tolist()}
        return TrainedModel(artifact, pd.DataFrame(columns=["epoch"]), {"windows": 0})

    def predictor(self, artifact: dict[str, Any]):
        levels = np.asarray(artifact["levels"], dtype=np.float32)
        return lambda windows: np.broadcast_to(levels, (len(windows), *levels.shape)).copy()

    def to_onnx(self, artifact: dict[str, Any], export: Any) -> onnx.ModelProto:
        levels = np.asarray(artifact["levels"], dtype=np.float32)
        n_features = len(artifact["meta"]["feature_names"])
        nodes = [
            # 0 * sum(window) keeps the batch axis; adding the constant broadcasts it out.
            helper.make_node("ReduceSum", [INPUT_NAME, "axes"], ["total"], keepdims=1),
            helper.make_node("Mul", ["total", "zero"], ["nothing"]),
            helper.make_node("Add", ["nothing", "levels"], [OUTPUT_NAME]),
        ]
        graph = helper.make_graph(
            nodes,
            "mean",
            [
                helper.make_tensor_value_info(
                    INPUT_NAME, TensorProto.FLOAT, ["batch", "window", n_features]
                )
            ],
            [
                helper.make_tensor_value_info(
                    OUTPUT_NAME, TensorProto.FLOAT, ["batch", *levels.shape]
                )
            ],
            [
                numpy_helper.from_array(np.array([1, 2], np.int64), "axes"),
                numpy_helper.from_array(np.zeros(1, np.float32), "zero"),
                numpy_helper.from_array(levels, "levels"),
            ],
        )
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", export.opset)])
        model.ir_version = 8
        return model

    def weights(self, artifact: dict[str, Any]) -> dict[str, np.ndarray]:
        return {"levels": np.asarray(artifact["levels"], dtype=np.float32)}


KIND = MeanKind()
