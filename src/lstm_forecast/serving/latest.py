"""The newest candles the pipeline ingested (``candles.parquet``), cached until the file changes."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pandas as pd

from .loading import FileSignature
from .problems import Problem


class IngestedCandles:
    """Reads the ingested candles once per version of the file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._cached: tuple[FileSignature, pd.DataFrame] | None = None
        self._lock = threading.Lock()

    def frame(self) -> pd.DataFrame:
        """The whole table; a 404 problem when the pipeline has not ingested any yet."""
        try:
            signature = FileSignature.of(self.path)
        except FileNotFoundError:
            raise Problem(
                404,
                "No ingested candles",
                (
                    f"{self.path.name} does not exist yet: run `kedro run` (or its ingestion "
                    "stage) so the service has candles to forecast from"
                ),
            ) from None
        with self._lock:
            if self._cached is None or self._cached[0] != signature:
                self._cached = (signature, pd.read_parquet(self.path))
            return self._cached[1]

    def tail(self, asset: str | None, bars: int) -> pd.DataFrame:
        """The last ``bars`` candles of the newest gap-free run (of ``asset``, if several)."""
        frame = self.frame()
        if "asset" in frame.columns:
            assets = sorted(frame["asset"].astype(str).unique())
            if asset is None and len(assets) == 1:
                asset = assets[0]
            if asset is None:
                raise Problem(
                    422,
                    "Asset needed",
                    f"the ingested candles hold {assets}: name one",
                    [{"pointer": "/asset", "field": "asset", "problem": "missing"}],
                )
            if asset not in assets:
                raise Problem(
                    404,
                    "Unknown asset",
                    f"asset {asset!r} is not among the ingested {assets}",
                    [{"pointer": "/asset", "field": "asset", "problem": "not ingested"}],
                )
            frame = frame[frame["asset"].astype(str) == asset]
        if "segment" in frame.columns and len(frame):
            frame = frame[frame["segment"].to_numpy() == frame["segment"].to_numpy()[-1]]
        return frame.tail(bars)


def arrays(frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """``[n, 5]`` values and ``[n]`` epoch seconds of ingested candles."""
    values = frame[["open", "high", "low", "close", "volume"]].to_numpy(np.float64)
    times = pd.DatetimeIndex(frame["timestamp"]).as_unit("s").asi8.astype(np.float64)
    return values, times
