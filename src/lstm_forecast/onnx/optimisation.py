"""Faster or smaller copies of a validated ONNX file: onnxruntime's optimised graph, int8.

Torch-free (onnx and onnxruntime only), so a serving machine can rebuild them.

- ``optimise``: the graph onnxruntime runs after its offline optimisations, saved through
  ``SessionOptions.optimized_model_filepath``. Level ``extended`` by default: ``all``
  adds layout transforms (NCHWc) that onnxruntime itself says are tied to the CPU that
  made the file, while ``extended`` stays portable.
- ``quantise_int8``: dynamic quantisation (int8 weights, activations quantised per call)
  after onnxruntime's quantisation pre-processing. ``quantize_dynamic`` only quantises an
  ``LSTM`` whose ``W`` and ``R`` are graph constants; the dynamo exporter builds them
  with Slice/Concat once they outgrow onnxscript's constant folding (about hidden 46 and
  up), so ``quant_pre_process`` folds them first, and ``require_quantised`` refuses a
  result that left an op it was asked to quantise in float32.

Both keep the source's ``metadata_props`` (the contract) and check that they did.
"""

from __future__ import annotations

import collections
import logging
import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import onnxruntime as ort
from onnxruntime.quantization import QuantType, quant_pre_process, quantize_dynamic

from lstm_forecast.errors import ArtifactError
from lstm_forecast.timeseries import scoring

logger = logging.getLogger(__name__)

OPTIMISATION_LEVELS = {
    "basic": ort.GraphOptimizationLevel.ORT_ENABLE_BASIC,
    "extended": ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED,
    "all": ort.GraphOptimizationLevel.ORT_ENABLE_ALL,
}
WEIGHT_TYPES = {"qint8": QuantType.QInt8, "quint8": QuantType.QUInt8}
# Float op -> the ops that replace it once quantised (onnxruntime's IntegerOps registry).
QUANTISED_FORMS = {
    "LSTM": ("DynamicQuantizeLSTM",),
    "MatMul": ("MatMulInteger", "DynamicQuantizeMatMul", "MatMulIntegerToFloat"),
    "Gemm": ("MatMulInteger", "DynamicQuantizeMatMul", "MatMulIntegerToFloat"),
}
# The input that holds each op's weights (an LSTM's W; R is checked with it).
_WEIGHT_INPUTS = {"LSTM": (1, 2), "MatMul": (1,), "Gemm": (1,)}
DEFAULT_OP_TYPES = ("LSTM", "MatMul", "Gemm")
_CPU_FLAGS = ("avx2", "fma", "avx512f", "avx512bw", "avx512_vnni", "avx_vnni", "amx_int8")


class QuantisationError(ArtifactError):
    """Quantisation left the ops it was asked to quantise in float32, or found none."""


def optimise(model: onnx.ModelProto, level: str = "extended") -> onnx.ModelProto:
    """The graph onnxruntime runs after its offline optimisations at ``level``.

    Args:
        model: A float ONNX model.
        level: ``basic`` | ``extended`` (portable, the default) | ``all`` (CPU-specific).

    Returns:
        The optimised model, with the source's ``metadata_props``.
    """
    if level not in OPTIMISATION_LEVELS:
        raise ValueError(f"level must be one of {sorted(OPTIMISATION_LEVELS)}, not {level!r}.")
    options = ort.SessionOptions()
    options.graph_optimization_level = OPTIMISATION_LEVELS[level]
    with tempfile.TemporaryDirectory(prefix=f"lstm-forecast-opt-{os.getpid()}-") as folder:
        options.optimized_model_filepath = str(Path(folder) / "optimised.onnx")
        ort.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])
        optimised = onnx.load_model(options.optimized_model_filepath)
    return carry_metadata(model, optimised)


