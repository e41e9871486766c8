"""Kline archives to candles: ``timestamp`` (bar open, UTC), open, high, low, close, volume.

A kline CSV has no header (a header line is tolerated) and twelve columns; the first six
are the open time, open, high, low, close and base volume. Spot files give the open time
in milliseconds until 2024 and in microseconds from 2025, so the unit is told row by row:
an open time of 10**14 or more is microseconds (as milliseconds it would lie after the
year 5000, as microseconds it is after 1973).
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd

from .errors import CorruptArchiveError

COLUMNS = ("timestamp", "open", "high", "low", "close", "volume")
_MICROSECONDS_FROM = 10**14
_EARLIEST_MS = 10**11  # 1973-03-03: anything earlier is neither ms nor µs of a real bar


def read_archive(path: Path) -> pd.DataFrame:
    """The candles of one kline zip (one CSV inside).

    Raises:
        CorruptArchiveError: If the zip or its CSV cannot be read as klines.
    """
    try:
        with zipfile.ZipFile(path) as archive:
            members = [name for name in archive.namelist() if name.lower().endswith(".csv")]
            if len(members) != 1:
                raise CorruptArchiveError(
                    f"{path.name} holds {len(members)} CSV files, expected one kline CSV."
                )
            data = archive.read(members[0])
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, OSError) as error:
        raise CorruptArchiveError(f"{path.name} is not a readable zip ({error}).") from None
    return parse_klines(data, path.name)


def parse_klines(data: bytes, source: str) -> pd.DataFrame:
    """Candles from the bytes of a kline CSV; open times in ms and µs may be mixed.

    Raises:
        CorruptArchiveError: If a row is not numeric or an open time is not ms or µs.
    """
    first_field = data.lstrip()[:32].split(b",", 1)[0].strip()
    header = None if not data.strip() or first_field.isdigit() else 0
    try:
        frame = pd.read_csv(
            io.BytesIO(data),
            header=header,
            usecols=range(len(COLUMNS)),
            names=list(COLUMNS),
            dtype={"timestamp": "int64", **dict.fromkeys(COLUMNS[1:], "float64")},
        )
    except (ValueError, pd.errors.ParserError) as error:
        raise CorruptArchiveError(f"{source}: not a kline CSV ({error}).") from None
    opened = frame["timestamp"].to_numpy()
    if len(opened) and opened.min() < _EARLIEST_MS:
        row = int(np.argmin(opened))
        raise CorruptArchiveError(
            f"{source}: line {row + 1 + (header == 0)}: open time {opened[row]} is neither "
            "epoch milliseconds nor microseconds."
        )
    milliseconds = np.where(opened >= _MICROSECONDS_FROM, opened // 1000, opened)
    return frame.assign(timestamp=pd.to_datetime(milliseconds, unit="ms"))
