"""scikit-learn-to-ONNX conversion with skl2onnx, behind the same ``window`` contract."""

from __future__ import annotations

from typing import Any

import numpy as np
import onnx
from onnx import TensorProto, helper
from skl2onnx import to_onnx

from lstm_forecast.errors import ArtifactError
from lstm_forecast.onnx_contract import INPUT_NAME, OUTPUT_NAME


def export_estimator(estimator: Any, export: dict[str, Any]) -> onnx.ModelProto:
    """Convert a regressor fit on flattened windows into a model that takes whole windows.

    skl2onnx converts the estimator for ``[batch, window_length * n_features]``; a
    ``Reshape`` in front makes the input ``window`` ``[batch, window_length, n_features]``,
    the same contract as the LSTM, so consumers and validation need not know the model.

    Args:
        estimator: A fitted regressor with ``window_length_`` and ``feature_names_``.
        export: ``params:export.<model>`` (``opset``).

    Returns:
        The ONNX model with input ``window`` and output ``forecast`` ``[batch, 1]``.
    """
    window_length, n_features = estimator.window_length_, len(estimator.feature_names_)
    flat = window_length * n_features
    converted = to_onnx(
        estimator,
        np.zeros((2, flat), dtype=np.float32),
        target_opset={"": export["opset"], "ai.onnx.ml": 3},
        final_types=None,
    )
    inner_input = converted.graph.input[0].name
    inner_output = converted.graph.output[0].name
    graph = converted.graph
    # Prepend window -> [batch, L*F]; append the output rename to `forecast` [batch, 1].
    shape = helper.make_tensor("flat_shape", TensorProto.INT64, [2], [-1, flat])
    graph.initializer.append(shape)
    graph.node.insert(0, helper.make_node("Reshape", [INPUT_NAME, "flat_shape"], [inner_input]))
    out_shape = helper.make_tensor("forecast_shape", TensorProto.INT64, [2], [-1, 1])
    graph.initializer.append(out_shape)
    graph.node.append(helper.make_node("Reshape", [inner_output, "forecast_shape"], [OUTPUT_NAME]))
    del graph.input[:]
    graph.input.append(
        helper.make_tensor_value_info(
            INPUT_NAME, TensorProto.FLOAT, ["batch", window_length, n_features]
        )
    )
    del graph.output[:]
    graph.output.append(helper.make_tensor_value_info(OUTPUT_NAME, TensorProto.FLOAT, ["batch", 1]))
    produced = {op.domain: op.version for op in converted.opset_import}.get("")
    if produced != export["opset"]:
        raise ArtifactError(
            f"Asked for ONNX opset {export['opset']} but skl2onnx produced opset {produced}."
        )
    return converted
