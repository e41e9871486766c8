"""Nodes of the validation pipeline."""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import onnx
import onnxruntime as ort
import pandas as pd

from lstm_forecast.errors import ValidationFailedError
from lstm_forecast.onnx_contract import make_session, read_metadata, run_batched, shape_of
from lstm_forecast.timeseries.features import forecast_to_price
from lstm_forecast.timeseries.windows import gather_windows

from .reference import reference_predictor

logger = logging.getLogger(__name__)


def validate_onnx_parity(
    onnx_model: onnx.ModelProto,
    trained_model: Any,
    scaled_features: pd.DataFrame,
    test_windows: pd.DataFrame,
    validation: dict[str, Any],
) -> dict[str, Any]:
    """Check the ONNX file and compare it with the trained model on every test window.

    Checks, in order: ``onnx.checker`` (full check); a symbolic batch axis; then
    onnxruntime against the trained model at each batch size (and at a second window
    length when the window axis is symbolic) with ``numpy.testing.assert_allclose``.

    Args:
        onnx_model: The exported model.
        trained_model: The artefact it was exported from (e.g. the checkpoint).
        scaled_features: Scaled feature matrix.
        test_windows: End rows of the test windows.
        validation: ``params:validation``.

    Returns:
        The validation report; ``passed`` is False and ``failures`` says why when a check
        failed (``assert_validation_passed`` then stops the run).
    """
    tolerance = validation["tolerance"]
    failures: list[str] = []
    checker = _run_checker(onnx_model)
    if not checker["passed"]:
        failures.append(f"onnx.checker: {checker['error']}")

    input_shape, output_shape = (
        shape_of(onnx_model.graph.input[0]),
        shape_of(onnx_model.graph.output[0]),
    )
    batch_symbolic = isinstance(input_shape[0], str) and isinstance(output_shape[0], str)
    window_symbolic = isinstance(input_shape[1], str)
    if not batch_symbolic:
        failures.append(
            f"batch axis is fixed: input {input_shape}, output {output_shape}; "
            "re-export with a symbolic batch dimension"
        )

    metadata = read_metadata(onnx_model)
    window_length = int(metadata["window_length"])
    names = metadata["feature_names"]
    windows = gather_windows(
        scaled_features[names].to_numpy(np.float32),
        test_windows["end_row"].to_numpy(),
        window_length,
    )
    cases: list[dict[str, Any]] = []
    session = None
    if checker["passed"] and batch_symbolic:
        try:
            session = make_session(onnx_model, validation["onnxruntime"])
        except Exception as error:
            failures.append(f"onnxruntime could not load the model: {error}")
    if session is not None:
        predict = reference_predictor(trained_model)
        lengths = [window_length]
        if window_symbolic:
            lengths.append(max(2, window_length // 2))
        for length in lengths:
            for batch_size in _batch_sizes(validation["batch_sizes"], len(windows)):
                if length != window_length and batch_size != len(windows):
                    continue  # the second length is compared once, at the full batch
                cases.append(
                    _compare(session, predict, windows[:, -length:], batch_size, tolerance)
                )
        failures += [case["failure"] for case in cases if case["failure"]]

    report = {
        "passed": not failures,
        "failures": failures,
        "model_kind": metadata.get("model_kind"),
        "checker": checker,
        "symbolic_dims": {
            "input": input_shape,
            "output": output_shape,
            "batch_symbolic": batch_symbolic,
            "window_symbolic": window_symbolic,
        },
        "opset": {op.domain or "ai.onnx": op.version for op in onnx_model.opset_import},
        "exporter": metadata.get("exporter"),
        "producer": f"{onnx_model.producer_name} {onnx_model.producer_version}",
        "tolerance": tolerance,
        "batch_sizes": sorted({case["batch_size"] for case in cases}),
        "window_lengths": sorted({case["window_length"] for case in cases}),
        "windows_compared": len(windows) if cases else 0,
        "max_abs_error": _worst(cases, "max_abs_error"),
        "max_rel_error": _worst(cases, "max_rel_error"),
        "cases": [{k: v for k, v in case.items() if k != "failure"} for case in cases],
        "onnxruntime": {"version": ort.__version__, "session": validation["onnxruntime"]},
    }
    logger.info(
        "ONNX validation %s: %d windows, batch sizes %s, max abs error %s.",
        "passed" if report["passed"] else "FAILED",
        report["windows_compared"],
        report["batch_sizes"],
        report["max_abs_error"],
    )
    return report


def assert_validation_passed(validation_report: dict[str, Any]) -> None:
    """Stop the run when the saved validation report says a check failed.

    Args:
        validation_report: Output of ``validate_onnx_parity``.

    Raises:
        ValidationFailedError: Naming each failed check and by how much.
    """
    if not validation_report["passed"]:
        raise ValidationFailedError(
            f"ONNX validation of the {validation_report['model_kind']} model failed (details in "
            "its validation_report under data/08_reporting/):\n- "
            + "\n- ".join(validation_report["failures"])
        )


def forecast_test_split(
    onnx_model: onnx.ModelProto,
    scaled_features: pd.DataFrame,
    test_windows: pd.DataFrame,
    features: pd.DataFrame,
    validation: dict[str, Any],
) -> pd.DataFrame:
    """Forecast every test window with onnxruntime and turn the forecasts into prices.

    Uses only the ONNX file and its metadata (scaler, target definition), as a consumer
    without torch would.

    Args:
        onnx_model: The exported model.
        scaled_features: Scaled feature matrix.
        test_windows: End rows and target times of the test windows.
        features: Unscaled feature table (gives the closes).
        validation: ``params:validation`` (onnxruntime settings).

    Returns:
        One row per test window: ``target_time, last_close, actual_close, forecast_close,
        naive_close``.
    """
    metadata = read_metadata(onnx_model)
    ends = test_windows["end_row"].to_numpy()
    windows = gather_windows(
        scaled_features[metadata["feature_names"]].to_numpy(np.float32),
        ends,
        metadata["window_length"],
    )
    session = make_session(onnx_model, validation["onnxruntime"])
    scaled = run_batched(session, windows, batch_size=len(windows))[:, 0]
    scaler = metadata["scaler"]
    close = features["close"].to_numpy()
    last_close = close[ends]
    return pd.DataFrame(
        {
            "target_time": test_windows["target_time"].to_numpy(),
            "last_close": last_close,
            "actual_close": close[ends + 1],
            "forecast_close": forecast_to_price(
                scaled,
                last_close,
                target_mean=scaler["target_mean"],
                target_scale=scaler["target_scale"],
                kind=metadata["target"]["kind"],
            ),
            "naive_close": last_close,
        }
    )


def _worst(cases: list[dict[str, Any]], key: str) -> float | None:
    values = [case[key] for case in cases if case[key] is not None]
    return max(values, default=None)


def _run_checker(model: onnx.ModelProto) -> dict[str, Any]:
    try:
        onnx.checker.check_model(model, full_check=True)
    except (onnx.checker.ValidationError, onnx.shape_inference.InferenceError) as error:
        return {"passed": False, "full_check": True, "error": str(error).strip()[:500]}
    return {"passed": True, "full_check": True, "error": None}


def _batch_sizes(requested: list[int | str], windows: int) -> list[int]:
    sizes = {windows if size == "all" else min(int(size), windows) for size in requested}
    return sorted(sizes)


def _compare(
    session: ort.InferenceSession,
    predict: Any,
    windows: np.ndarray,
    batch_size: int,
    tolerance: dict[str, float],
) -> dict[str, Any]:
    actual = run_batched(session, windows, batch_size)
    expected = np.concatenate(
        [
            predict(windows[start : start + batch_size])
            for start in range(0, len(windows), batch_size)
        ]
    )
    case = {
        "batch_size": batch_size,
        "window_length": int(windows.shape[1]),
        "windows": len(windows),
    }
    if actual.shape != expected.shape:
        failure = (
            f"output shape at batch size {batch_size}: onnxruntime gave {actual.shape}, "
            f"the trained model {expected.shape}"
        )
        return {
            **case,
            "max_abs_error": None,
            "max_rel_error": None,
            "passed": False,
            "failure": failure,
        }
    difference = np.abs(actual.astype(np.float64) - expected)
    nonzero = np.abs(expected) > 0
    failure = None
    try:
        np.testing.assert_allclose(actual, expected, rtol=tolerance["rtol"], atol=tolerance["atol"])
    except AssertionError:
        outside = ~np.isclose(actual, expected, rtol=tolerance["rtol"], atol=tolerance["atol"])
        failure = (
            f"parity at batch size {batch_size}, window length {windows.shape[1]}: "
            f"{int(outside.sum())} of {outside.size} forecasts outside rtol={tolerance['rtol']}, "
            f"atol={tolerance['atol']}; max abs error {difference.max():.3g}"
        )
    return {
        **case,
        "max_abs_error": float(difference.max()),
        "max_rel_error": float((difference[nonzero] / np.abs(expected[nonzero])).max(initial=0.0)),
        "passed": failure is None,
        "failure": failure,
    }
