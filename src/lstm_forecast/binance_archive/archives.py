"""Which archive files cover a span of months, and where each one lives.

The public archive (https://data.binance.vision) publishes one zip per symbol, interval
and month (``data/spot/monthly/klines/<SYMBOL>/<interval>/<SYMBOL>-<interval>-<YYYY-MM>.zip``)
once the month is over, and one per day for the current month
(``data/spot/daily/klines/...-<YYYY-MM-DD>.zip``), each beside a ``.CHECKSUM`` file.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

from .errors import FetchError

# The intervals the archive publishes klines for.
INTERVALS = (
    "1s", "1m", "3m", "5m", "15m", "30m", "1h", "2h", "4h", "6h", "8h", "12h", "1d", "3d",
    "1w", "1mo",
)  # fmt: skip
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")


@dataclass(frozen=True)
class Archive:
    """One archive file: a month (``period`` ``YYYY-MM``) or a day (``YYYY-MM-DD``)."""

    symbol: str
    interval: str
    period: str

    @property
    def frequency(self) -> str:
        """``monthly`` or ``daily``, as the archive's folders are named."""
        return "monthly" if len(self.period) == 7 else "daily"

    @property
    def name(self) -> str:
        """The zip's file name, e.g. ``BTCUSDT-1h-2021-03.zip``."""
        return f"{self.symbol}-{self.interval}-{self.period}.zip"

    def url(self, base_url: str) -> str:
        """The zip's URL under ``base_url`` (its checksum is this plus ``.CHECKSUM``)."""
        folder = f"data/spot/{self.frequency}/klines/{self.symbol}/{self.interval}"
        return f"{base_url.rstrip('/')}/{folder}/{self.name}"

    def cache_path(self, cache_dir: str | Path) -> Path:
        """Where the verified zip is kept between runs."""
        return Path(cache_dir) / self.symbol / self.interval / self.name


def parse_month(text: str) -> date:
    """The first day of the month ``YYYY-MM``.

    Raises:
        FetchError: If ``text`` is not a month written ``YYYY-MM``.
    """
    match = _MONTH.match(str(text).strip())
    if not match or not 1 <= int(match[2]) <= 12:
        raise FetchError(f"{text!r} is not a month: write it YYYY-MM, e.g. 2019-01.")
    return date(int(match[1]), int(match[2]), 1)


def _next_month(day: date) -> date:
    return date(day.year + day.month // 12, day.month % 12 + 1, 1)


def previous_month(today: date) -> date:
    """The first day of the month before ``today``'s."""
    return (today.replace(day=1) - timedelta(days=1)).replace(day=1)


def daily_archives(symbol: str, interval: str, month: date, today: date) -> list[Archive]:
    """The daily archives of ``month`` published by ``today`` (days before today)."""
    days = []
    day = month
    while day.month == month.month and day < today:
        days.append(Archive(symbol, interval, day.isoformat()))
        day += timedelta(days=1)
    return days


def plan_archives(
    symbol: str, interval: str, start: str, end: str | None, today: date
) -> list[Archive]:
    """The archives covering the months ``start`` to ``end`` (both included), oldest first.

    Months before ``today``'s come as monthly archives; ``today``'s month as the daily
    archives published so far. ``end`` defaults to ``today``'s month; a later one is cut
    back to it, since no archive of the future exists.

    Raises:
        FetchError: If a month is malformed, the interval unknown or ``start`` after ``end``.
    """
    if interval not in INTERVALS:
        raise FetchError(f"interval {interval!r} is not one the archive has: {list(INTERVALS)}.")
    first = parse_month(start)
    current = today.replace(day=1)
    last = min(parse_month(end), current) if end else current
    if first > last:
        raise FetchError(
            f"fetch.start {start} is after fetch.end {end or current.strftime('%Y-%m')}"
            " (or after the current month): nothing to fetch."
        )
    archives = []
    month = first
    while month <= last:
        if month < current:
            archives.append(Archive(symbol, interval, month.strftime("%Y-%m")))
        else:
            archives.extend(daily_archives(symbol, interval, month, today))
        month = _next_month(month)
    return archives
