"""Nodes of the inference pipeline: clean candles and a published forecaster in, prices out.

Only onnxruntime, onnx, numpy and pandas are used here, never torch, and no feature code:
``forecaster.onnx`` computes the features, scaling and prices itself.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import numpy as np
import onnx
import pandas as pd

from lstm_forecast.errors import ArtifactError, CandleDataError
from lstm_forecast.onnx.contract import CLOSE_QUANTILES, EXTRAPOLATING, WINDOW_OK, OnnxContract
from lstm_forecast.params import OnnxRuntimeParams
from lstm_forecast.timeseries import forecasts
from lstm_forecast.timeseries.reference import raw_windows
from lstm_forecast.timeseries.windows import valid_window_ends

from .params import InferenceParams
from .runtime import open_checked_runtime

logger = logging.getLogger(__name__)


def choose_forecaster(
    published_onnx_files: dict[str, Callable[[], onnx.ModelProto]], inference: InferenceParams
) -> onnx.ModelProto:
    """Load the published forecaster that ``inference.model`` and ``inference.variant`` name.

    Args:
        published_onnx_files: Lazy loaders of every published ONNX file, by file stem.
        inference: ``params:inference``.

    Returns:
        The forecaster (``forecaster[.opt|.int8].onnx``, or ``<kind>.forecaster...``).

    Raises:
        ArtifactError: If that file was not published (not run, or failed its checks).
    """
    stem = "forecaster" if inference.model == "lstm" else f"{inference.model}.forecaster"
    if inference.variant != "fp32":
        stem += f".{inference.variant}"
    if stem not in published_onnx_files:
        raise ArtifactError(
            f"No published data/06_models/{stem}.onnx: run `kedro run` (and, for a variant, "
            "`kedro run --pipelines=variants`); a file that failed its checks is never "
            "published. Or serve another one with inference.model / inference.variant."
        )
    return published_onnx_files[stem]()


def read_model_contract(forecaster: onnx.ModelProto) -> dict[str, Any]:
    """Check that the chosen forecaster passed validation, and return its contract.

    Args:
        forecaster: The published forecaster chosen by ``choose_forecaster``.

    Returns:
        Its contract as plain JSON.

    Raises:
        ArtifactError: If its contract is invalid or does not record a passed validation.
    """
    contract = OnnxContract.from_model(forecaster)
    if contract.artifact != "forecaster" or not (contract.validation or {}).get("passed"):
        raise ArtifactError(
            f"The {contract.model_kind} forecaster does not record a passed validation (see "
            f"data/08_reporting/{contract.model_kind}_forecaster_validation_report.json); it "
            "will not be served. Rerun `kedro run` so that validation can publish one."
        )
    logger.info(
        "Serving the %s forecaster: inputs of %d bars (windows of %d) of %s, %d steps ahead, "
        "quantiles %s.",
        contract.model_kind,
        contract.input_length,
        contract.window_length,
        contract.interval,
        contract.horizon,
        list(contract.quantiles),
    )
    return contract.to_dict()


def forecast_from_candles(
    candles: pd.DataFrame,
    data_quality_report: dict[str, Any],
    forecaster: onnx.ModelProto,
    model_contract: dict[str, Any],
    inference: InferenceParams,
    onnxruntime: OnnxRuntimeParams,
) -> pd.DataFrame:
    """Forecast the next ``horizon`` closes after every full window of the (tail of the) candles.

    Raw candles go straight into ``forecaster.onnx``, which computes the features itself.

    Returns:
        One row per window origin and horizon step, oldest first: ``origin_time`` (the last
        bar used), ``h``, ``forecast_time``, ``last_close`` and one price column per quantile.
        The last origin's rows are the forecast of the bars not yet seen.

    Raises:
        CandleDataError: If no gap-free run of candles is long enough for one window.
    """
    contract = OnnxContract.from_dict(model_contract)
    if inference.tail_rows is not None:
        # The last bars of each asset (assets are stacked one after another).
        recent = candles.groupby("asset", sort=False) if "asset" in candles else candles
        candles = recent.tail(inference.tail_rows).reset_index(drop=True)
    sections = data_quality_report.get("by_asset") or {"": data_quality_report}
    files = [str(section.get("source_file")) for section in sections.values()]
    source = ", ".join(files) if all(files) else "the inference CSV"
    _check_enough_bars(candles, contract, inference, source)
    # A forecast reads input_length (context_length + 1) bars of one gap-free run.
    ends = valid_window_ends(
        candles["segment"].to_numpy(),
        np.ones(len(candles), dtype=bool),
        np.ones(len(candles), dtype=bool),
        contract.input_length,
    )
    size = inference.batch_size
    first = ends[:size]
    session = open_checked_runtime(
        forecaster, inference, onnxruntime, raw_windows(candles, first, contract.input_length)
    )
    prices, keep, outside = _run_batches(session, candles, ends, contract, size)
    if not keep.all():
        logger.warning("%d window(s) flagged by window_ok were left out.", int((~keep).sum()))
    ends = ends[keep]
    if not len(ends):
        raise CandleDataError(
            f"{source}: no window of {contract.input_length} bars passed the "
            "forecaster's window_ok check (check for zero or negative prices)."
        )
    table = forecasts.to_frame(
        candles["timestamp"].to_numpy()[ends],
        candles["close"].to_numpy(dtype=np.float64)[ends],
        prices[keep],
        contract.quantiles,
        contract.interval,
    ).assign(model_kind=contract.model_kind)
    # Features beyond the training range (contract.feature_range): the forecast extrapolates.
    flagged = outside[keep]
    table["extrapolating"] = np.repeat(flagged, contract.horizon)
    if flagged.any():
        logger.warning(
            "%d of %d window(s) have features beyond the training range (extrapolating); "
            "their forecasts are less trustworthy.",
            int(flagged.sum()),
            len(flagged),
        )
    if "asset" in candles:  # one forecaster for every asset: which one each row forecasts
        table.insert(0, "asset", np.repeat(candles["asset"].to_numpy()[ends], contract.horizon))
    latest = table[table["origin_time"] == table["origin_time"].max()].head(contract.horizon)
    logger.info(
        "%d origin(s); next %d bars from %s: median %s .. %s.",
        len(ends),
        contract.horizon,
        latest["forecast_time"].iloc[0].isoformat(),
        round(float(latest["q0.5"].iloc[0]), 2),
        round(float(latest["q0.5"].iloc[-1]), 2),
    )
    return table


def _run_batches(
    session: Any, candles: pd.DataFrame, ends: np.ndarray, contract: OnnxContract, size: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``close_quantiles``, ``window_ok`` and ``extrapolating`` of the windows ending at ``ends``.

    Windows are gathered one batch at a time, so memory does not grow with the CSV.
    """
    outputs: list[list[np.ndarray]] = [[], [], []]
    for chunk in np.array_split(ends, list(range(size, len(ends), size))):
        batch = session.run(
            [CLOSE_QUANTILES, WINDOW_OK, EXTRAPOLATING],
            raw_windows(candles, chunk, contract.input_length),
        )
        for kept, values in zip(outputs, batch, strict=True):
            kept.append(values)
    prices, ok, outside = (np.concatenate(values) for values in outputs)
    return prices, ok, outside


