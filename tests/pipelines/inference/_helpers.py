"""Builders for the inference tests: synthetic candles and a tiny ONNX model with metadata."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import onnx
import pandas as pd
from kedro.config import OmegaConfigLoader
from onnx import TensorProto, helper

from lstm_forecast.onnx_contract import INPUT_NAME, OUTPUT_NAME, build_metadata, stamp
from lstm_forecast.timeseries.features import FEATURE_NAMES, TARGET_KINDS

PROJECT = Path(__file__).resolve().parents[3]
WINDOW = 12
TARGET_MEAN, TARGET_SCALE = 1e-4, 5e-3


def project_parameters() -> dict[str, Any]:
    """The project's base parameters, as `kedro run` would see them."""
    config = OmegaConfigLoader(
        conf_source=str(PROJECT / "conf"), base_env="base", default_run_env="local"
    )
    return config["parameters"]


def candles_frame(rows: int, *, seed: int = 0, drop: tuple[int, ...] = ()) -> pd.DataFrame:
    """Plausible hourly candles on the grid; rows at the ``drop`` positions are removed."""
    rng = np.random.default_rng(seed)
    close = 40_000 * np.exp(np.cumsum(rng.normal(0, 0.004, rows)))
    open_ = np.concatenate([[close[0]], close[:-1]])
    spread = np.abs(rng.normal(0, 0.002, rows)) * close
    frame = pd.DataFrame(
        {
            "timestamp": pd.date_range("2022-01-01", periods=rows, freq="1h", tz="UTC"),
            "open": open_,
            "high": np.maximum(open_, close) + spread,
            "low": np.minimum(open_, close) - spread,
            "close": close,
            "volume": rng.uniform(10, 500, rows),
        }
    )
    return frame.drop(index=list(drop)).reset_index(drop=True)


def csv_text(frame: pd.DataFrame) -> str:
    """``frame`` as the CSV text a `text.TextDataset` would hand the pipeline."""
    table = frame.assign(timestamp=frame["timestamp"].map(pd.Timestamp.isoformat))
    return table.to_csv(index=False)


def toy_model(
    *,
    window_length: int = WINDOW,
    feature_names: list[str] | None = None,
    interval: str = "1h",
    target_kind: str = "log_return",
) -> onnx.ModelProto:
    """An ONNX model whose forecast is the mean of its scaled window, stamped like an export."""
    names = list(feature_names or FEATURE_NAMES)
    window = helper.make_tensor_value_info(
        INPUT_NAME, TensorProto.FLOAT, ["batch", window_length, len(names)]
    )
    forecast = helper.make_tensor_value_info(OUTPUT_NAME, TensorProto.FLOAT, ["batch", 1])
    shape = helper.make_tensor("shape", TensorProto.INT64, [2], [-1, 1])
    graph = helper.make_graph(
        [
            helper.make_node("ReduceMean", [INPUT_NAME], ["mean"], axes=[1, 2], keepdims=0),
            helper.make_node("Reshape", ["mean", "shape"], [OUTPUT_NAME]),
        ],
        "toy",
        [window],
        [forecast],
        initializer=[shape],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    scaler = {
        "feature_names": names,
        "mean": [0.01 * i for i in range(len(names))],
        "scale": [1.0 + 0.5 * i for i in range(len(names))],
        "target_kind": target_kind,
        "target_formula": TARGET_KINDS.get(target_kind, "?"),
        "target_mean": TARGET_MEAN,
        "target_scale": TARGET_SCALE,
    }
    metadata = build_metadata(
        model_kind="toy",
        feature_scaler=scaler,
        window_length=window_length,
        interval=interval,
        split_boundaries={"train_start": "2021-01-01T00:00:00+00:00", "val_start": "2021-06-01"},
        exporter="test",
    )
    return stamp(model, metadata, "mean of the scaled window")
