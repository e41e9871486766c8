"""Validation of the self-contained forecaster: prices against the Python path, window_ok."""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import onnx
import onnxruntime as ort
import pandas as pd

from lstm_forecast import models
from lstm_forecast.onnx.contract import (
    CLOSE_QUANTILES,
    EXTRAPOLATING,
    WINDOW_OK,
    OnnxContract,
    make_session,
)
from lstm_forecast.params import OnnxRuntimeParams
from lstm_forecast.timeseries.assets import window_assets
from lstm_forecast.timeseries.features import compute_features, extrapolating, scale_features
from lstm_forecast.timeseries.reference import raw_windows
from lstm_forecast.timeseries.targets import forecast_to_price
from lstm_forecast.timeseries.windows import gather_windows

from . import checks
from .nodes import publish_validated, require_passed
from .params import ValidationParams

logger = logging.getLogger(__name__)


def validate_forecaster(
    staged_forecaster: onnx.ModelProto,
    staged_forecaster_sidecar: dict[str, Any],
    trained_model: dict[str, Any],
    candles: pd.DataFrame,
    test_windows: pd.DataFrame,
    validation: ValidationParams,
    onnxruntime: OnnxRuntimeParams,
    *,
    kind: str,
) -> dict[str, Any]:
    """Check the forecaster: checker, contract, weights, prices and ``window_ok``.

    Raw candles of every test window go in; the prices must equal the Python path
    (features -> scaler -> trained model -> prices) within ``forecaster_rtol``; ``window_ok``
    must be true on every real window and false on windows across a gap, newest first or
    with a non-positive price; the sidecar's reference example must reproduce.

    Returns:
        The forecaster's validation report (``passed``, ``failures``, figures).
    """
    model_kind = models.get(kind)
    checker, contract, weights, failures = checks.file_checks(
        staged_forecaster, model_kind.graph_layouts(trained_model)
    )
    figures: dict[str, Any] = {}
    if not failures:
        figures, found = _forecaster_figures(
            staged_forecaster,
            staged_forecaster_sidecar,
            contract,
            model_kind.predictor(trained_model),
            candles,
            test_windows,
            validation,
            onnxruntime,
        )
        failures += found
    report = {
        "passed": not failures,
        "failures": failures,
        "model_kind": kind,
        "checker": checker,
        "weight_check": weights,
        "price_rtol": validation.forecaster_rtol,
        **figures,
    }
    logger.info(
        "Forecaster validation of %s %s: max relative price error %s over %s windows.",
        kind,
        "passed" if report["passed"] else "FAILED",
        figures.get("max_rel_price_error"),
        figures.get("windows_compared"),
    )
    return report


def publish_forecaster(
    staged_forecaster: onnx.ModelProto,
    staged_forecaster_sidecar: dict[str, Any],
    forecaster_report: dict[str, Any],
    validation_report: dict[str, Any],
) -> tuple[onnx.ModelProto, dict[str, Any]]:
    """Publish the forecaster and its sidecar once it, and the model inside, passed validation.

    Raises:
        ValidationFailedError: Naming each failed check; nothing is published.
    """
    require_passed(validation_report)
    published_model = publish_validated(staged_forecaster, forecaster_report)
    validation = OnnxContract.from_model(published_model).validation
    sidecar = dict(staged_forecaster_sidecar)
    sidecar["contract"] = dict(sidecar["contract"]) | {"validation": validation}
    return published_model, sidecar