def quantise_int8(
    model: onnx.ModelProto,
    *,
    weight_type: str = "qint8",
    per_channel: bool = False,
    reduce_range: bool = False,
    op_types: tuple[str, ...] = DEFAULT_OP_TYPES,
) -> onnx.ModelProto:
    """Dynamic int8 quantisation after the quantisation pre-processing, checked.

    Args:
        model: A float ONNX model.
        weight_type: ``qint8`` | ``quint8`` for MatMul/Gemm weights (an LSTM's weights are
            always int8 in onnxruntime).
        per_channel: One scale per output channel instead of one per tensor.
        reduce_range: 7-bit weights (for CPUs without VNNI, against saturation).
        op_types: Which float ops to quantise; each of them must come out quantised.

    Returns:
        The quantised model, with the source's ``metadata_props``.

    Raises:
        QuantisationError: Naming each op of ``op_types`` left in float32, or saying that
            nothing was quantised.
    """
    if weight_type not in WEIGHT_TYPES:
        raise ValueError(f"weight_type must be one of {sorted(WEIGHT_TYPES)}, not {weight_type!r}.")
    if not op_types:
        # quantize_dynamic reads an empty list as "every op type it knows".
        raise QuantisationError("op_types is empty: nothing would be quantised.")
    with tempfile.TemporaryDirectory(prefix=f"lstm-forecast-int8-{os.getpid()}-") as folder:
        prepared, quantised = Path(folder) / "prepared.onnx", Path(folder) / "int8.onnx"
        # Symbolic and ONNX shape inference plus onnxruntime's basic optimisations, whose
        # constant folding turns an exported LSTM's Slice/Concat weights into initializers.
        quant_pre_process(_single_opsets(model), str(prepared))
        quantize_dynamic(
            str(prepared),
            str(quantised),
            op_types_to_quantize=list(op_types),
            per_channel=per_channel,
            reduce_range=reduce_range,
            weight_type=WEIGHT_TYPES[weight_type],
        )
        result = onnx.load_model(str(quantised))
    require_quantised(model, result, op_types)
    return carry_metadata(model, result)


def _single_opsets(model: onnx.ModelProto) -> onnx.ModelProto:
    """A copy with one ``opset_import`` per domain: graphs joined by ``onnx.compose`` (the
    forecaster) repeat them, and the quantiser refuses more than one ``ai.onnx`` entry."""
    copy = onnx.ModelProto()
    copy.CopyFrom(model)
    versions: dict[str, int] = {}
    for opset in model.opset_import:
        domain = "" if opset.domain == "ai.onnx" else opset.domain
        versions[domain] = max(versions.get(domain, 0), opset.version)
    del copy.opset_import[:]
    copy.opset_import.extend(onnx.helper.make_opsetid(d, v) for d, v in versions.items())
    return copy


def require_quantised(
    source: onnx.ModelProto, result: onnx.ModelProto, op_types: tuple[str, ...]
) -> dict[str, int]:
    """Check that every float op of ``op_types`` with constant weights was quantised.

    Returns:
        The quantised ops in ``result`` by type, e.g. ``{"DynamicQuantizeLSTM": 1}``.

    Raises:
        QuantisationError: When ``source`` has no such op, when ``result`` still holds one
            (named, with its node), or when ``result`` holds no quantised op at all.
    """
    candidates = weight_ops(source, op_types)
    if not candidates:
        raise QuantisationError(
            f"Nothing to quantise: the graph has no {'/'.join(op_types)} op with constant "
            "weights, so an int8 variant would be the float model under another name."
        )
    left = weight_ops(result, op_types)
    found = quantised_ops(result)
    if left:
        named = ", ".join(f"{op} node {name!r}" for name, op in left)
        raise QuantisationError(
            f"int8 quantisation left {named} in float32 (found quantised: {found or 'none'}). "
            "An LSTM is only quantised when its W and R are graph constants; check that "
            "quant_pre_process folded them, or drop the op from variants.int8.op_types."
        )
    if not found:
        raise QuantisationError(
            f"Nothing was quantised: {[op for _, op in candidates]} did not become "
            f"{sorted({q for op in op_types for q in QUANTISED_FORMS.get(op, ())})}."
        )
    return found


