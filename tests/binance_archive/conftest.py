"""A local archive server per test, and a fast client (no backoff) pointed at it."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

from lstm_forecast.binance_archive import ArchiveClient, FetchRequest

from .archive_server import ArchiveServer

# A day of the month after the shipped file's months used here: they are all "past" months.
TODAY = date(2021, 9, 15)


@pytest.fixture
def server() -> Iterator[ArchiveServer]:
    with ArchiveServer() as running:
        yield running


@pytest.fixture
def client() -> Iterator[ArchiveClient]:
    made = ArchiveClient(connect_timeout=2, read_timeout=5, retries=2, backoff=0.0)
    yield made
    made.close()


def request_for(base_url: str, cache: Path, **changes) -> FetchRequest:
    settings = {
        "base_url": base_url,
        "interval": "1h",
        "start": "2021-04",
        "end": "2021-06",
        "cache_dir": cache,
        "progress": False,
    }
    return FetchRequest(**{**settings, **changes})