def _forecaster_figures(
    model: onnx.ModelProto,
    sidecar: dict[str, Any],
    contract: OnnxContract,
    predict: Any,
    candles: pd.DataFrame,
    test_windows: pd.DataFrame,
    validation: ValidationParams,
    onnxruntime: OnnxRuntimeParams,
) -> tuple[dict[str, Any], list[str]]:
    failures = []
    session = make_session(model, onnxruntime.as_dict())
    ends = test_windows["end_row"].to_numpy()
    inputs = raw_windows(candles, ends, contract.input_length)
    prices, ok = run(session, inputs)
    expected = python_path(candles, ends, contract, predict)
    relative = np.abs(prices - expected) / np.abs(expected)
    if not relative.max() <= validation.forecaster_rtol:
        failures.append(
            f"forecaster prices: max relative difference {relative.max():.3g} from the Python "
            f"path exceeds forecaster_rtol={validation.forecaster_rtol:g}"
        )
    if not ok.all():
        failures.append(f"window_ok is false on {int((~ok).sum())} real test windows")
    flags = session.run([EXTRAPOLATING], inputs)[0]
    expected_flags = python_extrapolating(candles, ends, contract)
    if not np.array_equal(flags, expected_flags):
        failures.append(
            f"extrapolating differs from the Python path on "
            f"{int((flags != expected_flags).sum())} test windows"
        )
    flagged = {}
    for case, case_inputs in broken_windows(candles, ends, contract.input_length).items():
        _, case_ok = run(session, case_inputs)
        flagged[case] = bool(not case_ok.any())
        if case_ok.any():
            failures.append(f"window_ok is true on windows {case.replace('_', ' ')}")
    example = sidecar["reference_example"]
    example_prices, example_ok = run(
        session,
        {
            "candles": np.asarray([example["candles"]], dtype=np.float64),
            "open_time": np.asarray([example["open_time"]], dtype=np.int64),
        },
    )
    if not (
        example_ok.all()
        and np.allclose(
            example_prices[0],
            example["close_quantiles"],
            rtol=example["relative_tolerance"],
            atol=0,
        )
    ):
        failures.append("the sidecar's reference example does not reproduce")
    assets = window_assets(test_windows)
    by_asset = {
        str(name): {
            "windows_compared": int((assets == name).sum()),
            "max_rel_price_error": float(relative[assets == name].max()),
            "window_ok_false": int((~ok[assets == name]).sum()),
            "extrapolating": int(flags[assets == name].sum()),
        }
        for name in dict.fromkeys(assets.tolist())
    }
    return {
        "windows_compared": len(ends),
        "extrapolating_windows": int(flags.sum()),
        # Every asset's test windows, each asset's figures on its own.
        "by_asset": by_asset,
        "max_rel_price_error": float(relative.max()),
        "max_abs_price_error": float(np.abs(prices - expected).max()),
        "window_ok_flags": flagged,
    }, failures


def python_path(
    candles: pd.DataFrame, ends: np.ndarray, contract: OnnxContract, predict: Any
) -> np.ndarray:
    """Features -> scaler -> trained model -> prices for every window, in batches."""
    matrix = scale_features(
        compute_features(candles, contract.feature_names).to_numpy(),
        contract.scaler.feature_mean,
        contract.scaler.feature_scale,
    )
    scaled = np.concatenate(
        [
            predict(np.ascontiguousarray(gather_windows(matrix, chunk, contract.window_length)))
            for chunk in np.array_split(ends, max(1, len(ends) // 256))
        ]
    )
    return forecast_to_price(
        scaled,
        candles["close"].to_numpy(dtype=np.float64)[ends],
        target_mean=list(contract.scaler.target_mean),
        target_scale=list(contract.scaler.target_scale),
        kind=contract.target_kind,
    )


def python_extrapolating(
    candles: pd.DataFrame, ends: np.ndarray, contract: OnnxContract
) -> np.ndarray:
    """The ``extrapolating`` flag of every window from numpy features (none without a range)."""
    if not contract.feature_range:
        return np.zeros(len(ends), dtype=bool)
    values = compute_features(candles, contract.feature_names).to_numpy()
    windows = gather_windows(values, ends, contract.window_length)
    return extrapolating(windows, contract.feature_range)


def run(
    session: ort.InferenceSession, inputs: dict[str, np.ndarray]
) -> tuple[np.ndarray, np.ndarray]:
    """``close_quantiles`` and ``window_ok`` of a batch."""
    prices, ok = session.run([CLOSE_QUANTILES, WINDOW_OK], inputs)
    return prices, ok


def broken_windows(
    candles: pd.DataFrame, ends: np.ndarray, bars: int
) -> dict[str, dict[str, np.ndarray]]:
    """Windows of ``bars`` bars the graph must flag: across a gap (when the data has one),
    newest first, and with a non-positive price."""
    sample = raw_windows(candles, ends[:8], bars)
    cases = {
        "newest_first": {k: np.ascontiguousarray(v[:, ::-1]) for k, v in sample.items()},
        "non_positive_price": {k: v.copy() for k, v in sample.items()},
    }
    cases["non_positive_price"]["candles"][:, bars // 2, 3] = 0.0
    starts = np.flatnonzero(np.diff(candles["segment"].to_numpy()) != 0) + 1
    across = starts[(starts >= bars) & (starts < len(candles) - 1)]
    if len(across):
        cases["across_a_gap"] = raw_windows(candles, across[:8] + 1, bars)
    return cases
