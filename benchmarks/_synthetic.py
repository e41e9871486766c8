"""Synthetic BTC-like candles in the shipped file's CSV layout, written once and reused.

A seeded geometric random walk for the close; open is the previous close; high/low add
half-normal excursions; volumes are log-normal. Written with pyarrow in blocks, so the
decade of one-minute bars (5.3 M rows, about 1 GB) takes seconds and little memory.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np

FOLDER = Path(tempfile.gettempdir()) / "lstm-forecast-bench"
# 10 years of 365.25 days of one-minute bars.
DECADE_MINUTES = 10 * 36525 * 24 * 60 // 100
_BLOCK = 1_000_000
_COLUMNS = (
    "",
    "timestamp",
    "open",
    "high",
    "low",
    "close",
    "volume",
    "close_time",
    "quote_av",
    "trades",
    "tb_base_av",
    "tb_quote_av",
    "ignore",
)


def synthetic_file(rows: int, interval: str = "1h", seed: int = 7) -> Path:
    """The CSV path of ``rows`` bars of ``interval``, generated on first use."""
    FOLDER.mkdir(exist_ok=True)
    path = FOLDER / f"synthetic_{rows}_rows_{interval}_seed{seed}_to2025.csv"
    if not path.exists():
        print(f"[synthetic] generating {rows} rows of {interval} bars -> {path}", flush=True)
        partial = path.with_suffix(".partial")
        _write(partial, rows, interval, seed)
        partial.replace(path)
    return path


def _write(path: Path, rows: int, interval: str, seed: int) -> None:
    import pandas as pd
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.csv as pcsv

    rng = np.random.default_rng(seed)
    step = pd.Timedelta(interval)
    sigma = 0.008 * (step / pd.Timedelta("1h")) ** 0.5
    # The series ends on 2025-01-01, so that no bar lies in the future (ingestion refuses that).
    start_ns = pd.Timestamp("2025-01-01").value - rows * step.value
    last_close = 40_000.0
    options = pcsv.WriteOptions(include_header=False, quoting_style="none")
    with path.open("wb") as sink:
        sink.write((",".join(_COLUMNS) + "\n").encode())
        for first in range(0, rows, _BLOCK):
            n = min(_BLOCK, rows - first)
            close = last_close * np.exp(np.cumsum(rng.normal(0.0, sigma, n)))
            open_ = np.concatenate([[last_close], close[:-1]])
            last_close = float(close[-1])
            high = np.maximum(open_, close) * np.exp(np.abs(rng.normal(0.0, sigma / 3, n)))
            low = np.minimum(open_, close) * np.exp(-np.abs(rng.normal(0.0, sigma / 3, n)))
            volume = rng.lognormal(7.5, 0.5, n)
            stamps_ns = start_ns + (first + np.arange(n, dtype=np.int64)) * step.value
            # Whole seconds: arrow writes %S of a nanosecond timestamp with its fraction.
            stamps = pa.array((stamps_ns // 10**9).astype("datetime64[s]"))
            taker = rng.uniform(0.3, 0.7, n)
            open_ms = stamps_ns // 10**6

            def money(values: np.ndarray) -> np.ndarray:
                return np.round(values, 8)

            table = pa.table(
                {
                    "": np.arange(first, first + n, dtype=np.int64),
                    "timestamp": pc.strftime(stamps, format="%Y-%m-%d %H:%M:%S"),
                    "open": money(open_),
                    "high": money(high),
                    "low": money(low),
                    "close": money(close),
                    "volume": money(volume),
                    "close_time": open_ms + step.value // 10**6 - 1,
                    "quote_av": money(volume * close),
                    "trades": rng.integers(10_000, 100_000, n),
                    "tb_base_av": money(volume * taker),
                    "tb_quote_av": money(volume * taker * close),
                    "ignore": np.zeros(n, dtype=np.int64),
                }
            )
            pcsv.write_csv(table, sink, options)
