"""inference.runtime chooses the runtime; one that does not reproduce onnxruntime is refused."""

from __future__ import annotations

import sys

import pytest
from pydantic import ValidationError

from lstm_forecast.errors import ArtifactError
from lstm_forecast.onnx.runtimes import openvino_missing
from lstm_forecast.pipelines.inference.params import InferenceParams

from .test_nodes import _forecast

MISSING = openvino_missing()


@pytest.mark.skipif(MISSING is not None, reason=MISSING or "")
def test_openvino_serves_onnxruntime_s_prices_or_is_refused_with_the_figure(
    published, stage_outputs, params
):
    expected = _forecast(published, stage_outputs["candles"], params)
    chosen = params.model_copy(update={"runtime": "openvino"})
    try:
        served = _forecast(published, stage_outputs["candles"], chosen)
    except ArtifactError as error:
        # The forecaster's epoch-time features are float64 / int64, which OpenVINO's CPU
        # plugin narrows; the refusal must say by how much and what to do.
        assert "max |price difference|" in str(error) and "onnxruntime" in str(error)
        return
    prices = [column for column in expected.columns if column.startswith("q")]
    assert (served[prices] - expected[prices]).abs().max().max() <= chosen.runtime_max_price_diff


def test_a_missing_runtime_says_how_to_install_it(published, stage_outputs, params, monkeypatch):
    monkeypatch.setitem(sys.modules, "openvino", None)
    chosen = params.model_copy(update={"runtime": "openvino"})
    with pytest.raises(ArtifactError, match=r"lstm_forecast\[openvino\]"):
        _forecast(published, stage_outputs["candles"], chosen)


def test_an_unknown_runtime_is_refused():
    with pytest.raises(ValidationError, match="onnxruntime"):
        InferenceParams(runtime="tensorrt")
