"""The inference pipeline, wired as in ``create_pipeline``, run by Kedro's own runner."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import pandas as pd
import pytest
from kedro.io import DataCatalog, MemoryDataset
from kedro.runner import SequentialRunner

from lstm_forecast.errors import CandleDataError
from lstm_forecast.pipelines.inference import create_pipeline

from ._helpers import WINDOW, candles_frame, csv_text, toy_model

_OUTPUTS = ("inference.data_quality_report", "inference_forecasts", "inference_forecasts_csv")
_TORCH = "{'torch', 'pytorch_lightning', 'lightning', 'torchmetrics'}"


class _KeptDataset(MemoryDataset):
    """A memory dataset the runner cannot release, so intermediate outputs can be checked."""

    def _release(self) -> None:
        pass


def _run(text: str, inference: dict[str, Any], onnxruntime: dict[str, Any]) -> dict[str, Any]:
    catalog = DataCatalog(
        {
            "inference.raw_candles": MemoryDataset(text),
            "lstm.onnx_model": MemoryDataset(toy_model(), copy_mode="assign"),
            "params:inference": MemoryDataset(inference),
            "params:inference.ingestion": MemoryDataset(inference["ingestion"]),
            "params:validation.onnxruntime": MemoryDataset(onnxruntime),
            **{name: _KeptDataset() for name in _OUTPUTS},
        }
    )
    SequentialRunner().run(create_pipeline(), catalog)
    return {name: catalog[name].load() for name in _OUTPUTS}


def test_pipeline_inputs_and_outputs_are_the_catalog_names():
    pipeline = create_pipeline()
    assert pipeline.inputs() == {
        "inference.raw_candles",
        "lstm.onnx_model",
        "params:inference",
        "params:inference.ingestion",
        "params:validation.onnxruntime",
    }
    assert pipeline.all_outputs() >= {
        "inference.candles",
        "inference.data_quality_report",
        "inference_forecasts",
        "inference_forecasts_csv",
    }
    # The ingestion node itself is reused, renamed into the namespace, not copied.
    assert "inference.clean_candles" in {node.name for node in pipeline.nodes}


def test_pipeline_forecasts_from_csv_text(inference_params, onnxruntime_params):
    frame = candles_frame(50)
    outputs = _run(csv_text(frame), inference_params, onnxruntime_params)
    forecasts = outputs["inference_forecasts"]
    assert len(forecasts) == 50 - WINDOW
    assert forecasts["forecast_time"].iloc[-1] == frame["timestamp"].iloc[-1] + pd.Timedelta("1h")
    assert outputs["inference.data_quality_report"]["rows_kept"] == 50
    assert outputs["inference_forecasts_csv"]["forecast_time"].iloc[-1] == (
        "2022-01-03T02:00:00+00:00"
    )


def test_default_tail_rows_forecasts_from_the_last_bars_only(base_params, onnxruntime_params):
    inference = base_params["inference"]
    assert inference["tail_rows"] == 500
    outputs = _run(csv_text(candles_frame(700)), inference, onnxruntime_params)
    assert len(outputs["inference_forecasts"]) == 500 - WINDOW


def test_a_csv_shorter_than_one_window_is_refused(inference_params, onnxruntime_params):
    text = csv_text(candles_frame(WINDOW))
    with pytest.raises(CandleDataError, match=rf"window is {WINDOW} bars.*at least {WINDOW + 1}"):
        _run(text, inference_params, onnxruntime_params)


def test_a_csv_missing_a_column_gets_the_ingestion_error(inference_params, onnxruntime_params):
    text = csv_text(candles_frame(50).drop(columns="volume"))
    with pytest.raises(CandleDataError, match=r"required column\(s\) not found: volume"):
        _run(text, inference_params, onnxruntime_params)


def _imports_torch(code: str) -> list[str]:
    """The torch-family modules loaded by running ``code`` in a fresh interpreter."""
    probe = (
        f"import json, sys; {code}; "
        f"print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in {_TORCH})))"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_the_inference_package_never_imports_torch():
    loaded = _imports_torch("import lstm_forecast.pipelines.inference as p; p.create_pipeline()")
    assert loaded == []


def test_loading_the_onnx_dataset_never_imports_torch():
    # `lstm.onnx_model` is an OnnxModelDataset: resolving its type must not pull in torch.
    assert _imports_torch("from lstm_forecast.datasets import OnnxModelDataset") == []
