"""Validation's parity check on a tiny hand-built graph: no training, no export."""

from __future__ import annotations

import numpy as np
import onnxruntime as ort
from onnx import TensorProto, helper

from lstm_forecast.pipelines.validation.checks import batch_sizes, parity_case
from lstm_forecast.pipelines.validation.params import ToleranceParams

TOLERANCE = ToleranceParams(rtol=1e-3, atol=1e-5)


def _flatten_session() -> ort.InferenceSession:
    """``forecast = window`` reshaped to ``[batch, window_length * features]``."""
    node = helper.make_node("Flatten", ["window"], ["forecast"], axis=1)
    graph = helper.make_graph(
        [node],
        "flatten",
        [helper.make_tensor_value_info("window", TensorProto.FLOAT, ["batch", 2, 3])],
        [helper.make_tensor_value_info("forecast", TensorProto.FLOAT, ["batch", 6])],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    model.ir_version = 9
    return ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])


WINDOWS = np.arange(5 * 2 * 3, dtype=np.float32).reshape(5, 2, 3) / 7.0


def test_an_output_of_another_shape_fails_with_both_shapes_named():
    # The reference predictor keeps the window axis: [n, 2, 3], onnxruntime gives [n, 6].
    case = parity_case(_flatten_session(), lambda w: w.astype(np.float64), WINDOWS, 2, TOLERANCE)
    assert case["passed"] is False
    assert case["max_abs_error"] is None and case["max_rel_error"] is None
    assert case["failure"] == (
        "output shape at batch size 2: onnxruntime gave (5, 6), the trained model (5, 2, 3)"
    )
    assert (case["batch_size"], case["window_length"], case["windows"], case["elements"]) == (
        2,
        2,
        5,
        30,
    )


def test_parity_passes_on_the_same_numbers_and_within_the_tolerance():
    same = parity_case(_flatten_session(), lambda w: w.reshape(len(w), 6), WINDOWS, 2, TOLERANCE)
    assert same["passed"] is True and same["failure"] is None
    assert same["max_abs_error"] == 0.0 and same["max_rel_error"] == 0.0
    # One output 0.8e-3 away from a reference of 1: inside 1e-5 + 1e-3 * 1, so it passes,
    # and the errors are still reported.
    windows = WINDOWS.copy()
    windows[3, 0, 0] = np.float32(1.0008)

    def predict(w):
        out = w.reshape(len(w), 6).astype(np.float64)
        out[np.isclose(out, 1.0008, atol=1e-6)] = 1.0
        return out

    case = parity_case(_flatten_session(), predict, windows, 5, TOLERANCE)
    assert case["passed"] is True and case["failure"] is None
    assert abs(case["max_abs_error"] - 8e-4) < 1e-7
    assert abs(case["max_rel_error"] - 8e-4) < 1e-7


def test_parity_fails_just_above_the_tolerance_and_names_the_count():
    windows = WINDOWS.copy()
    windows[3, 0, 0] = np.float32(1.0012)  # 1.2e-3 away from 1: above 1e-5 + 1e-3 * 1

    def predict(w):
        out = w.reshape(len(w), 6).astype(np.float64)
        out[np.isclose(out, 1.0012, atol=1e-6)] = 1.0
        return out

    case = parity_case(_flatten_session(), predict, windows, 5, TOLERANCE)
    assert case["passed"] is False
    assert case["failure"].startswith(
        "parity at batch size 5, window length 2: 1 of 30 outputs outside rtol=0.001, atol=1e-05"
    )


def test_batch_sizes_are_distinct_capped_and_all_means_every_window():
    assert batch_sizes((1, 64, "all"), 10) == [1, 10]
    assert batch_sizes((4, 4, 2), 10) == [2, 4]
