"""The variants report's other runtimes and size breakdown.

OpenVINO runs the float file itself (nothing is published for it), so its verdict is
recorded beside the variants and never stops the stage; inference checks the runtime it
is given on its own first batch (see the inference stage).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import numpy as np
import onnx

from lstm_forecast.datasets.onnx_variant_dataset import DroppedVariant
from lstm_forecast.onnx import optimisation as tools
from lstm_forecast.onnx.contract import OnnxContract
from lstm_forecast.onnx.runtimes import RuntimeUnavailableError, open_runtime, openvino_missing
from lstm_forecast.onnx.size import size_breakdown

from .params import VariantsParams

logger = logging.getLogger(__name__)

# Why a float64 / int64 graph cannot match under OpenVINO (seen on forecaster.onnx).
_WIDE_TYPES_NOTE = (
    "OpenVINO's CPU plugin computes float64 as float32 and int64 as int32, and this file's "
    "inputs are {types} (the forecaster's epoch-time and price arithmetic)"
)


def other_runtimes(
    fp32: onnx.ModelProto,
    prices: Callable[[Any], np.ndarray],
    reference: np.ndarray,
    actual: np.ndarray,
    variants: VariantsParams,
    runtime: dict[str, Any],
) -> dict[str, Any]:
    """OpenVINO's prices from the float file against onnxruntime's, with the tolerance
    ``variants.tolerance.openvino``.

    Returns:
        ``{"openvino": entry}``: verdict ``passed`` | ``failed`` | ``skipped`` (with the
        reason: not installed, turned off, or the file could not be read), the parity
        figures, the tolerance and the settings it ran with.
    """
    tolerance = variants.tolerance.openvino.model_dump()
    reason = "variants.openvino is false" if not variants.openvino else openvino_missing()
    entry: dict[str, Any] = {"file": "fp32", "precision": "f32", "tolerance": tolerance}
    session = None
    if reason is None:
        try:
            session = open_runtime(fp32, "openvino", runtime)
            entry |= {"version": session.version, "threads": runtime["intra_op_num_threads"]}
        except RuntimeUnavailableError as error:
            reason = str(error)
    contract = OnnxContract.from_model(fp32)
    artifact = f"the {contract.model_kind} {contract.artifact}"
    if session is None:
        logger.info("OpenVINO check of %s skipped: %s.", artifact, reason)
        return {"openvino": entry | {"verdict": "skipped", "failures": [reason], "parity": None}}
    parity = tools.price_parity(reference, prices(session), actual, contract.quantiles)
    failures = outside(parity, tolerance)
    wide = sorted(
        {
            onnx.TensorProto.DataType.Name(value.type.tensor_type.elem_type).lower()
            for value in fp32.graph.input
        }
        & {"double", "int64"}
    )
    if failures and wide:
        failures.append(_WIDE_TYPES_NOTE.format(types="/".join(wide)))
    verdict = "failed" if failures else "passed"
    log = logger.warning if failures else logger.info
    log(
        "OpenVINO %s on %s: %s.",
        verdict.upper(),
        artifact,
        "; ".join(failures) or f"max |price diff| {parity['max_abs_price_diff']:.3g}",
    )
    return {"openvino": entry | {"verdict": verdict, "failures": failures, "parity": parity}}


def size_breakdowns(
    fp32: onnx.ModelProto, candidates: dict[str, onnx.ModelProto | DroppedVariant]
) -> dict[str, Any]:
    """Weights, graph, contract metadata and the rest, in bytes, of each file built."""
    built = {
        name: size_breakdown(candidate)
        for name, candidate in candidates.items()
        if not isinstance(candidate, DroppedVariant)
    }
    return {"fp32": size_breakdown(fp32), **built}


def outside(parity: dict[str, Any], tolerance: dict[str, float | None]) -> list[str]:
    """Each parity figure past its tolerance, worded (``null`` tolerances are unchecked)."""
    measured = {
        "max_abs_price_diff": parity["max_abs_price_diff"],
        "mean_abs_price_diff": parity["mean_abs_price_diff"],
        "max_rel_price_diff": parity["max_rel_price_diff"],
        "max_crps_change": abs(parity["crps_change"]),
        "max_coverage_change": (
            None if parity["coverage_90_change"] is None else abs(parity["coverage_90_change"])
        ),
    }
    return [
        f"{key} {value:.4g} > {tolerance[key]:g}"
        for key, value in measured.items()
        if tolerance[key] is not None and value is not None and not value <= tolerance[key]
    ]
