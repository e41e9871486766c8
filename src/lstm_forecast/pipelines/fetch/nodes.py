"""Fetch node: candles of several symbols from the exchange's public kline archive.

The one stage that uses the network, and the one node with effects outside the catalog:
verified archive zips are kept in ``fetch.cache_dir`` so that a rerun downloads only what
is missing, and the current month is read from the clock. Its outputs are catalog
datasets like any other stage's.
"""

from __future__ import annotations

import logging
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pandas as pd

from lstm_forecast.binance_archive import ArchiveClient, FetchRequest, SymbolFetch, fetch_symbol

from .params import FetchParams

logger = logging.getLogger(__name__)

# The archive's interval names as pandas offset aliases (what ingestion.interval takes).
_PANDAS_UNITS = {"s": "s", "m": "min", "h": "h", "d": "D", "w": "W"}


def fetch_candles(fetch: FetchParams) -> tuple[dict[str, pd.DataFrame], dict[str, Any]]:
    """Download, verify and parse each symbol's kline archives.

    Args:
        fetch: The ``fetch`` parameters (symbols, interval, months, archive URL, cache).

    Returns:
        One candle table per symbol (``timestamp`` = bar open in UTC, open, high, low,
        close, volume), keyed by symbol, and a JSON report of what was fetched, found in
        the cache or missing.

    Raises:
        FetchError: If the archive cannot be reached, an archive fails its checksum or
            cannot be read, a symbol has no archive at all, or (``strict``) one is missing.
    """
    fetch = FetchParams.model_validate(fetch)
    request = FetchRequest(
        base_url=fetch.base_url,
        interval=fetch.interval,
        start=fetch.start,
        end=fetch.end,
        cache_dir=Path(fetch.cache_dir),
        strict=fetch.strict,
        progress=fetch.progress,
    )
    client = ArchiveClient(
        connect_timeout=fetch.connect_timeout,
        read_timeout=fetch.read_timeout,
        retries=fetch.retries,
        backoff=fetch.backoff,
    )
    today = datetime.now(timezone.utc).date()
    try:
        results = [fetch_symbol(client, request, symbol, today) for symbol in fetch.symbols]
    finally:
        client.close()
    for result in results:
        _log(result, fetch)
    report = {
        "base_url": fetch.base_url,
        "interval": fetch.interval,
        "ingestion_interval": pandas_interval(fetch.interval),
        "start": fetch.start,
        "end": fetch.end or today.strftime("%Y-%m"),
        "fetched_on": today.isoformat(),
        "symbols": {result.symbol: _summary(result) for result in results},
    }
    return {result.symbol: result.candles for result in results}, report


def pandas_interval(interval: str) -> str | None:
    """The pandas offset alias of an archive interval (``1h`` -> ``1h``, ``1m`` -> ``1min``).

    ``1mo`` has none: months are not a fixed length, which ingestion's gap rule needs.
    """
    if interval.endswith("mo"):
        return None
    return interval[:-1] + _PANDAS_UNITS[interval[-1]]


def _summary(result: SymbolFetch) -> dict[str, Any]:
    candles = result.candles
    return {
        "rows": len(candles),
        "first_bar": str(candles["timestamp"].iloc[0]),
        "last_bar": str(candles["timestamp"].iloc[-1]),
        "archives_downloaded": len(result.downloaded),
        "archives_from_cache": len(result.cached),
        "bytes_downloaded": result.bytes_downloaded,
        "missing": result.missing,
    }


def _log(result: SymbolFetch, fetch: FetchParams) -> None:
    logger.info(
        "%s: %d bars of %s (%s to %s); %d archive(s) downloaded, %d from the cache (%s).",
        result.symbol,
        len(result.candles),
        fetch.interval,
        result.candles["timestamp"].iloc[0],
        result.candles["timestamp"].iloc[-1],
        len(result.downloaded),
        len(result.cached),
        fetch.cache_dir,
    )
    if result.missing:
        logger.warning(
            "%s: %d archive(s) missing (HTTP 404) and skipped: %s. Their bars are gaps; "
            "fetch.strict=true stops the run instead.",
            result.symbol,
            len(result.missing),
            ", ".join(result.missing),
        )
