"""Typed ``params:fetch``."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from pydantic import Field, field_validator

from lstm_forecast.binance_archive import INTERVALS
from lstm_forecast.params import StrictParams

_SYMBOL = re.compile(r"^[A-Z0-9]{2,30}$")
_MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")


class FetchParams(StrictParams):
    """``params:fetch``: which candles to download from the kline archive, and how."""

    symbols: tuple[str, ...] = Field(min_length=1)
    interval: str = "1h"
    start: str
    end: str | None = None
    base_url: str = "https://data.binance.vision"
    strict: bool = False
    cache_dir: str = "data/01_raw/binance_archive"
    connect_timeout: float = Field(10.0, gt=0)
    read_timeout: float = Field(60.0, gt=0)
    retries: int = Field(5, ge=0, le=20)
    backoff: float = Field(0.5, ge=0, le=60)
    progress: bool = True

    @field_validator("symbols", mode="before")
    @classmethod
    def _symbol_list(cls, value: Any) -> Any:
        # `fetch.symbols=ETHUSDT` on the command line is one string; `ETHUSDT;SOLUSDT` and
        # `ETHUSDT SOLUSDT` are accepted too, for shells and tools that mangle brackets.
        if isinstance(value, str):
            value = [part for part in re.split(r"[\s;|]+", value) if part]
        if isinstance(value, list | tuple):
            return tuple(str(symbol).strip().upper() for symbol in value)
        return value

    @field_validator("symbols")
    @classmethod
    def _known_form(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        bad = [symbol for symbol in value if not _SYMBOL.match(symbol)]
        if bad:
            raise ValueError(f"symbols {bad} are not archive symbols like ETHUSDT (A-Z, 0-9)")
        if len(set(value)) != len(value):
            raise ValueError(f"symbols {list(value)} name a symbol twice")
        return value

    @field_validator("interval")
    @classmethod
    def _archive_interval(cls, value: str) -> str:
        if value not in INTERVALS:
            raise ValueError(f"interval {value!r} is not in the archive: one of {list(INTERVALS)}")
        return value

    @field_validator("start", "end", mode="before")
    @classmethod
    def _month(cls, value: Any) -> Any:
        if isinstance(value, date):  # YAML reads 2019-01-01 as a date
            value = value.strftime("%Y-%m")
        if value is not None and not _MONTH.match(str(value)):
            raise ValueError(f"{value!r} is not a month: write YYYY-MM, e.g. 2019-01")
        return None if value is None else str(value)

    @field_validator("base_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not re.match(r"^https?://[^/\s]+", value):
            raise ValueError(f"base_url {value!r} must start with http:// or https://")
        return value.rstrip("/")
