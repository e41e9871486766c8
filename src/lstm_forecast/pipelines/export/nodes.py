"""Nodes of the export pipeline."""

from __future__ import annotations

import logging
from typing import Any

import onnx

from lstm_forecast.onnx_contract import build_metadata, shape_of, stamp

from .sklearn_export import export_estimator
from .torch_export import export_checkpoint

logger = logging.getLogger(__name__)

# One converter per kind of trained artefact; everything after conversion is shared.
_CONVERTERS = {"torch": export_checkpoint, "skl2onnx": export_estimator}


def export_onnx(
    trained_model: Any,
    feature_scaler: dict[str, Any],
    split_boundaries: dict[str, Any],
    export: dict[str, Any],
    interval: str,
) -> onnx.ModelProto:
    """Export a trained model to ONNX with everything serving needs in its metadata.

    Args:
        trained_model: The LSTM checkpoint, or the fitted scikit-learn estimator.
        feature_scaler: Scaler parameters fit on the training split.
        split_boundaries: The chronological split (gives the training range).
        export: ``params:export.<model>`` (``model_kind``, ``converter``, ``opset``, ...).
        interval: Bar interval of the candles.

    Returns:
        The ONNX model with input ``window``, output ``forecast`` and metadata.
    """
    converter = export["converter"]
    if converter not in _CONVERTERS:
        raise ValueError(
            f"export converter must be one of {sorted(_CONVERTERS)}, not {converter!r}."
        )
    model = _CONVERTERS[converter](trained_model, export)
    exporter = converter if converter != "torch" else f"torch {export['exporter']}"
    metadata = build_metadata(
        model_kind=export["model_kind"],
        feature_scaler=feature_scaler,
        window_length=_trained_window_length(trained_model),
        interval=interval,
        split_boundaries=split_boundaries,
        exporter=exporter,
    )
    logger.info(
        "Exported %s with %s, opset %d: %s %s -> %s %s.",
        export["model_kind"],
        exporter,
        export["opset"],
        model.graph.input[0].name,
        shape_of(model.graph.input[0]),
        model.graph.output[0].name,
        shape_of(model.graph.output[0]),
    )
    return stamp(
        model, metadata, doc=f"{export['model_kind']} next-bar forecaster; see metadata_props."
    )


def _trained_window_length(trained_model: Any) -> int:
    if isinstance(trained_model, dict):
        return int(trained_model["hyper_parameters"]["window_length"])
    return int(trained_model.window_length_)
