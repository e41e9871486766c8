"""The volatility feature set through the real stage nodes (ridge kind, torch-free training):
windows whose whole context lies in one segment, a contract and forecaster that carry
context_length + 1 bars, validation against the Python path, inference and serving."""

from __future__ import annotations

import numpy as np
import pytest

from lstm_forecast.errors import CandleDataError
from lstm_forecast.onnx.contract import OnnxContract, shape_of
from lstm_forecast.params import OnnxRuntimeParams
from lstm_forecast.pipelines.export.nodes import export_forecaster, export_onnx
from lstm_forecast.pipelines.export.params import ExportParams
from lstm_forecast.pipelines.features.nodes import (
    build_features,
    fit_feature_scaler,
    make_windows,
    split_chronologically,
)
from lstm_forecast.pipelines.features.params import FeaturesParams
from lstm_forecast.pipelines.inference.nodes import forecast_from_candles, read_model_contract
from lstm_forecast.pipelines.inference.params import InferenceParams
from lstm_forecast.pipelines.training.nodes import train_model
from lstm_forecast.pipelines.validation.forecaster import publish_forecaster, validate_forecaster
from lstm_forecast.pipelines.validation.nodes import validate_onnx
from lstm_forecast.pipelines.validation.params import ValidationParams
from lstm_forecast.serving.loading import LoadedForecaster
from lstm_forecast.timeseries.features import FEATURE_SETS
from tests.synthetic import make_candles

from .conftest import QUALITY, TRAINING

FEATURES = FeaturesParams(
    window_length=8,
    horizon=3,
    feature_set="volatility",
    split={"train_fraction": 0.6, "val_fraction": 0.2},
)
RUNTIME = OnnxRuntimeParams()
SEGMENT = 350  # two runs of 350 bars, a 2-hour gap between them


@pytest.fixture(scope="module")
def chain() -> dict:
    candles = make_candles(2 * SEGMENT, gaps={SEGMENT: 2}, seed=8)
    table = build_features(candles, FEATURES)
    split = split_chronologically(table, FEATURES)
    scaler = fit_feature_scaler(table, split, FEATURES)
    train, val, test = make_windows(table, scaler, split, FEATURES)
    trained, _, _ = train_model(table, scaler, train, val, TRAINING, kind="ridge")
    staged = export_onnx(trained, scaler, split, QUALITY, ExportParams(), kind="ridge")
    forecaster, sidecar = export_forecaster(
        staged, trained, candles, test, ExportParams(), kind="ridge"
    )
    report = validate_forecaster(
        forecaster, sidecar, trained, candles, test, ValidationParams(), RUNTIME, kind="ridge"
    )
    model_report = validate_onnx(
        staged, trained, table, scaler, test, ValidationParams(), RUNTIME, kind="ridge"
    )
    published, _ = publish_forecaster(forecaster, sidecar, report, model_report)
    return {
        "candles": candles,
        "scaler": scaler,
        "windows": {"train": train, "val": val, "test": test},
        "staged": staged,
        "sidecar": sidecar,
        "report": report,
        "published": published,
    }


def test_the_scaler_and_contract_record_the_set_and_both_lengths(chain):
    assert chain["scaler"]["feature_set"] == "volatility"
    assert chain["scaler"]["feature_names"] == list(FEATURE_SETS["volatility"])
    contract = OnnxContract.from_model(chain["published"])
    assert contract.feature_set == "volatility"
    assert (contract.window_length, contract.context_length) == (8, 8 + 166)
    assert shape_of(chain["published"].graph.input[0]) == ["batch", 8 + 167, 5]
    assert OnnxContract.from_model(chain["staged"]).context_length == 8 + 166
    sidecar = chain["sidecar"]
    assert sidecar["inputs"][0]["shape"] == ["batch", 175, 5]
    assert len(sidecar["reference_example"]["open_time"]) == 175
    assert set(sidecar["contract"]["feature_formulas"]) == set(FEATURE_SETS["volatility"])


def test_every_window_has_its_whole_context_in_its_segment(chain):
    segment = chain["candles"]["segment"].to_numpy()
    for split, windows in chain["windows"].items():
        first_bar = windows["start_row"].to_numpy() - 167  # context_length + 1 bars in all
        assert len(windows) and (first_bar >= 0).all(), split
        assert (segment[first_bar] == segment[windows["end_row"].to_numpy()]).all(), split
    # The first window after the gap ends 174 bars into the second segment.
    ends = np.concatenate([w["end_row"].to_numpy() for w in chain["windows"].values()])
    assert ends[ends >= SEGMENT].min() == SEGMENT + 174


def test_the_forecaster_validates_against_the_python_path(chain):
    report = chain["report"]
    assert report["passed"], report["failures"]
    assert report["max_rel_price_error"] < 1e-6  # float32 network: as the basic set
    assert all(report["window_ok_flags"].values())  # a gap inside the context is flagged too


def test_inference_reads_context_plus_one_bars_of_one_run(chain):
    candles = chain["candles"]
    contract = read_model_contract(chain["published"])
    params = InferenceParams(model="ridge", tail_rows=None, batch_size=64)
    table = forecast_from_candles(
        candles, {"source_file": "recent.csv"}, chain["published"], contract, params, RUNTIME
    )
    origins = np.flatnonzero(candles["timestamp"].isin(table["origin_time"].unique()))
    # Each run of 350 bars holds 350 - 175 + 1 inputs of 175 bars.
    assert len(origins) == 2 * (SEGMENT - 175 + 1)
    assert origins.min() == 174 and (origins[origins >= SEGMENT] >= SEGMENT + 174).all()
    with pytest.raises(CandleDataError, match="at least 175 consecutive bars"):
        forecast_from_candles(
            candles.head(174), {"source_file": "recent.csv"}, chain["published"], contract,
            params, RUNTIME,
        )  # fmt: skip


def test_serving_asks_for_the_contract_input_length(chain):
    contract = OnnxContract.from_model(chain["published"])
    loaded = LoadedForecaster(*([None] * 4), contract, *([None] * 5))
    assert loaded.bars_needed == contract.input_length == 175
