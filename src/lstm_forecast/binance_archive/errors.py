"""What can go wrong while fetching archives; every class derives ``FetchError``."""

from __future__ import annotations

from lstm_forecast.errors import FetchError

# Said once, by every error that means "the archive cannot be used now".
OFFLINE_ALTERNATIVE = (
    "Offline, or for an exchange without such an archive, use your own CSV instead: "
    "kedro run --params=raw_csv=path/to/file.csv (README, 'Using another CSV')."
)


class ArchiveUnreachableError(FetchError):
    """The archive's server could not be reached, or a download kept breaking off."""


class ArchiveMissingError(FetchError):
    """The server has no archive at this URL (HTTP 404)."""

    def __init__(self, url: str) -> None:
        super().__init__(f"{url}: not found (HTTP 404).")
        self.url = url


class ChecksumMismatchError(FetchError):
    """A downloaded archive's sha256 differs from its published ``.CHECKSUM``."""


class CorruptArchiveError(FetchError):
    """An archive whose checksum matched but whose content cannot be read as klines."""
