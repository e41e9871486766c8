"""Nodes of the variants pipeline: derive, compare with the float file, publish what passed."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

import numpy as np
import onnx
import onnxruntime as ort
import pandas as pd

from lstm_forecast.datasets.onnx_variant_dataset import DroppedVariant
from lstm_forecast.errors import ValidationFailedError
from lstm_forecast.lineage import fingerprint_bytes, fingerprint_json
from lstm_forecast.onnx import optimisation as tools
from lstm_forecast.onnx.contract import (
    CLOSE_QUANTILES,
    OnnxContract,
    make_session,
    run_batched,
)
from lstm_forecast.params import OnnxRuntimeParams
from lstm_forecast.timeseries.preparation import require_windows_match
from lstm_forecast.timeseries.reference import contract_windows, raw_windows
from lstm_forecast.timeseries.targets import forecast_to_price

from .params import VariantsParams
from .runtimes import other_runtimes, outside, size_breakdowns

logger = logging.getLogger(__name__)

Candidate = onnx.ModelProto | DroppedVariant
_BATCH = 256


def optimise_variant(onnx_model: onnx.ModelProto, variants: VariantsParams) -> Candidate:
    """The graph after onnxruntime's offline optimisations (``variants.optimisation_level``).

    Returns:
        The optimised model, or with ``on_failure: drop`` a ``DroppedVariant`` saying why
        it could not be built.
    """
    return _build("opt", variants, lambda: tools.optimise(onnx_model, variants.optimisation_level))


def quantise_variant(onnx_model: onnx.ModelProto, variants: VariantsParams) -> Candidate:
    """Dynamic int8 quantisation, refused when it left an op of ``int8.op_types`` in float.

    Returns:
        The quantised model, or with ``on_failure: drop`` a ``DroppedVariant``.

    Raises:
        QuantisationError: With ``on_failure: fail``, naming each op left in float32.
    """
    settings = variants.int8
    return _build(
        "int8",
        variants,
        lambda: tools.quantise_int8(
            onnx_model,
            weight_type=settings.weight_type,
            per_channel=settings.per_channel,
            reduce_range=settings.reduce_range,
            op_types=settings.op_types,
        ),
    )


def check_model_variants(
    onnx_model: onnx.ModelProto,
    opt: Candidate,
    int8: Candidate,
    feature_table: pd.DataFrame,
    test_windows: pd.DataFrame,
    variants: VariantsParams,
    onnxruntime: OnnxRuntimeParams,
    *,
    kind: str,
) -> dict[str, Any]:
    """Compare ``model.onnx``'s variants with it on every test window, in prices.

    Returns:
        The variants report (see ``_report``).
    """
    require_windows_match(feature_table, test_windows, "test_windows")
    contract = OnnxContract.from_model(onnx_model)
    ends = test_windows["end_row"].to_numpy()
    windows = contract_windows(feature_table, ends, contract)
    close = feature_table["close"].to_numpy(dtype=np.float64)

    def prices(session: ort.InferenceSession) -> np.ndarray:
        return forecast_to_price(
            run_batched(session, windows, _BATCH),
            close[ends],
            target_mean=list(contract.scaler.target_mean),
            target_scale=list(contract.scaler.target_scale),
            kind=contract.target_kind,
        )

    actual = _actual(close, ends, contract.horizon)
    return _report(
        onnx_model, {"opt": opt, "int8": int8}, prices, actual, variants, onnxruntime, kind
    )


def check_forecaster_variants(
    forecaster: onnx.ModelProto,
    opt: Candidate,
    int8: Candidate,
    candles: pd.DataFrame,
    test_windows: pd.DataFrame,
    variants: VariantsParams,
    onnxruntime: OnnxRuntimeParams,
    *,
    kind: str,
) -> dict[str, Any]:
    """Compare ``forecaster.onnx``'s variants with it on the raw candles of every test window.

    Returns:
        The variants report (see ``_report``).
    """
    contract = OnnxContract.from_model(forecaster)
    ends = test_windows["end_row"].to_numpy()
    inputs = raw_windows(candles, ends, contract.input_length)

    def prices(session: ort.InferenceSession) -> np.ndarray:
        return np.concatenate(
            [
                session.run(
                    [CLOSE_QUANTILES],
                    {name: values[start : start + _BATCH] for name, values in inputs.items()},
                )[0]
                for start in range(0, len(ends), _BATCH)
            ]
        )

    actual = _actual(candles["close"].to_numpy(dtype=np.float64), ends, contract.horizon)
    return _report(
        forecaster, {"opt": opt, "int8": int8}, prices, actual, variants, onnxruntime, kind
    )


def publish_variant(
    candidate: Candidate, variants_report: dict[str, Any], *, variant: str
) -> Candidate:
    """Publish one variant if every variant passed (or was dropped), recording its parity.

    Args:
        candidate: The variant, or a ``DroppedVariant``.
        variants_report: Output of the check node.
        variant: ``opt`` | ``int8``.

    Returns:
        The variant with a ``variant`` entry in its ``metadata_props`` (name, the float
        file's sha256, parity figures), or the ``DroppedVariant``, which removes any
        earlier file at the published path so that a stale variant is never served.

    Raises:
        ValidationFailedError: When a variant failed its tolerance (``on_failure: fail``),
            with the figures; nothing of this stage is published.
    """
    if not variants_report["passed"]:
        failed = {
            name: entry["failures"]
            for name, entry in variants_report["variants"].items()
            if entry["verdict"] == "failed"
        }
        raise ValidationFailedError(
            f"{variants_report['artifact']} variants of the {variants_report['model_kind']} "
            "model are outside their tolerance (variants.tolerance), so none was published; "
            "loosen the tolerance, change the variant's settings, or set "
            "variants.on_failure: drop:\n- "
            + "\n- ".join(f"{name}: {'; '.join(found)}" for name, found in failed.items())
        )
    entry = variants_report["variants"][variant]
    if entry["verdict"] == "dropped":
        logger.warning("The %s variant was dropped: %s", variant, entry["failures"])
        if isinstance(candidate, DroppedVariant):
            return candidate
        return DroppedVariant(variant, "; ".join(entry["failures"]))
    published = onnx.ModelProto()
    published.CopyFrom(candidate)
    record = {
        "name": variant,
        "source_sha256": variants_report["fp32"]["sha256"],
        "report_sha256": fingerprint_json(variants_report),
        "parity": entry["parity"],
    }
    onnx.helper.set_model_props(
        published,
        {p.key: p.value for p in published.metadata_props} | {"variant": json.dumps(record)},
    )
    return published


def _build(
    variant: str, variants: VariantsParams, make: Callable[[], onnx.ModelProto]
) -> Candidate:
    try:
        return make()
    except Exception as error:
        if variants.on_failure == "fail":
            raise
        logger.warning("Could not build the %s variant, dropped: %s", variant, error)
        return DroppedVariant(variant, f"could not be built: {error}")


def _actual(close: np.ndarray, ends: np.ndarray, horizon: int) -> np.ndarray:
    rows = ends[:, None] + np.arange(1, horizon + 1)[None, :]
    inside = rows < len(close)
    return np.where(inside, close[np.minimum(rows, len(close) - 1)], np.nan)


def _report(
    fp32: onnx.ModelProto,
    candidates: dict[str, Candidate],
    prices: Callable[[ort.InferenceSession], np.ndarray],
    actual: np.ndarray,
    variants: VariantsParams,
    onnxruntime: OnnxRuntimeParams,
    kind: str,
) -> dict[str, Any]:
    """Each variant's size, parity with the float file, and verdict; ``passed`` is False
    when a variant failed and ``on_failure`` is ``fail``."""
    contract = OnnxContract.from_model(fp32)
    runtime = onnxruntime.as_dict()
    reference = prices(make_session(fp32, runtime))
    fp32_size = tools.size_bytes(fp32)
    entries: dict[str, dict[str, Any]] = {}
    for name, candidate in candidates.items():
        tolerance = getattr(variants.tolerance, name)
        if isinstance(candidate, DroppedVariant):
            entries[name] = {"verdict": "dropped", "failures": [candidate.reason], "parity": None}
            continue
        parity = tools.price_parity(
            reference, prices(make_session(candidate, runtime)), actual, contract.quantiles
        )
        failures = outside(parity, tolerance.model_dump())
        verdict = (
            "passed" if not failures else ("dropped" if variants.on_failure == "drop" else "failed")
        )
        entries[name] = {
            "verdict": verdict,
            "failures": failures,
            "size_bytes": tools.size_bytes(candidate),
            "size_ratio": tools.size_bytes(candidate) / fp32_size,
            "quantised_ops": tools.quantised_ops(candidate),
            "parity": parity,
        }
    for name, entry in entries.items():
        entry["tolerance"] = getattr(variants.tolerance, name).model_dump()
        logger.info(
            "%s %s variant of %s: %s (%s).",
            contract.artifact,
            name,
            kind,
            entry["verdict"].upper(),
            "; ".join(entry["failures"]) or _summary(entry["parity"]),
        )
    return {
        "passed": all(entry["verdict"] != "failed" for entry in entries.values()),
        "model_kind": kind,
        "artifact": contract.artifact,
        "on_failure": variants.on_failure,
        "fp32": {"size_bytes": fp32_size, "sha256": fingerprint_bytes(fp32.SerializeToString())},
        "windows_compared": len(reference),
        "settings": variants.model_dump(exclude={"tolerance"}),
        "variants": entries,
        "runtimes": other_runtimes(fp32, prices, reference, actual, variants, runtime),
        "size_breakdown": size_breakdowns(fp32, candidates),
        "onnxruntime": {"version": ort.__version__, "session": runtime},
        "cpu_flags": tools.cpu_flags(),
    }


def _summary(parity: dict[str, Any] | None) -> str:
    if parity is None:
        return "no figures"
    return (
        f"max |price diff| {parity['max_abs_price_diff']:.4g}, "
        f"mean {parity['mean_abs_price_diff']:.3g}, CRPS change {parity['crps_change']:+.3g}, "
        f"90% coverage change {parity['coverage_90_change']}"
    )
