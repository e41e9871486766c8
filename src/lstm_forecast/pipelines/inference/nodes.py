"""Nodes of the inference pipeline: clean candles and an ONNX file in, next-bar forecasts out.

Only onnxruntime, onnx, numpy and pandas are used here, never torch: the scaler, window
length, feature names and target definition all come from the ONNX file's metadata.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import onnx
import pandas as pd

import lstm_forecast
from lstm_forecast.errors import ArtifactError, CandleDataError
from lstm_forecast.onnx_contract import make_session, read_metadata, run_batched, shape_of
from lstm_forecast.timeseries.features import (
    FEATURE_NAMES,
    TARGET_KINDS,
    compute_features,
    forecast_to_price,
    scale_features,
)
from lstm_forecast.timeseries.windows import gather_windows, valid_window_ends

logger = logging.getLogger(__name__)

FORECAST_COLUMNS = ("forecast_time", "window_end", "last_close", "forecast_close", "model_kind")
_REQUIRED_METADATA = ("feature_names", "window_length", "interval", "target", "scaler")
_SCALER_KEYS = ("feature_mean", "feature_scale", "target_mean", "target_scale")


def read_model_contract(onnx_model: onnx.ModelProto, inference: dict[str, Any]) -> dict[str, Any]:
    """Read what the model expects from its metadata and check this code can provide it.

    Args:
        onnx_model: The exported model.
        inference: ``params:inference`` (uses ``interval``).

    Returns:
        The decoded metadata (``feature_names``, ``window_length``, ``interval``,
        ``target``, ``scaler``, ``model_kind``, ...).

    Raises:
        ArtifactError: If the metadata is incomplete, names features this code cannot
            compute, or disagrees with the graph's input shape.
        CandleDataError: If the model was trained on bars of another interval.
    """
    metadata = read_metadata(onnx_model)
    missing = [key for key in _REQUIRED_METADATA if key not in metadata]
    missing += [f"scaler.{key}" for key in _SCALER_KEYS if key not in metadata.get("scaler", {})]
    if missing:
        raise ArtifactError(
            f"The ONNX model's metadata lacks {missing}, so candles cannot be turned into its "
            "inputs. Re-export it with this project: `kedro run --pipelines=export`."
        )
    names = list(metadata["feature_names"])
    unknown = [name for name in names if name not in FEATURE_NAMES]
    if unknown:
        raise ArtifactError(
            f"The ONNX model expects feature column(s) {unknown} that this code cannot compute "
            f"from candles (it computes {list(FEATURE_NAMES)}). The model was written by "
            f"lstm-forecast {metadata.get('project_version', '?')}, this is "
            f"{lstm_forecast.__version__}: use the matching version or re-export the model."
        )
    scaler = metadata["scaler"]
    sizes = {len(scaler["feature_mean"]), len(scaler["feature_scale"])}
    declared = shape_of(onnx_model.graph.input[0])[-1]
    if sizes != {len(names)} or (isinstance(declared, int) and declared != len(names)):
        raise ArtifactError(
            f"The ONNX model is inconsistent: metadata names {len(names)} features, its scaler "
            f"has {sorted(sizes)} values and its input takes {declared} features per bar. "
            "Re-export it: `kedro run --pipelines=export`."
        )
    if metadata["target"].get("kind") not in TARGET_KINDS:
        raise ArtifactError(
            f"The ONNX model's target kind {metadata['target'].get('kind')!r} is not one of "
            f"{sorted(TARGET_KINDS)}, so its output cannot be turned into a price."
        )
    if pd.Timedelta(metadata["interval"]) != pd.Timedelta(inference["interval"]):
        raise CandleDataError(
            f"inference.interval={inference['interval']!r} but the model was trained on "
            f"{metadata['interval']!r} bars. Give candles of {metadata['interval']} and set "
            f"inference.interval={metadata['interval']}."
        )
    logger.info(
        "ONNX %s model: windows of %d x %s bars, features %s, target %s.",
        metadata.get("model_kind", "?"),
        metadata["window_length"],
        metadata["interval"],
        names,
        metadata["target"]["kind"],
    )
    return metadata


def forecast_next_closes(
    candles: pd.DataFrame,
    onnx_model: onnx.ModelProto,
    model_contract: dict[str, Any],
    inference: dict[str, Any],
    onnxruntime: dict[str, Any],
) -> pd.DataFrame:
    """Forecast the close of the bar after every full window of the (tail of the) candles.

    Args:
        candles: Clean candles from the ingestion node.
        onnx_model: The exported model.
        model_contract: Output of ``read_model_contract``.
        inference: ``params:inference`` (uses ``tail_rows``, ``batch_size``, ``source.path``).
        onnxruntime: onnxruntime session settings (``params:validation.onnxruntime``).

    Returns:
        One row per window that does not cross a gap, oldest first: ``forecast_time`` (the
        bar being forecast), ``window_end`` (the last bar used), ``last_close``,
        ``forecast_close`` and ``model_kind``. The last row is the next unseen bar.

    Raises:
        CandleDataError: If no gap-free run of candles is long enough for one window.
    """
    window_length = int(model_contract["window_length"])
    tail_rows = inference.get("tail_rows")
    if tail_rows is not None:
        candles = candles.tail(int(tail_rows)).reset_index(drop=True)
    _check_enough_bars(candles, window_length, inference)

    names = list(model_contract["feature_names"])
    scaler = model_contract["scaler"]
    matrix = scale_features(
        compute_features(candles)[names].to_numpy(), scaler["feature_mean"], scaler["feature_scale"]
    )
    # No target is needed: the bar after the window is what is being forecast.
    ends = valid_window_ends(
        candles["segment"].to_numpy(),
        np.isfinite(matrix).all(axis=1),
        np.ones(len(candles), dtype=bool),
        window_length,
    )
    if not len(ends):
        raise CandleDataError(
            f"{_source(inference)}: no window of {window_length} bars with finite features "
            "(check for zero or negative prices)."
        )

    session = make_session(onnx_model, onnxruntime)
    batch_size = int(inference.get("batch_size") or 256)
    # Windows are gathered one batch at a time, so memory does not grow with the CSV.
    scaled = np.concatenate(
        [
            run_batched(session, gather_windows(matrix, chunk, window_length), batch_size)
            for chunk in np.array_split(ends, list(range(batch_size, len(ends), batch_size)))
        ]
    )[:, 0]
    last_close = candles["close"].to_numpy(dtype=np.float64)[ends]
    window_end = candles["timestamp"].iloc[ends].reset_index(drop=True)
    forecasts = pd.DataFrame(
        {
            "forecast_time": window_end + pd.Timedelta(model_contract["interval"]),
            "window_end": window_end,
            "last_close": last_close,
            "forecast_close": forecast_to_price(
                scaled,
                last_close,
                target_mean=scaler["target_mean"],
                target_scale=scaler["target_scale"],
                kind=model_contract["target"]["kind"],
            ),
            "model_kind": str(model_contract.get("model_kind", "unknown")),
        }
    )
    latest = forecasts.iloc[-1]
    logger.info(
        "%d forecast(s) in batches of %d; next: close at %s = %.2f (last close %.2f).",
        len(forecasts),
        batch_size,
        latest["forecast_time"].isoformat(),
        latest["forecast_close"],
        latest["last_close"],
    )
    return forecasts


def format_forecasts(forecasts: pd.DataFrame) -> pd.DataFrame:
    """Make a human-readable copy of the forecasts: ISO times, prices to the cent.

    Args:
        forecasts: Output of ``forecast_next_closes``.

    Returns:
        The same rows and columns, timestamps as ISO 8601 strings, prices rounded to 2 places.
    """
    table = forecasts.copy()
    for column in ("forecast_time", "window_end"):
        table[column] = table[column].map(pd.Timestamp.isoformat)
    return table.round({"last_close": 2, "forecast_close": 2})


def _check_enough_bars(
    candles: pd.DataFrame, window_length: int, inference: dict[str, Any]
) -> None:
    """Refuse candles whose longest gap-free run cannot hold one window."""
    # The first bar of a run has no log return, so a window needs one bar before it.
    needed = window_length + 1
    sizes = candles["segment"].value_counts()
    longest = int(sizes.max()) if len(sizes) else 0
    if longest >= needed:
        return
    tail = inference.get("tail_rows")
    kept = f" (the last {tail} kept by inference.tail_rows)" if tail is not None else ""
    raise CandleDataError(
        f"{_source(inference)}: too few candles for one forecast: the model's window is "
        f"{window_length} bars (from its ONNX metadata), so it needs at least {needed} "
        f"consecutive bars without a gap ({window_length} + 1 for the first return); found "
        f"{len(candles)} bar(s){kept}, the longest gap-free run has {longest}. Fix: give a "
        "CSV with more recent candles, or raise inference.tail_rows (null = all)."
    )


def _source(inference: dict[str, Any]) -> str:
    return str((inference.get("source") or {}).get("path") or "<inference.raw_candles>")
