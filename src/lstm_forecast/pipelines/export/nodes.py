"""Nodes of the export pipeline."""

from __future__ import annotations

import logging
from typing import Any

import onnx

from lstm_forecast.onnx_contract import build_metadata, shape_of, stamp

from .torch_export import export_checkpoint

logger = logging.getLogger(__name__)


def export_onnx(
    model_checkpoint: dict[str, Any],
    feature_scaler: dict[str, Any],
    split_boundaries: dict[str, Any],
    export: dict[str, Any],
    interval: str,
) -> onnx.ModelProto:
    """Export the trained LSTM to ONNX with everything serving needs in its metadata.

    Args:
        model_checkpoint: The best Lightning checkpoint.
        feature_scaler: Scaler parameters fit on the training split.
        split_boundaries: The chronological split (gives the training range).
        export: ``params:export``.
        interval: Bar interval of the candles.

    Returns:
        The ONNX model, stamped with metadata.
    """
    model = export_checkpoint(model_checkpoint, export)
    window_length = int(model_checkpoint["hyper_parameters"]["window_length"])
    metadata = build_metadata(
        model_kind="lstm",
        feature_scaler=feature_scaler,
        window_length=window_length,
        interval=interval,
        split_boundaries=split_boundaries,
        exporter=f"torch {export['exporter']}",
    )
    logger.info(
        "Exported the LSTM with the %s exporter, opset %d: %s %s -> %s %s.",
        export["exporter"],
        export["opset"],
        model.graph.input[0].name,
        shape_of(model.graph.input[0]),
        model.graph.output[0].name,
        shape_of(model.graph.output[0]),
    )
    return stamp(model, metadata, doc="LSTM next-bar forecaster; see metadata_props.")
