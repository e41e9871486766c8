"""The self-contained forecaster: raw candles in, price quantiles out, in one ONNX graph.

The graph is three ONNX models joined with ``onnx.compose``: a feature graph (candles ->
scaled window, exported by torch.onnx from ``CandleFeatures``), the kind's own model graph
(unchanged, so its weights stay bit for bit), and a price graph (scaled quantiles -> prices,
from ``QuantilePrices``). Any registered kind gets a forecaster this way. Feature arithmetic
is float64 and the cast to float32 happens where the network begins, as in the Python path.
"""

from __future__ import annotations

import io
import json
import warnings
from collections.abc import Callable

import onnx
import torch
from onnx import compose
from torch import nn

from lstm_forecast.onnx.contract import (
    CANDLES,
    CLOSE_QUANTILES,
    EXTRAPOLATING,
    INPUT_NAME,
    OPEN_TIME,
    OUTPUT_NAME,
    WINDOW_OK,
    OnnxContract,
)

from .exporter_metadata import without_exporter_metadata
from .feature_graph import CandleFeatures

__all__ = ["CandleFeatures", "QuantilePrices", "build_forecaster"]

_LAST_CLOSE = "last_close"


class QuantilePrices(nn.Module):
    """Scaled ``[b, h, q]`` f32 forecasts and the last close -> ``[b, h, q]`` f64 prices."""

    def __init__(self, contract: OnnxContract) -> None:
        super().__init__()
        self.kind = contract.target_kind
        mean = torch.tensor(contract.scaler.target_mean, dtype=torch.float64)
        scale = torch.tensor(contract.scaler.target_scale, dtype=torch.float64)
        self.register_buffer("mean", mean[None, :, None])
        self.register_buffer("scale", scale[None, :, None])

    def forward(self, forecast: torch.Tensor, last_close: torch.Tensor) -> torch.Tensor:
        target = forecast.to(torch.float64) * self.scale + self.mean
        last = last_close[:, None, None]
        if self.kind == "log_return":
            return last * torch.exp(target)
        if self.kind == "simple_return":
            return last * (1.0 + target)
        return target + 0.0 * last  # close: the target is the price itself


def build_forecaster(model: onnx.ModelProto, contract: OnnxContract, opset: int) -> onnx.ModelProto:
    """Join features, the model and prices into one graph with the forecaster's contract I/O.

    Args:
        model: The kind's model graph (input ``window``, output ``forecast``).
        contract: Its contract (features, scaler, interval, horizon, quantiles, target).
        opset: ONNX opset of the feature and price graphs (the model's own).

    Returns:
        Inputs ``candles``, ``open_time``; outputs ``close_quantiles``, ``window_ok``,
        ``extrapolating``.
    """
    length = contract.input_length  # context_length + 1 bars; the network sees the last window
    seconds = int(_interval_seconds(contract.interval))
    scaler = contract.scaler
    bounds = contract.feature_range or {}
    made_of = (
        *contract.feature_names,
        contract.window_length,
        seconds,
        length,
        opset,
        json.dumps(bounds, sort_keys=True),
    )
    features = _export(
        ("features", *made_of, *scaler.feature_mean, "scale", *scaler.feature_scale),
        lambda: CandleFeatures(contract, seconds),
        (torch.ones(2, length, 5, dtype=torch.float64), torch.zeros(2, length, dtype=torch.int64)),
        [CANDLES, OPEN_TIME],
        [INPUT_NAME, _LAST_CLOSE, WINDOW_OK, EXTRAPOLATING],
        opset,
    )
    horizon, n_quantiles = contract.horizon, len(contract.quantiles)
    made_of = (contract.target_kind, horizon, n_quantiles, opset)
    prices = _export(
        ("prices", *made_of, *scaler.target_mean, "scale", *scaler.target_scale),
        lambda: QuantilePrices(contract),
        (torch.zeros(2, horizon, n_quantiles), torch.ones(2, dtype=torch.float64)),
        [OUTPUT_NAME, _LAST_CLOSE],
        [CLOSE_QUANTILES],
        opset,
    )
    inner = onnx.ModelProto()
    inner.CopyFrom(model)
    del inner.metadata_props[:]
    version = max(m.ir_version for m in (features, inner, prices))
    for part in (features, inner, prices):
        part.ir_version = version
    joined = compose.merge_models(
        features, inner, io_map=[(INPUT_NAME, INPUT_NAME)], prefix1="features/", prefix2="model/"
    )
    joined = compose.merge_models(
        joined,
        prices,
        io_map=[("model/" + OUTPUT_NAME, OUTPUT_NAME), ("features/" + _LAST_CLOSE, _LAST_CLOSE)],
        prefix2="prices/",
    )
    for old, new in (
        ("features/" + CANDLES, CANDLES),
        ("features/" + OPEN_TIME, OPEN_TIME),
        ("features/" + WINDOW_OK, WINDOW_OK),
        ("features/" + EXTRAPOLATING, EXTRAPOLATING),
        ("prices/" + CLOSE_QUANTILES, CLOSE_QUANTILES),
    ):
        _rename(joined.graph, old, new)
    return joined


# Exported feature and price graphs by everything they are made from: every kind of one
# run shares the scaler, so the second kind reuses the first kind's graphs (a dynamo export
# takes seconds). Bytes, so each caller gets its own proto to edit.
_EXPORTED: dict[tuple, bytes] = {}
_MAX_KEPT = 8


def _export(
    key: tuple,
    make: Callable[[], nn.Module],
    example: tuple[torch.Tensor, ...],
    inputs: list[str],
    outputs: list[str],
    opset: int,
) -> onnx.ModelProto:
    key = (*key, tuple(inputs), tuple(outputs))
    if key not in _EXPORTED:
        if len(_EXPORTED) >= _MAX_KEPT:
            _EXPORTED.clear()
        _EXPORTED[key] = _export_bytes(make(), example, inputs, outputs, opset)
    return onnx.load_model_from_string(_EXPORTED[key])


def _export_bytes(
    module: nn.Module,
    example: tuple[torch.Tensor, ...],
    inputs: list[str],
    outputs: list[str],
    opset: int,
) -> bytes:
    # The TorchScript exporter: these graphs are plain tensor arithmetic with a fixed length
    # and no LSTM, and it takes 0.3 s where the dynamo exporter takes 5 s or more (measured
    # on 2 cores). The forecaster's parity with the Python path is checked in validation.
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        # torch 2.9+ calls the TorchScript exporter deprecated; it is what these graphs need.
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.simplefilter("ignore", FutureWarning)
        torch.onnx.export(
            module.eval(),
            example,
            buffer,
            dynamo=False,
            input_names=inputs,
            output_names=outputs,
            opset_version=opset,
            dynamic_axes={name: {0: "batch"} for name in (*inputs, *outputs)},
        )
    graph = without_exporter_metadata(onnx.load_model_from_string(buffer.getvalue()))
    return graph.SerializeToString()


def _rename(graph: onnx.GraphProto, old: str, new: str) -> None:
    for value in [*graph.input, *graph.output]:
        if value.name == old:
            value.name = new
    for node in graph.node:
        node.input[:] = [new if name == old else name for name in node.input]
        node.output[:] = [new if name == old else name for name in node.output]


def _interval_seconds(interval: str) -> float:
    import pandas as pd  # noqa: PLC0415

    return pd.Timedelta(interval).total_seconds()
