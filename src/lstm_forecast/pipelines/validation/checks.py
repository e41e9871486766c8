"""The checks of one exported model, each a small function returning what it found."""

from __future__ import annotations

from typing import Any

import numpy as np
import onnx
import onnxruntime as ort
from onnx import numpy_helper

from lstm_forecast.errors import ArtifactError
from lstm_forecast.onnx.contract import OnnxContract, run_batched, shape_of

from .params import ToleranceParams


def run_checker(model: onnx.ModelProto) -> dict[str, Any]:
    """``onnx.checker.check_model`` with ``full_check`` (shape inference too)."""
    try:
        onnx.checker.check_model(model, full_check=True)
    except (onnx.checker.ValidationError, onnx.shape_inference.InferenceError) as error:
        return {"passed": False, "full_check": True, "error": str(error).strip()[:500]}
    return {"passed": True, "full_check": True, "error": None}


def read_contract(model: onnx.ModelProto) -> tuple[OnnxContract | None, str | None]:
    """The model's contract, or the reason it cannot be read."""
    try:
        return OnnxContract.from_model(model), None
    except ArtifactError as error:
        return None, f"contract: {error}"


def file_checks(
    model: onnx.ModelProto, layouts: list[dict[str, np.ndarray]]
) -> tuple[dict[str, Any], OnnxContract | None, dict[str, Any], list[str]]:
    """What every staged file must pass: the checker, its contract, the trained weights.

    Returns:
        The checker result, the contract (None when unreadable), the weight check, and the
        failures found.
    """
    failures: list[str] = []
    checker = run_checker(model)
    if not checker["passed"]:
        failures.append(f"onnx.checker: {checker['error']}")
    contract, problem = read_contract(model)
    failures += [problem] if problem else []
    weights = weight_check(model, layouts)
    if not weights["passed"]:
        failures.append(f"weights not in the graph bit for bit: {weights['not_in_graph']}")
    return checker, contract, weights, failures


def symbolic_dims(model: onnx.ModelProto) -> dict[str, Any]:
    """Which axes of the first input and output are symbolic."""
    input_shape = shape_of(model.graph.input[0])
    output_shape = shape_of(model.graph.output[0])
    return {
        "input": input_shape,
        "output": output_shape,
        "batch_symbolic": isinstance(input_shape[0], str) and isinstance(output_shape[0], str),
        "window_symbolic": len(input_shape) > 1 and isinstance(input_shape[1], str),
    }


def weight_check(model: onnx.ModelProto, layouts: list[dict[str, np.ndarray]]) -> dict[str, Any]:
    """Every trained weight must sit in the graph bit for bit (an initializer or constant),
    in one of the layouts the model kind names.

    Output parity at a tolerance cannot see a small change in one weight; this can.
    """
    tensors: dict[str, np.ndarray] = {
        tensor.name: numpy_helper.to_array(tensor) for tensor in model.graph.initializer
    }
    for node in model.graph.node:
        if node.op_type == "Constant":
            for attribute in node.attribute:
                if attribute.type == onnx.AttributeProto.TENSOR:
                    tensors[node.output[0]] = numpy_helper.to_array(attribute.t)
    by_content = {(a.dtype.str, a.shape, a.tobytes()) for a in tensors.values()}
    results = [_missing(weights, tensors, by_content) for weights in layouts]
    best = min(range(len(layouts)), key=lambda index: len(results[index]))
    return {
        "passed": not results[best],
        "weights_checked": len(layouts[best]),
        "layout": best,
        "not_in_graph": results[best],
    }


def _missing(
    weights: dict[str, np.ndarray],
    tensors: dict[str, np.ndarray],
    by_content: set[tuple[str, tuple[int, ...], bytes]],
) -> list[str]:
    missing = []
    for name, weight in weights.items():
        expected = np.ascontiguousarray(weight)
        same_name = tensors.get(name)
        if same_name is not None and same_name.shape == expected.shape:
            found = same_name.tobytes() == expected.tobytes()
        else:
            found = (expected.dtype.str, expected.shape, expected.tobytes()) in by_content
        if not found:
            missing.append(name)
    return missing


def parity_case(
    session: ort.InferenceSession,
    predict: Any,
    windows: np.ndarray,
    batch_size: int,
    tolerance: ToleranceParams,
) -> dict[str, Any]:
    """onnxruntime against the reference predictor on every window, ``batch_size`` at a time."""
    actual = run_batched(session, windows, batch_size)
    expected = np.concatenate(
        [
            predict(windows[start : start + batch_size])
            for start in range(0, len(windows), batch_size)
        ]
    )
    case: dict[str, Any] = {
        "batch_size": batch_size,
        "window_length": int(windows.shape[1]),
        "windows": len(windows),
        "elements": int(expected.size),
    }
    if actual.shape != expected.shape:
        return case | {
            "max_abs_error": None,
            "max_rel_error": None,
            "passed": False,
            "failure": f"output shape at batch size {batch_size}: onnxruntime gave "
            f"{actual.shape}, the trained model {expected.shape}",
        }
    difference = np.abs(actual.astype(np.float64) - expected)
    nonzero = np.abs(expected) > 0
    failure = None
    try:
        np.testing.assert_allclose(actual, expected, rtol=tolerance.rtol, atol=tolerance.atol)
    except AssertionError:
        outside = ~np.isclose(actual, expected, rtol=tolerance.rtol, atol=tolerance.atol)
        failure = (
            f"parity at batch size {batch_size}, window length {windows.shape[1]}: "
            f"{int(outside.sum())} of {outside.size} outputs outside rtol={tolerance.rtol}, "
            f"atol={tolerance.atol}; max abs error {difference.max():.3g}"
        )
    return case | {
        "max_abs_error": float(difference.max()),
        "max_rel_error": float((difference[nonzero] / np.abs(expected[nonzero])).max(initial=0.0)),
        "passed": failure is None,
        "failure": failure,
    }


def batch_sizes(requested: tuple[int | str, ...], windows: int) -> list[int]:
    """The distinct batch sizes to compare at, ``"all"`` meaning every window at once."""
    return sorted({windows if size == "all" else min(int(size), windows) for size in requested})