def format_forecasts(forecasts_table: pd.DataFrame) -> pd.DataFrame:
    """A human-readable copy: ISO times, prices to 6 significant digits."""
    table = forecasts_table.copy()
    for column in ("origin_time", "forecast_time"):
        table[column] = table[column].map(pd.Timestamp.isoformat)
    prices = [c for c in table.columns if c.startswith("q") or c == "last_close"]
    table[prices] = table[prices].map(lambda value: float(f"{value:.6g}"))
    return table


def _check_enough_bars(
    candles: pd.DataFrame, contract: OnnxContract, inference: InferenceParams, source: str
) -> None:
    """Refuse candles whose longest gap-free run cannot hold one forecaster input."""
    # The first bar of a run has no log return, and trailing means read bars before the
    # window: a forecast needs context_length + 1 bars.
    needed = contract.input_length
    sizes = candles["segment"].value_counts()
    longest = int(sizes.max()) if len(sizes) else 0
    if longest >= needed:
        return
    kept = (
        f" (the last {inference.tail_rows} kept by inference.tail_rows)"
        if inference.tail_rows is not None
        else ""
    )
    raise CandleDataError(
        f"{source}: too few candles for one forecast: the model reads "
        f"{contract.context_length} bars of context (from its ONNX contract; its window is "
        f"{contract.window_length}), so it needs at least {needed} consecutive bars without a "
        f"gap ({contract.context_length} + 1 for the first return); found "
        f"{len(candles)} bar(s){kept}, the longest gap-free run has {longest}. Fix: give a "
        "CSV with more recent candles, or raise inference.tail_rows (null = all)."
    )
