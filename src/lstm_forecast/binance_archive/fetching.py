"""Fetch one symbol's candles: plan the archives, use the cache, download the rest, parse.

Each archive is either found in the cache (its sha256 still matches its saved checksum:
no request at all), or downloaded and verified, or missing (HTTP 404: listed, or an error
under ``strict``). A monthly archive of last month that is not published yet is replaced
by that month's daily archives; yesterday's daily archive, which may not be published yet,
is listed as missing even under ``strict``.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import pandas as pd
from tqdm.auto import tqdm

from . import archives as plan
from .download import ArchiveClient, remove_dead_parts, sha256_of
from .errors import ArchiveMissingError, CorruptArchiveError, FetchError
from .klines import COLUMNS, read_archive

logger = logging.getLogger(__name__)


@dataclass
class SymbolFetch:
    """What fetching one symbol did: its candles and which archives came from where."""

    symbol: str
    candles: pd.DataFrame
    downloaded: list[str] = field(default_factory=list)
    cached: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    bytes_downloaded: int = 0


@dataclass(frozen=True)
class FetchRequest:
    """What to fetch and from where (everything but the symbol)."""

    base_url: str
    interval: str
    start: str
    end: str | None
    cache_dir: Path
    strict: bool = False
    progress: bool = True


def fetch_symbol(
    client: ArchiveClient, request: FetchRequest, symbol: str, today: date
) -> SymbolFetch:
    """Fetch ``symbol``'s candles for ``request``'s months, sorted and without duplicates.

    Raises:
        ArchiveMissingError: Under ``strict``, at the first missing archive.
        FetchError: If no archive at all exists for the symbol, or any archive fails.
    """
    queue = plan.plan_archives(symbol, request.interval, request.start, request.end, today)
    result = SymbolFetch(symbol, pd.DataFrame(columns=list(COLUMNS)))
    for removed in remove_dead_parts(request.cache_dir / symbol / request.interval):
        logger.info("Removed %s, left by a download that was killed.", removed)
    found: list[Path] = []
    yesterday = (today - timedelta(days=1)).isoformat()
    bar = tqdm(
        total=len(queue), desc=f"{symbol} {request.interval}", unit="file",
        disable=None if request.progress else True,
    )  # fmt: skip
    with bar:
        while queue:
            archive = queue.pop(0)
            try:
                found.append(_ensure(client, request, archive, result))
            except ArchiveMissingError as missing:
                later = _published_later(archive, today)
                if later:
                    queue[:0] = later
                    bar.total += len(later)
                elif request.strict and archive.period != yesterday:
                    # Yesterday's daily zip may simply not be published yet: never fatal.
                    raise ArchiveMissingError(missing.url) from None
                else:
                    result.missing.append(archive.period)
            bar.update()
    if not found:
        if not result.missing:
            raise FetchError(
                f"{symbol}: no {request.interval} archive is published yet between "
                f"{request.start} and {request.end or 'now'}: daily archives appear the day after."
            )
        example = plan.Archive(symbol, request.interval, result.missing[0])
        raise FetchError(
            f"{symbol}: no {request.interval} archive between {request.start} and "
            f"{request.end or 'now'} at {request.base_url} ({len(result.missing)} missing, "
            f"e.g. {example.url(request.base_url)}). Check the symbol and the months (the "
            "archive lists its symbols under data/spot/monthly/klines/)."
        )
    result.candles = _combine([_read(path) for path in found])
    return result


def _published_later(archive: plan.Archive, today: date) -> list[plan.Archive]:
    """Last month's daily archives, when its monthly archive is not published yet."""
    if archive.frequency != "monthly" or plan.parse_month(archive.period) != plan.previous_month(
        today
    ):
        return []
    month = plan.parse_month(archive.period)
    return plan.daily_archives(archive.symbol, archive.interval, month, today)


def _ensure(
    client: ArchiveClient, request: FetchRequest, archive: plan.Archive, result: SymbolFetch
) -> Path:
    """The verified zip of ``archive`` in the cache, downloaded only if needed."""
    path = archive.cache_path(request.cache_dir)
    checksum_path = path.with_name(path.name + ".CHECKSUM")
    url = archive.url(request.base_url)
    if path.is_file() and checksum_path.is_file():
        if sha256_of(path) == checksum_path.read_text().split()[0]:
            result.cached.append(archive.period)
            return path
        logger.warning("%s no longer matches its checksum: downloading it again.", path)
        path.unlink()
    sha256 = client.checksum(url + ".CHECKSUM", archive.name)
    result.bytes_downloaded += client.download(url, path, sha256)
    _write_text(checksum_path, f"{sha256}  {archive.name}\n")
    result.downloaded.append(archive.period)
    return path


def _read(path: Path) -> pd.DataFrame:
    try:
        return read_archive(path)
    except CorruptArchiveError as error:
        # Verified bytes that are not klines: the source is damaged. Drop it from the cache
        # so that a rerun downloads it again rather than trusting it.
        path.unlink(missing_ok=True)
        path.with_name(path.name + ".CHECKSUM").unlink(missing_ok=True)
        raise CorruptArchiveError(f"{error} It was removed from the cache ({path}).") from None


def _combine(frames: list[pd.DataFrame]) -> pd.DataFrame:
    frame = pd.concat(frames, ignore_index=True)
    frame = frame.sort_values("timestamp", kind="stable").drop_duplicates()
    return frame.reset_index(drop=True)[list(COLUMNS)]


def _write_text(path: Path, text: str) -> None:
    """Write a small file atomically (temporary file beside it, then rename)."""
    part = path.with_name(f"{path.name}.{os.getpid()}.part")
    part.write_text(text)
    part.replace(path)
