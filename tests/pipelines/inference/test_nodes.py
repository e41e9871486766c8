"""The inference nodes on synthetic candles and a toy ONNX model with a known formula."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

from lstm_forecast.errors import ArtifactError, CandleDataError
from lstm_forecast.pipelines.inference.nodes import (
    forecast_next_closes,
    format_forecasts,
    read_model_contract,
)
from lstm_forecast.timeseries.features import FEATURE_NAMES, compute_features

from ._helpers import TARGET_MEAN, TARGET_SCALE, WINDOW, candles_frame, toy_model


def _candles(rows: int, drop: tuple[int, ...] = ()) -> pd.DataFrame:
    """Candles as the ingestion node returns them: a segment id that grows after each gap."""
    frame = candles_frame(rows, drop=drop)
    gap = frame["timestamp"].diff() > pd.Timedelta("1h")
    return frame.assign(segment=gap.cumsum().astype("int64"))


def _forecast(candles: pd.DataFrame, inference: dict[str, Any], ort: dict[str, Any], **model):
    onnx_model = toy_model(**model)
    contract = read_model_contract(onnx_model, inference)
    return forecast_next_closes(candles, onnx_model, contract, inference, ort)


def _by_hand(candles: pd.DataFrame, end: int) -> float:
    """The toy model's forecast for the window ending at row ``end``, computed directly."""
    model = toy_model()
    scaler = read_model_contract(model, {"interval": "1h"})["scaler"]
    features = compute_features(candles)[list(FEATURE_NAMES)].to_numpy()
    rows = features[end - WINDOW + 1 : end + 1]
    scaled = ((rows - scaler["feature_mean"]) / scaler["feature_scale"]).astype(np.float32)
    y = float(scaled.astype(np.float64).mean()) * TARGET_SCALE + TARGET_MEAN
    return float(candles["close"].iloc[end] * np.exp(y))


def test_every_full_window_is_forecast_with_the_metadata_scaler(
    inference_params, onnxruntime_params
):
    candles = _candles(60)
    forecasts = _forecast(candles, inference_params, onnxruntime_params)
    # Row 0 has no log return, so the first window ends at row WINDOW.
    ends = np.arange(WINDOW, 60)
    assert len(forecasts) == len(ends)
    assert list(forecasts.columns) == [
        "forecast_time",
        "window_end",
        "last_close",
        "forecast_close",
        "model_kind",
    ]
    pd.testing.assert_series_equal(
        forecasts["window_end"],
        candles["timestamp"].iloc[ends].reset_index(drop=True),
        check_names=False,
    )
    assert (forecasts["forecast_time"] - forecasts["window_end"] == pd.Timedelta("1h")).all()
    np.testing.assert_array_equal(forecasts["last_close"], candles["close"].to_numpy()[ends])
    expected = [_by_hand(candles, end) for end in ends]
    np.testing.assert_allclose(forecasts["forecast_close"], expected, rtol=1e-6)
    assert set(forecasts["model_kind"]) == {"toy"}
    # The last forecast is for the hour after the last candle: the one not yet seen.
    assert forecasts["forecast_time"].iloc[-1] == candles["timestamp"].iloc[-1] + pd.Timedelta("1h")


def test_windows_never_cross_a_gap(inference_params, onnxruntime_params):
    candles = _candles(80, drop=(30, 31, 32))
    forecasts = _forecast(candles, inference_params, onnxruntime_params)
    gap_after = pd.Timestamp("2022-01-02 05:00", tz="UTC")  # row 29, the last bar before the gap
    starts = forecasts["window_end"] - pd.Timedelta(hours=WINDOW - 1)
    crossing = (starts <= gap_after) & (forecasts["window_end"] > gap_after)
    assert not crossing.any()
    # Segment 0 holds rows 0..29 (windows end at 12..29), segment 1 holds 47 bars (35 windows).
    assert len(forecasts) == (30 - WINDOW) + (47 - WINDOW)


@pytest.mark.parametrize("batch_size", [1, 7, 10_000])
def test_batch_size_does_not_change_the_forecasts(batch_size, inference_params, onnxruntime_params):
    candles = _candles(70)
    reference = _forecast(candles, inference_params, onnxruntime_params)
    batched = _forecast(candles, {**inference_params, "batch_size": batch_size}, onnxruntime_params)
    pd.testing.assert_frame_equal(batched, reference)


def test_tail_rows_keeps_only_the_last_bars(inference_params, onnxruntime_params):
    candles = _candles(100)
    everything = _forecast(candles, inference_params, onnxruntime_params)
    tail = _forecast(candles, {**inference_params, "tail_rows": 30}, onnxruntime_params)
    # The first kept bar has no previous bar, so 30 bars give 30 - WINDOW windows.
    assert len(tail) == 30 - WINDOW
    pd.testing.assert_frame_equal(tail, everything.tail(len(tail)).reset_index(drop=True))


def test_fewer_bars_than_one_window_says_how_many_are_needed(inference_params, onnxruntime_params):
    with pytest.raises(CandleDataError, match=rf"needs at least {WINDOW + 1} consecutive bars"):
        _forecast(_candles(WINDOW), inference_params, onnxruntime_params)


def test_a_gap_that_leaves_no_full_window_is_refused(inference_params, onnxruntime_params):
    candles = _candles(2 * WINDOW, drop=(WINDOW - 1,))
    with pytest.raises(CandleDataError, match=r"longest gap-free run has 12"):
        _forecast(candles, inference_params, onnxruntime_params)


def test_a_feature_this_code_cannot_compute_is_refused(inference_params):
    model = toy_model(feature_names=[*FEATURE_NAMES[:5], "funding_rate"])
    with pytest.raises(ArtifactError, match=r"\['funding_rate'\].*cannot compute"):
        read_model_contract(model, inference_params)


def test_metadata_without_a_scaler_is_refused(inference_params):
    model = toy_model()
    kept = [prop for prop in model.metadata_props if prop.key != "scaler"]
    del model.metadata_props[:]
    model.metadata_props.extend(kept)
    with pytest.raises(ArtifactError, match=r"lacks \['scaler'"):
        read_model_contract(model, inference_params)


def test_candles_of_another_interval_than_the_model_are_refused(inference_params):
    with pytest.raises(CandleDataError, match=r"trained on '4h' bars"):
        read_model_contract(toy_model(interval="4h"), inference_params)


def test_the_human_table_has_iso_times_and_cents(inference_params, onnxruntime_params):
    forecasts = _forecast(_candles(40), inference_params, onnxruntime_params)
    table = format_forecasts(forecasts)
    assert table["forecast_time"].iloc[-1] == forecasts["forecast_time"].iloc[-1].isoformat()
    np.testing.assert_allclose(table["forecast_close"], forecasts["forecast_close"], atol=0.005)
    assert pd.api.types.is_datetime64_any_dtype(forecasts["forecast_time"])  # input untouched
