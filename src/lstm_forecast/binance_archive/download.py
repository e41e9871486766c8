"""Verified, resumable downloads: requests with urllib3's ``Retry``, atomic cache files.

``requests`` (with urllib3 underneath) was already a dependency of the project's stack
(MLflow and kedro-datasets pull it in), so this costs no new package. urllib3's ``Retry``
re-sends a request whose connection failed or whose answer was 429/5xx, backing off
exponentially and honouring ``Retry-After``; it cannot retry a body that breaks off
mid-transfer, so :meth:`ArchiveClient.download` restarts such a transfer itself, with the
same backoff. A zip reaches its cache path only after its sha256 matched the published
checksum: it is written to a temporary file beside it and renamed.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import re
import time
from pathlib import Path

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from .errors import (
    OFFLINE_ALTERNATIVE,
    ArchiveMissingError,
    ArchiveUnreachableError,
    ChecksumMismatchError,
)

logger = logging.getLogger(__name__)

_CHUNK = 1 << 16
_CHECKSUM = re.compile(r"^\s*([0-9a-fA-F]{64})\s+\*?(\S+)\s*$")
# `<name>.<writer pid>.part`: a later run deletes the parts of writers that are gone.
_PART = re.compile(r"^(?P<target>.+)\.(?P<pid>\d+)\.part$")
_BROKEN_BODY = (
    requests.exceptions.ChunkedEncodingError,
    requests.exceptions.ConnectionError,
    requests.exceptions.Timeout,
)


class ArchiveClient:
    """An HTTP session for one archive: timeouts, retries with backoff, one connection pool.

    Args:
        connect_timeout: Seconds to wait for a connection.
        read_timeout: Seconds to wait for the next bytes of an answer.
        retries: Attempts after the first, for a failed connection, a 429/5xx answer or a
            transfer that broke off.
        backoff: urllib3's backoff factor: waits of ``backoff * 2**n`` seconds between retries.
    """

    def __init__(
        self,
        *,
        connect_timeout: float = 10.0,
        read_timeout: float = 60.0,
        retries: int = 5,
        backoff: float = 0.5,
    ) -> None:
        self.timeout = (connect_timeout, read_timeout)
        self.retries = retries
        self.backoff = backoff
        retry = Retry(
            total=retries,
            backoff_factor=backoff,
            status_forcelist=(429, 500, 502, 503, 504),
            allowed_methods=frozenset({"GET"}),
            raise_on_status=False,  # the last 5xx answer is returned and reported below
            respect_retry_after_header=True,
        )
        self.session = requests.Session()
        self.session.mount("http://", HTTPAdapter(max_retries=retry))
        self.session.mount("https://", HTTPAdapter(max_retries=retry))
        self.session.headers["User-Agent"] = "lstm-forecast-fetch"

    def close(self) -> None:
        """Close the connection pool."""
        self.session.close()

    def _get(self, url: str) -> requests.Response:
        try:
            response = self.session.get(url, timeout=self.timeout, stream=True)
        except requests.exceptions.RequestException as error:
            raise ArchiveUnreachableError(
                f"Cannot reach {url} ({_reason(error)}), after {self.retries} retries. "
                f"fetch downloads from the exchange's public archive (fetch.base_url) and "
                f"needs the network. {OFFLINE_ALTERNATIVE}"
            ) from None
        if response.status_code == 404:
            response.close()
            raise ArchiveMissingError(url)
        if response.status_code != 200:
            response.close()
            raise ArchiveUnreachableError(
                f"{url} answered HTTP {response.status_code} {response.reason}, after "
                f"{self.retries} retries. Rerun later: archives already verified are kept. "
                f"{OFFLINE_ALTERNATIVE}"
            )
        return response

    def checksum(self, url: str, name: str) -> str:
        """The sha256 published at ``url`` (a ``<hex>  <name>`` line) for file ``name``.

        Raises:
            ArchiveMissingError: If the server has no such file.
            ChecksumMismatchError: If the file is not a checksum of ``name``.
        """
        for attempt in range(self.retries + 1):
            try:
                with self._get(url) as response:
                    text = response.content.decode("ascii", errors="replace")
                break
            except _BROKEN_BODY as error:
                self._wait_or_give_up(url, attempt, error)
        match = _CHECKSUM.match(text)
        if not match or Path(match[2]).name != name:
            raise ChecksumMismatchError(
                f"{url} is not a sha256 checksum of {name} (expected '<64 hex digits>  "
                f"{name}', got {text[:120]!r})."
            )
        return match[1].lower()

    def download(self, url: str, target: Path, sha256: str) -> int:
        """Download ``url`` to ``target`` if its sha256 is ``sha256``; return its size.

        The bytes go to ``<target>.<pid>.part`` and are renamed to ``target`` only when
        complete and verified; a transfer that breaks off is restarted up to ``retries``
        times.

        Raises:
            ArchiveMissingError: If the server has no such file.
            ChecksumMismatchError: If the bytes do not match; nothing is kept.
            ArchiveUnreachableError: If the transfer kept failing.
        """
        target.parent.mkdir(parents=True, exist_ok=True)
        part = target.with_name(f"{target.name}.{os.getpid()}.part")
        try:
            for attempt in range(self.retries + 1):
                try:
                    digest, size = self._stream(url, part)
                    break
                except _BROKEN_BODY as error:
                    self._wait_or_give_up(url, attempt, error)
            if digest != sha256:
                raise ChecksumMismatchError(
                    f"{url}: sha256 {digest} differs from the published checksum {sha256}; "
                    "the download was deleted and refused. Rerun to download it again; if "
                    "it differs again, the archive (or fetch.base_url's mirror) is damaged."
                )
            os.replace(part, target)
        finally:
            part.unlink(missing_ok=True)
        return size

    def _stream(self, url: str, part: Path) -> tuple[str, int]:
        hasher = hashlib.sha256()
        size = 0
        with self._get(url) as response, part.open("wb") as file:
            for chunk in response.iter_content(_CHUNK):
                file.write(chunk)
                hasher.update(chunk)
                size += len(chunk)
            file.flush()
            os.fsync(file.fileno())
        return hasher.hexdigest(), size

    def _wait_or_give_up(self, url: str, attempt: int, error: Exception) -> None:
        if attempt >= self.retries:
            raise ArchiveUnreachableError(
                f"Downloading {url} broke off {attempt + 1} times ({_reason(error)}). Rerun "
                "the same command to resume: archives already verified are kept and not "
                f"downloaded again. {OFFLINE_ALTERNATIVE}"
            ) from None
        wait = self.backoff * 2**attempt
        logger.warning("%s broke off (%s); retrying in %.1f s.", url, _reason(error), wait)
        time.sleep(wait)


def _reason(error: BaseException) -> str:
    """The innermost cause of a requests/urllib3 error, in one short line."""
    while True:
        inner = getattr(error, "reason", None) or error.__context__ or error.__cause__
        if not isinstance(inner, BaseException) or inner is error:
            break
        error = inner
    text = str(error).split(": ", 1)[-1] if ": " in str(error) else str(error)
    return f"{type(error).__name__}: {text}"[:200]


def sha256_of(path: Path) -> str:
    """The sha256 of a file, read in chunks."""
    hasher = hashlib.sha256()
    with path.open("rb") as file:
        for chunk in iter(lambda: file.read(_CHUNK), b""):
            hasher.update(chunk)
    return hasher.hexdigest()


def remove_dead_parts(folder: Path) -> list[Path]:
    """Delete ``.part`` files that a killed writer left in ``folder``; return them."""
    removed = []
    for path in folder.glob("*.part") if folder.is_dir() else ():
        match = _PART.match(path.name)
        if match and not _alive(int(match["pid"])):
            path.unlink(missing_ok=True)
            removed.append(path)
    return removed


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    with contextlib.suppress(PermissionError):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
    return True
