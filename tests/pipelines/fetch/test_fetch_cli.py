"""The real `kedro run --pipelines=fetch` against a local archive, read back by ingestion."""

from __future__ import annotations

import json
import socket

import pandas as pd
from kedro.config import OmegaConfigLoader

from lstm_forecast.pipelines.ingestion.nodes import clean_candles
from tests.binance_archive.archive_server import ArchiveServer, rows_of
from tests.conftest import copy_project, run_kedro

MONTHS = ("2021-04", "2021-05", "2021-06")


def _fetch_params(base_url: str) -> str:
    return (
        "--params=fetch.symbols=[BTCUSDT,ETHUSDT],fetch.interval=1h,fetch.start=2021-04,"
        f"fetch.end=2021-06,fetch.base_url={base_url},fetch.retries=1,fetch.backoff=0,"
        "tracking.enabled=false"
    )


def test_fetch_cli_writes_csvs_that_ingestion_reads_with_its_default_layout(tmp_path):
    project = copy_project(tmp_path / "project")
    with ArchiveServer() as server:
        for month in MONTHS:  # real BTCUSDT candles; 2021-05 stamped in microseconds
            server.add("BTCUSDT", "1h", month, unit="us" if month == "2021-05" else "ms")
        # A second symbol exercises the list and the per-file output; it is served the same
        # real candles under its name, with one month absent (listed, not fatal).
        for month in ("2021-04", "2021-06"):
            server.add("ETHUSDT", "1h", month)
        run_kedro(project, "run", "--pipelines=fetch", _fetch_params(server.url), timeout=300)
    assert server.zip_requests() == 5  # each published zip once (resuming: tests/binance_archive)
    cache = project / "data" / "01_raw" / "binance_archive"
    assert len(list(cache.rglob("*.zip"))) == len(list(cache.rglob("*.zip.CHECKSUM"))) == 5

    folder = project / "data" / "01_raw" / "candles"
    assert sorted(p.name for p in folder.iterdir()) == ["BTCUSDT.csv", "ETHUSDT.csv"]
    text = (folder / "BTCUSDT.csv").read_text()
    assert text.splitlines()[0] == "timestamp,open,high,low,close,volume"
    source = pd.concat([rows_of(m) for m in MONTHS])
    assert text.splitlines()[1].startswith(source["timestamp"].iloc[0] + ",")

    loader = OmegaConfigLoader(
        conf_source=str(project / "conf"),
        base_env="base",
        default_run_env="local",
        runtime_params={"raw_csv": str(folder / "BTCUSDT.csv")},
    )
    candles, report = clean_candles(text, loader["parameters"]["ingestion"])
    assert len(candles) == len(source) == report["rows_kept"]
    assert candles["timestamp"].tolist() == pd.to_datetime(source["timestamp"], utc=True).tolist()
    assert candles["close"].tolist() == source["close"].astype(float).tolist()
    assert candles["volume"].tolist() == source["volume"].astype(float).tolist()

    fetched = json.loads((project / "data" / "08_reporting" / "fetch_report.json").read_text())
    assert fetched["symbols"]["ETHUSDT"]["missing"] == ["2021-05"]
    assert fetched["symbols"]["BTCUSDT"]["rows"] == len(source)


def test_fetch_cli_without_network_says_so_once_and_writes_nothing(tmp_path):
    project = copy_project(tmp_path / "project")
    candles = project / "data" / "01_raw" / "candles"
    shipped = {path.name: path.read_bytes() for path in candles.iterdir()}
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{probe.getsockname()[1]}"
    result = run_kedro(
        project, "run", "--pipelines=fetch", _fetch_params(url), check=False, timeout=300
    )
    assert result.returncode == 1
    output = result.stdout + result.stderr
    assert output.count("Cannot reach") == 1, output[-3000:]
    assert f"Cannot reach {url}/data/spot/monthly/klines/BTCUSDT/1h/" in output
    assert "raw_csv=" in output and "Traceback" not in output and "Retrying" not in output
    assert not any((project / "data" / "01_raw").rglob("*.csv.*"))
    assert {path.name: path.read_bytes() for path in candles.iterdir()} == shipped
