"""Nodes of the validation pipeline: check a staged model, publish it only if it passed."""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import onnx
import onnxruntime as ort
import pandas as pd

from lstm_forecast import models
from lstm_forecast.errors import ValidationFailedError
from lstm_forecast.lineage import fingerprint_arrays, fingerprint_json
from lstm_forecast.onnx.contract import OnnxContract, make_session, run_batched, stamp
from lstm_forecast.params import OnnxRuntimeParams
from lstm_forecast.timeseries import forecasts
from lstm_forecast.timeseries.preparation import require_windows_match
from lstm_forecast.timeseries.reference import contract_windows
from lstm_forecast.timeseries.targets import forecast_to_price

from . import checks
from .params import ValidationParams

logger = logging.getLogger(__name__)


def validate_onnx(
    staged_onnx_model: onnx.ModelProto,
    trained_model: dict[str, Any],
    feature_table: pd.DataFrame,
    feature_scaler: dict[str, Any],
    test_windows: pd.DataFrame,
    validation: ValidationParams,
    onnxruntime: OnnxRuntimeParams,
    *,
    kind: str,
) -> dict[str, Any]:
    """Check a staged ONNX file against the artefact it was exported from.

    In order: ``onnx.checker`` (full check); the contract in its metadata; that it was made
    from this artefact and scaler (lineage); symbolic batch (and window) axes; every trained
    weight in the graph bit for bit; onnxruntime against the reference predictor on every
    test window at each batch size (and a second window length when that axis is symbolic).

    Returns:
        The validation report; ``passed`` is False and ``failures`` says why when a check
        failed (``publish_validated`` then stops the run and publishes nothing).
    """
    require_windows_match(feature_table, test_windows, "test_windows")
    model_kind = models.get(kind)
    checker, contract, weight_report, failures = checks.file_checks(
        staged_onnx_model, model_kind.graph_layouts(trained_model)
    )
    dims = checks.symbolic_dims(staged_onnx_model)
    if not dims["batch_symbolic"]:
        failures.append(f"batch axis is fixed: {dims}; re-export with a symbolic batch axis")
    weights = model_kind.weights(trained_model)
    if contract is not None:
        failures += _lineage_failures(contract, weights, feature_scaler)

    cases: list[dict[str, Any]] = []
    if not failures:
        cases = _parity(
            staged_onnx_model,
            model_kind,
            trained_model,
            contract,
            feature_table,
            test_windows,
            validation,
            onnxruntime,
        )
        failures += [case["failure"] for case in cases if case["failure"]]
    report = {
        "passed": not failures,
        "failures": failures,
        "model_kind": kind,
        "checker": checker,
        "symbolic_dims": dims,
        "weight_check": weight_report,
        "opset": {op.domain or "ai.onnx": op.version for op in staged_onnx_model.opset_import},
        "exporter": contract.exporter if contract else None,
        "tolerance": validation.tolerance.model_dump(),
        "batch_sizes": sorted({case["batch_size"] for case in cases}),
        "window_lengths": sorted({case["window_length"] for case in cases}),
        "windows_compared": len(test_windows) if cases else 0,
        "max_abs_error": max((c["max_abs_error"] or 0.0 for c in cases), default=None),
        "max_rel_error": max((c["max_rel_error"] or 0.0 for c in cases), default=None),
        "cases": [{k: v for k, v in case.items() if k != "failure"} for case in cases],
        "onnxruntime": {"version": ort.__version__, "session": onnxruntime.as_dict()},
    }
    logger.info(
        "ONNX validation of %s %s: %d windows, batch sizes %s, max abs error %s.",
        kind,
        "passed" if report["passed"] else "FAILED",
        report["windows_compared"],
        report["batch_sizes"],
        report["max_abs_error"],
    )
    return report


