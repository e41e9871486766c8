"""Inference nodes: raw candles into the published forecaster, no feature code of their own."""

from __future__ import annotations

import numpy as np
import pytest

from lstm_forecast.errors import ArtifactError, CandleDataError
from lstm_forecast.onnx.contract import OnnxContract
from lstm_forecast.pipelines.inference.nodes import (
    choose_forecaster,
    forecast_from_candles,
    format_forecasts,
    read_model_contract,
)
from lstm_forecast.pipelines.validation.forecaster import python_path
from tests.conftest import modules_loaded

from .conftest import RUNTIME

QUALITY = {"source_file": "recent.csv"}


def _forecast(published, candles, params):
    forecaster = choose_forecaster({"ridge.forecaster": lambda: published["forecaster"]}, params)
    contract = read_model_contract(forecaster)
    return forecast_from_candles(candles, QUALITY, forecaster, contract, params, RUNTIME)


def test_forecasts_of_every_full_window_equal_the_python_path(published, stage_outputs, params):
    from lstm_forecast import models

    candles = stage_outputs["candles"]
    table = _forecast(published, candles, params)
    contract = OnnxContract.from_model(published["forecaster"])
    # Segments of 250 and 250 bars: each holds (rows - window_length) windows of L + 1 bars.
    origins = table["origin_time"].unique()
    assert len(origins) == 2 * (250 - contract.window_length)
    assert len(table) == len(origins) * contract.horizon
    ends = np.flatnonzero(candles["timestamp"].isin(origins).to_numpy())
    expected = python_path(
        candles, ends, contract, models.get("ridge").predictor(stage_outputs["ridge"]["trained"])
    )
    np.testing.assert_allclose(table["q0.5"].to_numpy(), expected[:, :, 1].reshape(-1), rtol=1e-6)


def test_windows_never_cross_the_gap(published, stage_outputs, params):
    candles = stage_outputs["candles"]
    table = _forecast(published, candles, params)
    gap_start = candles["timestamp"].iloc[250]
    origins = table["origin_time"].drop_duplicates()
    window = candles["timestamp"].iloc[1] - candles["timestamp"].iloc[0]
    length = OnnxContract.from_model(published["forecaster"]).window_length
    after = origins[origins >= gap_start]
    assert (after - gap_start >= window * length).all()


@pytest.mark.parametrize("batch_size", [1, 7, 1000])
def test_batch_size_does_not_change_the_forecasts(published, stage_outputs, params, batch_size):
    candles = stage_outputs["candles"].tail(60).reset_index(drop=True)
    reference = _forecast(published, candles, params)
    other = _forecast(published, candles, params.model_copy(update={"batch_size": batch_size}))
    # Batches of 1 may round the last bit differently in onnxruntime's GEMM.
    np.testing.assert_allclose(reference["q0.95"], other["q0.95"], rtol=1e-12, atol=0)


def test_tail_rows_keeps_only_the_last_bars(published, stage_outputs, params):
    table = _forecast(
        published, stage_outputs["candles"], params.model_copy(update={"tail_rows": 20})
    )
    length = OnnxContract.from_model(published["forecaster"]).window_length
    assert table["origin_time"].nunique() == 20 - length
    assert table["origin_time"].max() == stage_outputs["candles"]["timestamp"].iloc[-1]


def test_fewer_bars_than_one_window_says_how_many_are_needed(published, stage_outputs, params):
    with pytest.raises(
        CandleDataError, match=r"recent\.csv: too few candles.*at least 9 consecutive bars"
    ):
        _forecast(published, stage_outputs["candles"].head(5), params)


def test_a_forecaster_that_was_not_validated_is_refused(published):
    with pytest.raises(ArtifactError, match="does not record a passed validation"):
        read_model_contract(published["staged"])


def test_the_model_and_variant_choose_the_file(published, params):
    files = {"ridge.forecaster.int8": lambda: published["forecaster"]}
    chosen = choose_forecaster(files, params.model_copy(update={"variant": "int8"}))
    assert chosen is published["forecaster"]
    with pytest.raises(ArtifactError, match=r"No published data/06_models/ridge.forecaster.onnx"):
        choose_forecaster(files, params)


def test_the_human_table_has_iso_times_and_six_significant_digits(published, stage_outputs, params):
    table = format_forecasts(_forecast(published, stage_outputs["candles"].tail(20), params))
    assert table["origin_time"].iloc[0].endswith("+00:00")
    assert all(len(f"{value:.10g}".replace(".", "").lstrip("0")) <= 6 for value in table["q0.5"])


def test_the_inference_package_never_imports_torch():
    loaded = modules_loaded("import lstm_forecast.pipelines.inference as p; p.create_pipeline()")
    assert loaded == []


def test_loading_the_onnx_dataset_never_imports_torch():
    assert modules_loaded("from lstm_forecast.datasets import OnnxModelDataset") == []
