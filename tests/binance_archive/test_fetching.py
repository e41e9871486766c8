"""fetch_symbol against a local archive of real candles: the result, and every failure."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from datetime import date

import pandas as pd
import pytest

from lstm_forecast.binance_archive import (
    ArchiveClient,
    ArchiveMissingError,
    ArchiveUnreachableError,
    ChecksumMismatchError,
    CorruptArchiveError,
    fetch_symbol,
)
from lstm_forecast.errors import FetchError

from .archive_server import archive_path, rows_of, zipped
from .conftest import TODAY, request_for

MONTHS = ("2021-04", "2021-05", "2021-06")


def _expected(periods) -> pd.DataFrame:
    rows = pd.concat([rows_of(p) for p in periods])
    return pd.DataFrame(
        {
            "timestamp": rows["opened"].to_numpy(),
            **{c: rows[c].astype(float).to_numpy() for c in ("open", "high", "low", "close")},
            "volume": rows["volume"].astype(float).to_numpy(),
        }
    )


def _publish(server, months=MONTHS, us=("2021-05",)) -> None:
    for month in months:
        server.add("BTCUSDT", "1h", month, unit="us" if month in us else "ms")


def _leftovers(cache) -> list[str]:
    return sorted(p.name for p in cache.rglob("*") if p.is_file() and ".part" in p.name)


def test_months_in_ms_and_us_become_one_sorted_table(server, client, tmp_path):
    _publish(server)
    result = fetch_symbol(client, request_for(server.url, tmp_path), "BTCUSDT", TODAY)
    pd.testing.assert_frame_equal(result.candles, _expected(MONTHS), check_dtype=False)
    assert result.downloaded == list(MONTHS) and result.missing == []
    assert result.candles["timestamp"].is_monotonic_increasing
    assert server.zip_requests() == 3


def test_missing_month_is_listed_and_skipped(server, client, tmp_path):
    _publish(server, months=("2021-04", "2021-06"))
    result = fetch_symbol(client, request_for(server.url, tmp_path), "BTCUSDT", TODAY)
    assert result.missing == ["2021-05"]
    pd.testing.assert_frame_equal(
        result.candles, _expected(("2021-04", "2021-06")), check_dtype=False
    )


def test_missing_month_stops_a_strict_fetch(server, client, tmp_path):
    _publish(server, months=("2021-04", "2021-06"))
    request = request_for(server.url, tmp_path, strict=True)
    with pytest.raises(ArchiveMissingError, match=r"BTCUSDT-1h-2021-05\.zip\.CHECKSUM: not found"):
        fetch_symbol(client, request, "BTCUSDT", TODAY)


def test_unknown_symbol_fails_naming_a_url(server, client, tmp_path):
    _publish(server)
    with pytest.raises(FetchError, match=r"BTCUSTD: no 1h archive .*BTCUSTD-1h-2021-04\.zip"):
        fetch_symbol(client, request_for(server.url, tmp_path), "BTCUSTD", TODAY)


def test_wrong_checksum_deletes_the_zip_and_refuses_it(server, client, tmp_path):
    _publish(server)
    path = archive_path("BTCUSDT", "1h", "2021-05")
    body = bytearray(server.files[path])
    body[len(body) // 2] ^= 0xFF  # one byte differs; the checksum is the original's
    server.files[path] = bytes(body)
    with pytest.raises(ChecksumMismatchError, match=r"BTCUSDT-1h-2021-05\.zip: sha256"):
        fetch_symbol(client, request_for(server.url, tmp_path), "BTCUSDT", TODAY)
    cached = sorted(p.name for p in tmp_path.rglob("*.zip"))
    assert cached == ["BTCUSDT-1h-2021-04.zip"]  # verified before it; nothing of 2021-05
    assert _leftovers(tmp_path) == []


def test_corrupt_zip_with_a_matching_checksum_is_refused_and_uncached(server, client, tmp_path):
    _publish(server, months=("2021-04", "2021-06"))
    server.add("BTCUSDT", "1h", "2021-05", zip_bytes=b"PK\x03\x04 not really a zip")
    with pytest.raises(CorruptArchiveError, match=r"2021-05\.zip is not a readable zip"):
        fetch_symbol(client, request_for(server.url, tmp_path), "BTCUSDT", TODAY)
    assert not list(tmp_path.rglob("BTCUSDT-1h-2021-05.zip*"))
    assert len(list(tmp_path.rglob("*.zip"))) == 2


def test_zip_holding_no_klines_is_refused(server, client, tmp_path):
    server.add("BTCUSDT", "1h", "2021-04", zip_bytes=zipped("x.csv", b"1617235200000,abc\n"))
    with pytest.raises(CorruptArchiveError, match="not a kline CSV"):
        fetch_symbol(client, request_for(server.url, tmp_path, end="2021-04"), "BTCUSDT", TODAY)


def test_dropped_connection_mid_file_is_retried(server, client, tmp_path):
    _publish(server)
    path = archive_path("BTCUSDT", "1h", "2021-05")
    server.breaks[path] = 1
    result = fetch_symbol(client, request_for(server.url, tmp_path), "BTCUSDT", TODAY)
    assert server.requests[path] == 2
    pd.testing.assert_frame_equal(result.candles, _expected(MONTHS), check_dtype=False)


def test_connection_dropping_every_time_fails_and_leaves_nothing_half_written(
    server, client, tmp_path
):
    _publish(server)
    path = archive_path("BTCUSDT", "1h", "2021-05")
    server.breaks[path] = 99
    with pytest.raises(ArchiveUnreachableError, match=r"broke off 3 times.*resume"):
        fetch_symbol(client, request_for(server.url, tmp_path), "BTCUSDT", TODAY)
    assert server.requests[path] == 3  # the first try and client.retries (2) more
    assert not list(tmp_path.rglob("BTCUSDT-1h-2021-05.zip*"))
    assert _leftovers(tmp_path) == []


def test_resumed_fetch_downloads_nothing_twice(server, client, tmp_path):
    _publish(server)
    broken = archive_path("BTCUSDT", "1h", "2021-06")
    server.breaks[broken] = 99
    request = request_for(server.url, tmp_path)
    with pytest.raises(ArchiveUnreachableError):
        fetch_symbol(client, request, "BTCUSDT", TODAY)
    server.breaks.clear()
    server.requests.clear()
    resumed = fetch_symbol(client, request, "BTCUSDT", TODAY)
    assert (resumed.cached, resumed.downloaded) == (["2021-04", "2021-05"], ["2021-06"])
    assert set(server.requests) == {broken, broken + ".CHECKSUM"}
    server.requests.clear()
    again = fetch_symbol(client, request, "BTCUSDT", TODAY)
    assert server.all_requests() == 0 and again.cached == list(MONTHS)
    pd.testing.assert_frame_equal(again.candles, resumed.candles)


def test_cached_zip_that_no_longer_matches_is_downloaded_again(server, client, tmp_path):
    _publish(server)
    request = request_for(server.url, tmp_path)
    fetch_symbol(client, request, "BTCUSDT", TODAY)
    cached = next(tmp_path.rglob("BTCUSDT-1h-2021-04.zip"))
    cached.write_bytes(cached.read_bytes()[:100])  # e.g. damaged on disk
    server.requests.clear()
    result = fetch_symbol(client, request, "BTCUSDT", TODAY)
    assert result.downloaded == ["2021-04"] and server.zip_requests() == 1


def test_no_network_says_once_which_url_and_the_offline_way(tmp_path):
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    client = ArchiveClient(connect_timeout=1, read_timeout=1, retries=1, backoff=0.0)
    request = request_for(f"http://127.0.0.1:{port}", tmp_path)
    with pytest.raises(ArchiveUnreachableError) as raised:
        fetch_symbol(client, request, "BTCUSDT", TODAY)
    message = str(raised.value)
    url = f"http://127.0.0.1:{port}/data/spot/monthly/klines/BTCUSDT/1h/BTCUSDT-1h-2021-04.zip"
    assert f"Cannot reach {url}.CHECKSUM" in message
    assert "raw_csv=" in message and "refused" in message.lower()
    assert not list(tmp_path.rglob("*.zip*"))


def test_current_month_comes_from_daily_archives(server, client, tmp_path):
    server.add("BTCUSDT", "1h", "2021-06")
    for day in ("2021-07-01", "2021-07-02"):
        server.add("BTCUSDT", "1h", day, unit="us")
    request = request_for(server.url, tmp_path, start="2021-06", end=None)
    result = fetch_symbol(client, request, "BTCUSDT", date(2021, 7, 3))
    assert result.downloaded == ["2021-06", "2021-07-01", "2021-07-02"]
    expected = _expected(("2021-06", "2021-07-01", "2021-07-02"))
    pd.testing.assert_frame_equal(result.candles, expected, check_dtype=False)


def test_last_month_not_yet_published_falls_back_to_its_days(server, client, tmp_path):
    server.add("BTCUSDT", "1h", "2021-05")
    for day in ("2021-06-29", "2021-06-30"):  # the monthly 2021-06 is not there yet
        server.add("BTCUSDT", "1h", day)
    request = request_for(server.url, tmp_path, start="2021-05", end="2021-06")
    result = fetch_symbol(client, request, "BTCUSDT", date(2021, 7, 2))
    assert result.downloaded == ["2021-05", "2021-06-29", "2021-06-30"]
    assert len(result.missing) == 28  # 2021-06-01 .. 2021-06-28: listed, not fatal
    assert result.candles["timestamp"].iloc[-1] == pd.Timestamp("2021-06-30 23:00")


def test_parts_left_by_a_killed_download_are_removed_and_live_ones_kept(server, client, tmp_path):
    _publish(server, months=("2021-04",))
    folder = tmp_path / "BTCUSDT" / "1h"
    folder.mkdir(parents=True)
    finished = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    dead = folder / f"BTCUSDT-1h-2021-04.zip.{int(finished.stdout)}.part"
    live = folder / f"BTCUSDT-1h-2021-05.zip.{os.getpid()}.part"
    for part in (dead, live):
        part.write_bytes(b"half a zip")
    request = request_for(server.url, tmp_path, end="2021-04")
    fetch_symbol(client, request, "BTCUSDT", TODAY)
    assert not dead.exists() and live.exists()


def test_strict_fetch_tolerates_only_yesterday_not_published_yet(server, client, tmp_path):
    server.add("BTCUSDT", "1h", "2021-07-01")  # 2021-07-02 (yesterday) is not out yet
    request = request_for(server.url, tmp_path, start="2021-07", end=None, strict=True)
    result = fetch_symbol(client, request, "BTCUSDT", date(2021, 7, 3))
    assert (result.downloaded, result.missing) == (["2021-07-01"], ["2021-07-02"])
    with pytest.raises(ArchiveMissingError, match=r"2021-07-02\.zip"):
        fetch_symbol(client, request, "BTCUSDT", date(2021, 7, 4))  # 07-02 is now overdue