def weight_ops(model: onnx.ModelProto, op_types: tuple[str, ...]) -> list[tuple[str, str]]:
    """``(node name, op type)`` of each float ``op_types`` node whose weights are constant.

    A weight is constant when it does not depend on a graph input: an initializer, a
    ``Constant``, or computed from those only (the dynamo exporter's Slice/Concat).
    """
    constant = {tensor.name for tensor in model.graph.initializer}
    found = []
    for node in model.graph.node:
        inputs = [name for name in node.input if name]
        if node.op_type == "Constant" or (inputs and all(name in constant for name in inputs)):
            constant.update(node.output)
        weights = _WEIGHT_INPUTS.get(node.op_type, ())
        if (
            node.op_type in op_types
            and weights
            and all(len(node.input) > i and node.input[i] in constant for i in weights)
        ):
            found.append((node.name or node.output[0], node.op_type))
    return found


def quantised_ops(model: onnx.ModelProto) -> dict[str, int]:
    """How many ops of each quantised type the graph holds."""
    quantised = {name for forms in QUANTISED_FORMS.values() for name in forms}
    return dict(collections.Counter(n.op_type for n in model.graph.node if n.op_type in quantised))


def carry_metadata(source: onnx.ModelProto, result: onnx.ModelProto) -> onnx.ModelProto:
    """Give ``result`` exactly the ``metadata_props``, producer and doc of ``source``.

    onnxruntime's tools keep the contract in the versions tested, but nothing promises it,
    and the quantiser adds its own tags (``onnx.quant.pre_process``: plain text), which a
    reader of the contract, where every value is JSON, would refuse.
    """
    props = {prop.key: prop.value for prop in result.metadata_props}
    lost = [p.key for p in source.metadata_props if props.get(p.key) != p.value]
    if lost:
        logger.info("Re-stamped metadata_props %s lost by onnxruntime's tool.", lost)
    del result.metadata_props[:]
    onnx.helper.set_model_props(result, {p.key: p.value for p in source.metadata_props})
    result.producer_name = source.producer_name
    result.producer_version = source.producer_version
    result.doc_string = source.doc_string
    return result


def size_bytes(model: onnx.ModelProto) -> int:
    """Size of the model's file on disk (weights inside, no external data)."""
    return model.ByteSize()


def price_parity(
    reference: np.ndarray, candidate: np.ndarray, actual: np.ndarray, levels: tuple[float, ...]
) -> dict[str, Any]:
    """How far a variant's price quantiles are from the float model's, in user terms.

    Args:
        reference: ``[n, horizon, q]`` prices from the float model.
        candidate: The same from the variant.
        actual: ``[n, horizon]`` realised closes (NaN where not known).
        levels: The quantile levels.

    Returns:
        Max and mean absolute price difference (quote currency, e.g. USD), max relative
        difference, and for both models the mean CRPS and the 90% interval coverage with
        the variant's change (``None`` where the levels hold no 90% interval).
    """
    difference = np.abs(candidate - reference)
    known = ~np.isnan(actual).any(axis=1)
    crps = [
        float(scoring.crps_per_forecast(actual[known], prices[known], levels).mean())
        for prices in (reference, candidate)
    ]
    coverage = [
        scoring.interval_coverage(actual[known], prices[known], list(levels), 0.9)
        for prices in (reference, candidate)
    ]
    reference_cov, candidate_cov = (c["coverage"] if c else None for c in coverage)
    return {
        "windows": len(reference),
        "max_abs_price_diff": float(difference.max()),
        "mean_abs_price_diff": float(difference.mean()),
        "max_rel_price_diff": float((difference / np.abs(reference)).max()),
        "crps_fp32": crps[0],
        "crps": crps[1],
        "crps_change": crps[1] - crps[0],
        "coverage_90_fp32": reference_cov,
        "coverage_90": candidate_cov,
        "coverage_90_change": (
            None if reference_cov is None else candidate_cov - reference_cov  # type: ignore[operator]
        ),
    }


def cpu_flags() -> list[str]:
    """The CPU features int8 speed depends on, from /proc/cpuinfo (empty elsewhere)."""
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return []
    flags = next(
        (line.split(":", 1)[1].split() for line in text.splitlines() if line.startswith("flags")),
        [],
    )
    return [flag for flag in _CPU_FLAGS if flag in flags]
