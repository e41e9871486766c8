"""Nodes of the export pipeline: a trained artefact to a staged, self-describing ONNX file."""

from __future__ import annotations

import dataclasses
import json
import logging
from typing import Any

import numpy as np
import onnx
import pandas as pd

from lstm_forecast import models
from lstm_forecast.errors import ArtifactError
from lstm_forecast.lineage import fingerprint_arrays, fingerprint_json, require_same
from lstm_forecast.onnx.contract import (
    CANDLES,
    CLOSE_QUANTILES,
    OnnxContract,
    Scaler,
    shape_of,
    stamp,
)
from lstm_forecast.timeseries.assets import window_assets
from lstm_forecast.timeseries.features import (
    EXTRAPOLATION_MARGIN,
    EXTRAPOLATION_RULE,
    context_length,
)
from lstm_forecast.timeseries.reference import python_path_prices, reference_inputs

from .params import ExportParams
from .sidecar import forecaster_sidecar

logger = logging.getLogger(__name__)


def export_onnx(
    trained_model: dict[str, Any],
    feature_scaler: dict[str, Any],
    split_boundaries: dict[str, Any],
    data_quality_report: dict[str, Any],
    export: ExportParams,
    *,
    kind: str,
) -> onnx.ModelProto:
    """Export a trained model to ONNX with its contract in the metadata.

    The result is staged: the validation stage publishes it only once every check passed.

    Args:
        trained_model: The kind's trained artefact.
        feature_scaler: Scaler parameters fit on the training split.
        split_boundaries: The chronological split (gives the training range).
        data_quality_report: Ingestion's report (gives the bar interval).
        export: ``params:export``.
        kind: The registered model kind.

    Returns:
        The ONNX model with input ``window``, output ``forecast`` and the contract.

    Raises:
        LineageError: When the model was trained on another scaler than the one given.
        ArtifactError: When a trained weight is not finite, or the opset differs.
    """
    meta = trained_model["meta"]
    require_same(
        meta["lineage"],
        {"scaler": fingerprint_json(feature_scaler)},
        what=f"{kind}.trained_model",
        rerun=f"rerun training (`kedro run --from-nodes={kind}.train`).",
    )
    model_kind = models.get(kind)
    weights = model_kind.weights(trained_model)
    bad = sorted(name for name, values in weights.items() if not np.isfinite(values).all())
    if bad:
        raise ArtifactError(
            f"The {kind} model has non-finite weights in {bad}: the checkpoint is damaged or "
            f"training diverged. Retrain: `kedro run --from-nodes={kind}.train`."
        )
    model = model_kind.to_onnx(trained_model, export)
    produced = {op.domain: op.version for op in model.opset_import}.get("")
    if produced != export.opset:
        raise ArtifactError(
            f"Asked for ONNX opset {export.opset} but the {kind} converter produced {produced}."
        )
    contract = OnnxContract(
        model_kind=kind,
        feature_names=tuple(meta["feature_names"]),
        window_length=int(meta["window_length"]),
        feature_set=str(feature_scaler.get("feature_set", "basic")),
        context_length=context_length(int(meta["window_length"]), meta["feature_names"]),
        interval=str(data_quality_report["interval"]),
        horizon=int(meta["horizon"]),
        quantiles=tuple(meta["quantiles"]),
        target_kind=feature_scaler["target_kind"],
        scaler=Scaler.from_dict(feature_scaler),
        training_range={
            "start": split_boundaries["train_start"],
            "end_before": split_boundaries["val_start"],
        },
        lineage=dict(meta["lineage"]) | {"trained_model": fingerprint_arrays(weights)},
        feature_range=_feature_range(feature_scaler),
        exporter=model_kind.exporter(export),
    )
    logger.info(
        "Exported %s at opset %d: %s %s -> %s %s.",
        kind,
        export.opset,
        model.graph.input[0].name,
        shape_of(model.graph.input[0]),
        model.graph.output[0].name,
        shape_of(model.graph.output[0]),
    )
    return stamp(model, contract, doc=f"{kind} quantile forecaster; see metadata_props.")


def export_forecaster(
    staged_onnx_model: onnx.ModelProto,
    trained_model: dict[str, Any],
    candles: pd.DataFrame,
    test_windows: pd.DataFrame,
    export: ExportParams,
    *,
    kind: str,
) -> tuple[onnx.ModelProto, dict[str, Any]]:
    """Wrap a staged model into the self-contained forecaster, with its JSON sidecar.

    Args:
        staged_onnx_model: The kind's staged model (its contract gives features and scaler).
        trained_model: The artefact, for the reference example's expected outputs.
        candles: Clean candles (the reference example is a real window of the test split).
        test_windows: Test window index (its last window is the reference example).
        export: ``params:export`` (``opset``).
        kind: The registered model kind.

    Returns:
        ``forecaster.onnx`` (``candles``, ``open_time`` -> ``close_quantiles``,
        ``window_ok``) with the sidecar in its ``metadata_props``, and the sidecar itself.
    """
    from lstm_forecast.onnx.forecaster_graph import build_forecaster  # noqa: PLC0415 - torch

    contract = OnnxContract.from_model(staged_onnx_model)
    forecaster = build_forecaster(staged_onnx_model, contract, export.opset)
    # The first asset's last test window: the shipped default (BTCUSDT) has the example
    # the Node client reproduces, whatever other assets the model was trained on.
    assets = list(dict.fromkeys(window_assets(test_windows).tolist()))
    end = int(test_windows["end_row"][window_assets(test_windows) == assets[0]].iloc[-1])
    rows = candles.iloc[end - contract.input_length + 1 : end + 1]
    example = reference_inputs(rows)
    expected = python_path_prices(models.get(kind).predictor(trained_model), contract, rows)
    wrapper = dataclasses.replace(
        contract,
        artifact="forecaster",
        input_name=CANDLES,
        output_name=CLOSE_QUANTILES,
    )
    sidecar = forecaster_sidecar(wrapper, example, expected)
    if "asset" in test_windows:  # trained and validated on these; the example is the first's
        sidecar["assets"] = assets
        sidecar["reference_example"]["asset"] = assets[0]
    stamp(forecaster, wrapper, doc=f"{kind} forecaster: raw candles in, price quantiles out.")
    onnx.helper.set_model_props(
        forecaster, wrapper.to_metadata_props() | {"sidecar": json.dumps(sidecar)}
    )
    return forecaster, sidecar


def _feature_range(feature_scaler: dict[str, Any]) -> dict[str, Any] | None:
    """The training range and margin the forecaster's ``extrapolating`` output checks."""
    if "feature_min" not in feature_scaler:  # a scaler from before the range was recorded
        return None
    return {
        "min": feature_scaler["feature_min"],
        "max": feature_scaler["feature_max"],
        "margin": EXTRAPOLATION_MARGIN,
        "rule": EXTRAPOLATION_RULE,
    }