def publish_validated(
    staged_onnx_model: onnx.ModelProto, validation_report: dict[str, Any]
) -> onnx.ModelProto:
    """Promote a staged model to its published path, marked as validated, if it passed.

    Args:
        staged_onnx_model: The exported model.
        validation_report: Output of ``validate_onnx`` for that model.

    Returns:
        The same graph whose contract records the passed validation.

    Raises:
        ValidationFailedError: Naming each failed check; nothing is published.
    """
    require_passed(validation_report)
    contract = OnnxContract.from_model(staged_onnx_model).with_validation(
        {
            "passed": True,
            "report_sha256": fingerprint_json(validation_report),
            "windows_compared": validation_report.get("windows_compared"),
        }
    )
    published = onnx.ModelProto()
    published.CopyFrom(staged_onnx_model)
    return stamp(published, contract, doc=staged_onnx_model.doc_string)


def require_passed(validation_report: dict[str, Any]) -> None:
    """Stop the run, naming each failed check, unless the report passed."""
    if not validation_report["passed"]:
        raise ValidationFailedError(
            f"ONNX validation of the {validation_report['model_kind']} model failed, so it was "
            "not published (details in its validation report under data/08_reporting/):\n- "
            + "\n- ".join(validation_report["failures"])
        )


def forecast_test_split(
    onnx_model: onnx.ModelProto,
    feature_table: pd.DataFrame,
    test_windows: pd.DataFrame,
    onnxruntime: OnnxRuntimeParams,
) -> pd.DataFrame:
    """Forecast every test window with the published file, as a consumer without torch would.

    Returns:
        One row per test window and horizon step: (``asset``,) ``origin_time, h,
        forecast_time, last_close, actual_close`` and one price column per quantile level.
    """
    contract = OnnxContract.from_model(onnx_model)
    ends = test_windows["end_row"].to_numpy()
    windows = contract_windows(feature_table, ends, contract)
    session = make_session(onnx_model, onnxruntime.as_dict())
    scaled = run_batched(session, windows, batch_size=256)
    close = feature_table["close"].to_numpy(dtype=np.float64)
    steps = np.arange(1, contract.horizon + 1)
    table = forecasts.to_frame(
        feature_table["timestamp"].to_numpy()[ends],
        close[ends],
        forecast_to_price(
            scaled,
            close[ends],
            target_mean=list(contract.scaler.target_mean),
            target_scale=list(contract.scaler.target_scale),
            kind=contract.target_kind,
        ),
        contract.quantiles,
        contract.interval,
        actual_close=close[ends[:, None] + steps[None, :]],
    )
    if "asset" in test_windows:  # one forecaster, every asset's test windows
        table.insert(0, "asset", np.repeat(test_windows["asset"].to_numpy(), contract.horizon))
    return table


def _lineage_failures(
    contract: OnnxContract, weights: dict[str, np.ndarray], feature_scaler: dict[str, Any]
) -> list[str]:
    expected = {
        "trained_model": fingerprint_arrays(weights),
        "scaler": fingerprint_json(feature_scaler),
    }
    return [
        f"lineage: the ONNX file was exported from another {name} than the one on disk; "
        "rerun `kedro run --pipelines=export` (or the whole pipeline)"
        for name, value in expected.items()
        if contract.lineage.get(name) != value
    ]


def _parity(
    model: onnx.ModelProto,
    model_kind: models.ModelKind,
    trained_model: dict[str, Any],
    contract: OnnxContract,
    feature_table: pd.DataFrame,
    test_windows: pd.DataFrame,
    validation: ValidationParams,
    onnxruntime: OnnxRuntimeParams,
) -> list[dict[str, Any]]:
    try:
        session = make_session(model, onnxruntime.as_dict())
    except Exception as error:
        return [
            {
                "batch_size": 0,
                "window_length": 0,
                "max_abs_error": None,
                "max_rel_error": None,
                "failure": f"onnxruntime could not load it: {error}",
            }
        ]
    windows = contract_windows(feature_table, test_windows["end_row"].to_numpy(), contract)
    predict = model_kind.predictor(trained_model)
    cases = [
        checks.parity_case(session, predict, windows, size, validation.tolerance)
        for size in checks.batch_sizes(validation.batch_sizes, len(windows))
    ]
    if model_kind.dynamic_window and checks.symbolic_dims(model)["window_symbolic"]:
        shorter = np.ascontiguousarray(windows[:, -max(2, contract.window_length // 2) :])
        cases.append(
            checks.parity_case(session, predict, shorter, len(shorter), validation.tolerance)
        )
    return cases
