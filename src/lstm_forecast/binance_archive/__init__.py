"""A client of Binance's public kline archive (https://data.binance.vision): torch-free, Kedro-free.

``fetch_symbol`` plans the monthly (and, for the current month, daily) archives of a
symbol, verifies each zip against its published sha256 before it is read, keeps the
verified zips in a cache so an interrupted fetch resumes where it stopped, and returns the
candles in the layout the ingestion stage reads by default.
"""

from .archives import INTERVALS, Archive, plan_archives
from .download import ArchiveClient
from .errors import (
    ArchiveMissingError,
    ArchiveUnreachableError,
    ChecksumMismatchError,
    CorruptArchiveError,
)
from .fetching import FetchRequest, SymbolFetch, fetch_symbol
from .klines import COLUMNS, parse_klines, read_archive

__all__ = [
    "COLUMNS",
    "INTERVALS",
    "Archive",
    "ArchiveClient",
    "ArchiveMissingError",
    "ArchiveUnreachableError",
    "ChecksumMismatchError",
    "CorruptArchiveError",
    "FetchRequest",
    "SymbolFetch",
    "fetch_symbol",
    "parse_klines",
    "plan_archives",
    "read_archive",
]
