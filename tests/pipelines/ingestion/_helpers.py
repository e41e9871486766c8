"""Shared builders for the ingestion tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from lstm_forecast.errors import CandleDataError
from lstm_forecast.pipelines.ingestion.nodes import clean_candles

PROJECT = Path(__file__).resolve().parents[3]
SHIPPED = "data/01_raw/candles/BTCUSDT.csv"
HEADER = "timestamp,open,high,low,close,volume"
HOUR_NS = 3_600_000_000_000


def params(
    path: str = "bad.csv",
    interval: str = "1h",
    *,
    policies: dict[str, Any] | None = None,
    **source: Any,
) -> dict[str, Any]:
    """``ingestion`` parameters with the shipped layout, overridden by ``source``.

    ``policies`` overrides the top-level keys (``min_segment_bars``, ``missing_volume``, ...);
    ``min_segment_bars`` is 5 unless given.
    """
    base = {
        "path": path,
        "sep": ",",
        "header": True,
        "skip_rows": 0,
        "columns": {name: name for name in HEADER.split(",")},
        "timestamp_format": None,
        "epoch_unit": None,
        "timezone": "UTC",
        "decimal": ".",
        "thousands": None,
    }
    top = {"min_segment_bars": 5} | (policies or {})
    return {"source": base | source, "interval": interval, **top}


def refusal(text: str, **source: Any) -> str:
    """The message of the ``CandleDataError`` that ``text`` must raise (min 5 bars).

    ``interval`` and ``policies`` go to ``params``, every other keyword to the source.
    """
    interval = source.pop("interval", "1h")
    policies = source.pop("policies", None)
    with pytest.raises(CandleDataError) as caught:
        clean_candles(text, params(interval=interval, policies=policies, **source))
    message = str(caught.value)
    assert "bad.csv" in message
    return message


def bar_rows(n: int = 8, start: str = "2021-01-01 00:00:00") -> list[list[str]]:
    """``n`` valid consecutive hourly bars as CSV fields."""
    stamps = pd.date_range(start, periods=n, freq="1h")
    return [
        [
            t.strftime("%Y-%m-%d %H:%M:%S"),
            f"{100 + i}",
            f"{102 + i}",
            f"{99 + i}",
            f"{101 + i}",
            "5",
        ]
        for i, t in enumerate(stamps)
    ]


def to_text(rows: list[list[str]], header: str | None = HEADER) -> str:
    """CSV text from field lists (line 1 is the header when there is one)."""
    lines = ([header] if header is not None else []) + [",".join(row) for row in rows]
    return "\n".join(lines) + "\n"


def assert_candle_invariants(frame: pd.DataFrame, step_ns: int = HOUR_NS) -> None:
    """Every promise ``clean_candles`` makes about its output frame."""
    assert list(frame.columns) == ["timestamp", "open", "high", "low", "close", "volume", "segment"]
    assert str(frame["timestamp"].dtype) == "datetime64[ns, UTC]"
    assert all(frame[c].dtype == np.float64 for c in ["open", "high", "low", "close", "volume"])
    assert frame["segment"].dtype == np.int64
    assert isinstance(frame.index, pd.RangeIndex)
    assert frame.index.start == 0
    stamps = frame["timestamp"].dt.as_unit("ns").astype("int64")
    steps = stamps.diff().iloc[1:]
    assert (steps > 0).all(), "timestamps must be strictly increasing"
    assert (stamps % step_ns == 0).all(), "timestamps must lie on the interval grid"
    prices = frame[["open", "high", "low", "close"]]
    assert np.isfinite(prices.to_numpy()).all()
    assert (prices > 0).all().all()
    assert np.isfinite(frame["volume"]).all()
    assert (frame["volume"] >= 0).all()
    assert (frame["high"] >= frame[["open", "close"]].max(axis=1)).all()
    assert (frame["low"] <= frame[["open", "close"]].min(axis=1)).all()
    if len(frame):
        assert frame["segment"].iloc[0] == 0
        increments = frame["segment"].diff().iloc[1:]
        assert (increments == (steps > step_ns).astype("int64")).all()
