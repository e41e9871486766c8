"""What every exported model promises its consumers, and how to run it without torch.

Input ``window``: ``[batch, window_length, n_features]`` float32 of scaled features.
Output ``forecast``: ``[batch, 1]`` float32, the scaled target. ``metadata_props`` carry
everything needed to go from raw candles to that input and from that output to a price.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import onnx
import onnxruntime as ort

import lstm_forecast

INPUT_NAME = "window"
OUTPUT_NAME = "forecast"
PRODUCER_NAME = "lstm-forecast"

# metadata_props values are strings; these keys hold JSON.
_JSON_KEYS = ("feature_names", "scaler", "target", "training_range")

_OPTIMISATION_LEVELS = {
    "disable": ort.GraphOptimizationLevel.ORT_DISABLE_ALL,
    "basic": ort.GraphOptimizationLevel.ORT_ENABLE_BASIC,
    "extended": ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED,
    "all": ort.GraphOptimizationLevel.ORT_ENABLE_ALL,
}


def build_metadata(
    *,
    model_kind: str,
    feature_scaler: dict[str, Any],
    window_length: int,
    interval: str,
    split_boundaries: dict[str, Any],
    exporter: str,
) -> dict[str, str]:
    """Describe a model for a torch-free consumer.

    Args:
        model_kind: e.g. ``lstm`` or ``sklearn``.
        feature_scaler: Output of the features stage's ``fit_scaler``.
        window_length: Bars per input window.
        interval: Bar interval (pandas offset alias).
        split_boundaries: Output of ``split_chronologically``.
        exporter: Which converter wrote the graph.

    Returns:
        String key/value pairs for ``metadata_props``.
    """
    metadata = {
        "model_kind": model_kind,
        "input_name": INPUT_NAME,
        "output_name": OUTPUT_NAME,
        "feature_names": feature_scaler["feature_names"],
        "window_length": str(window_length),
        "interval": interval,
        "target": {
            "kind": feature_scaler["target_kind"],
            "horizon_bars": 1,
            "unscale": "y = forecast * scaler.target_scale + scaler.target_mean",
            "to_price": feature_scaler["target_formula"],
        },
        "scaler": {
            "feature_mean": feature_scaler["mean"],
            "feature_scale": feature_scaler["scale"],
            "target_mean": feature_scaler["target_mean"],
            "target_scale": feature_scaler["target_scale"],
            "apply": "scaled = (feature - feature_mean) / feature_scale",
        },
        "training_range": {
            "start": split_boundaries["train_start"],
            "end_before": split_boundaries["val_start"],
        },
        "exporter": exporter,
        "project_version": lstm_forecast.__version__,
    }
    return {
        key: json.dumps(value) if key in _JSON_KEYS else str(value)
        for key, value in metadata.items()
    }


def stamp(model: onnx.ModelProto, metadata: dict[str, str], doc: str) -> onnx.ModelProto:
    """Write ``metadata`` and the producer into ``model`` (in place) and return it."""
    del model.metadata_props[:]
    onnx.helper.set_model_props(model, metadata)
    model.producer_name = PRODUCER_NAME
    model.producer_version = lstm_forecast.__version__
    model.doc_string = doc
    return model


def read_metadata(model: onnx.ModelProto | ort.InferenceSession) -> dict[str, Any]:
    """Parse ``metadata_props`` of a model or a session, JSON values decoded."""
    if isinstance(model, onnx.ModelProto):
        raw = {prop.key: prop.value for prop in model.metadata_props}
    else:
        raw = dict(model.get_modelmeta().custom_metadata_map)
    parsed: dict[str, Any] = {
        key: json.loads(value) if key in _JSON_KEYS else value for key, value in raw.items()
    }
    if "window_length" in parsed:
        parsed["window_length"] = int(parsed["window_length"])
    return parsed


def make_session(model: onnx.ModelProto | bytes, runtime: dict[str, Any]) -> ort.InferenceSession:
    """Open an onnxruntime CPU session with the project's session settings.

    Args:
        model: The model, or its serialised bytes.
        runtime: ``intra_op_num_threads``, ``inter_op_num_threads`` (0 = onnxruntime's
            choice) and ``graph_optimization_level`` (disable | basic | extended | all).

    Returns:
        An ``InferenceSession`` on the CPU execution provider.
    """
    options = ort.SessionOptions()
    options.intra_op_num_threads = int(runtime.get("intra_op_num_threads", 0))
    options.inter_op_num_threads = int(runtime.get("inter_op_num_threads", 0))
    options.graph_optimization_level = _OPTIMISATION_LEVELS[
        runtime.get("graph_optimization_level", "all")
    ]
    payload = model if isinstance(model, bytes) else model.SerializeToString()
    return ort.InferenceSession(payload, options, providers=["CPUExecutionProvider"])


def run_batched(session: ort.InferenceSession, windows: np.ndarray, batch_size: int) -> np.ndarray:
    """Run ``windows`` through ``session`` ``batch_size`` at a time; returns ``[n, 1]``."""
    outputs = [
        session.run([OUTPUT_NAME], {INPUT_NAME: windows[start : start + batch_size]})[0]
        for start in range(0, len(windows), batch_size)
    ]
    return np.concatenate(outputs, axis=0)


def shape_of(value_info: onnx.ValueInfoProto) -> list[str | int]:
    """Dimensions of a graph input/output: a name where symbolic, a number where fixed."""
    return [dim.dim_param or dim.dim_value for dim in value_info.type.tensor_type.shape.dim]
