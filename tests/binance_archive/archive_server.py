"""A local stand-in for the public kline archive, serving real candles in its exact layout.

The archives are cut from the shipped BTCUSDT file (``RAW_CSV``): one zip per month (or
day) of kline rows with epoch open and close times, each beside a ``.CHECKSUM`` written
``<sha256>  <name>``, under ``/data/spot/<monthly|daily>/klines/<SYMBOL>/<interval>/``.
The server runs in a thread on 127.0.0.1, counts every request by path, and can answer
404, serve wrong bytes or break a transfer off half-way.
"""

from __future__ import annotations

import hashlib
import io
import threading
import zipfile
from collections import Counter
from functools import cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pandas as pd

from tests.conftest import RAW_CSV

KLINE_FIELDS = (
    "open", "high", "low", "close", "volume", "close_time", "quote_av", "trades",
    "tb_base_av", "tb_quote_av", "ignore",
)  # fmt: skip


@cache
def source_rows() -> pd.DataFrame:
    """The shipped file as text cells, with the bar's open time parsed."""
    frame = pd.read_csv(RAW_CSV, dtype=str, index_col=0)
    return frame.assign(opened=pd.to_datetime(frame["timestamp"]))


def rows_of(period: str) -> pd.DataFrame:
    """The shipped rows whose bar opens in ``period`` (``YYYY-MM`` or ``YYYY-MM-DD``)."""
    rows = source_rows()
    fmt = "%Y-%m" if len(period) == 7 else "%Y-%m-%d"
    return rows[rows["opened"].dt.strftime(fmt) == period]


def kline_csv(period: str, unit: str = "ms") -> bytes:
    """The period's rows as a headerless kline CSV, open and close times in ``unit``."""
    rows = rows_of(period)
    opened_ms = rows["opened"].dt.as_unit("ms").astype("int64")
    close_ms = rows["close_time"].astype("int64")
    if unit == "us":  # spot files from 2025: microseconds, the close time ends in 999999
        opened, closed = opened_ms * 1000, close_ms * 1000 + 999
    else:
        opened, closed = opened_ms, close_ms
    table = rows[list(KLINE_FIELDS)].assign(close_time=closed.astype(str))
    table.insert(0, "open_time", opened.astype(str))
    return table.to_csv(header=False, index=False, lineterminator="\n").encode()


def zipped(member: str, data: bytes) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(member, data)
    return buffer.getvalue()


def archive_path(symbol: str, interval: str, period: str) -> str:
    frequency = "monthly" if len(period) == 7 else "daily"
    name = f"{symbol}-{interval}-{period}.zip"
    return f"/data/spot/{frequency}/klines/{symbol}/{interval}/{name}"


class ArchiveServer:
    """Serves ``files`` (URL path -> bytes); ``requests`` counts each path asked for."""

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}
        self.requests: Counter[str] = Counter()
        self.breaks: Counter[str] = Counter()  # path -> transfers still to break off
        server = self
        self._lock = threading.Lock()

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                with server._lock:
                    server.requests[self.path] += 1
                    body = server.files.get(self.path)
                    breaking = server.breaks[self.path] > 0
                    if breaking:
                        server.breaks[self.path] -= 1
                if body is None:
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Type", "application/octet-stream")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                # A dropped connection: half the promised bytes, then the socket closes.
                self.wfile.write(body[: len(body) // 2] if breaking else body)
                if breaking:
                    self.close_connection = True

            def log_message(self, *args: object) -> None:
                pass

        self._http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._http.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._http.server_address[1]}"
        self._thread = threading.Thread(
            target=self._http.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    def __enter__(self) -> ArchiveServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._http.shutdown()
        self._http.server_close()
        self._thread.join(timeout=5)

    def add(
        self, symbol: str, interval: str, period: str, unit: str = "ms", *, zip_bytes=None
    ) -> str:
        """Publish one archive and its checksum; return the zip's URL path."""
        path = archive_path(symbol, interval, period)
        name = path.rsplit("/", 1)[1]
        data = (
            zip_bytes
            if zip_bytes is not None
            else zipped(name.replace(".zip", ".csv"), kline_csv(period, unit))
        )
        self.files[path] = data
        digest = hashlib.sha256(data).hexdigest()
        self.files[path + ".CHECKSUM"] = f"{digest}  {name}\n".encode()
        return path

    def zip_requests(self) -> int:
        return sum(n for path, n in self.requests.items() if path.endswith(".zip"))

    def all_requests(self) -> int:
        return sum(self.requests.values())
