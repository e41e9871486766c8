"""The forecaster's contract in plain JSON, for consumers that cannot read metadata_props."""

from __future__ import annotations

from typing import Any

import numpy as np

from lstm_forecast.onnx.contract import (
    CANDLES,
    CLOSE_QUANTILES,
    EXTRAPOLATING,
    OPEN_TIME,
    WINDOW_OK,
    OnnxContract,
)


def forecaster_sidecar(
    contract: OnnxContract, example: dict[str, np.ndarray], expected: np.ndarray
) -> dict[str, Any]:
    """Describe ``forecaster.onnx``: I/O, features in words, and a checked reference example.

    Args:
        contract: The forecaster's contract.
        example: ``candles`` and ``open_time`` of one real test window (batch of 1).
        expected: Its ``close_quantiles`` from the Python path.

    Returns:
        JSON-ready sidecar.
    """
    length = contract.input_length  # context_length + 1
    return {
        "format": "lstm-forecast forecaster sidecar, version 1",
        "inputs": [
            {
                "name": CANDLES,
                "dtype": "float64",
                "shape": ["batch", length, 5],
                "columns": ["open", "high", "low", "close", "volume (base asset, not quote)"],
                "order": "oldest bar first: context_length + 1 bars; the network sees the "
                "features of the last window_length, the bars before give their returns and "
                "trailing means",
            },
            {
                "name": OPEN_TIME,
                "dtype": "int64",
                "shape": ["batch", length],
                "unit": "bar open time, seconds since 1970-01-01 UTC",
            },
        ],
        "outputs": [
            {
                "name": CLOSE_QUANTILES,
                "dtype": "float64",
                "shape": ["batch", contract.horizon, len(contract.quantiles)],
                "meaning": "close price of bar t+h (h = 1..horizon) at each quantile level",
            },
            {
                "name": WINDOW_OK,
                "dtype": "bool",
                "shape": ["batch"],
                "meaning": "false when open times are not consecutive on the interval grid "
                "(a gap, a wrong order) or a price is not positive: ignore that row's forecast",
            },
            {
                "name": EXTRAPOLATING,
                "dtype": "bool",
                "shape": ["batch"],
                "meaning": "true when the window's features lie beyond the training range "
                "(contract.feature_range): the forecast extrapolates, trust it less",
            },
        ],
        "precision": "features, scaling and prices in float64; the network in float32",
        "contract": contract.to_dict(),
        "reference_example": {
            CANDLES: example[CANDLES][0].tolist(),
            OPEN_TIME: example[OPEN_TIME][0].tolist(),
            CLOSE_QUANTILES: expected[0].tolist(),
            WINDOW_OK: True,
            "relative_tolerance": 1e-6,
        },
    }
