"""params:fetch as shipped and as typed on the command line; the node in process."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import date

import click
import pytest
from kedro.config import OmegaConfigLoader
from pydantic import ValidationError

from lstm_forecast.cli import run
from lstm_forecast.pipelines.fetch.nodes import fetch_candles, pandas_interval
from lstm_forecast.pipelines.fetch.params import FetchParams
from tests.binance_archive.archive_server import ArchiveServer, rows_of
from tests.conftest import PROJECT_ROOT


def test_shipped_parameters_are_valid():
    loader = OmegaConfigLoader(
        conf_source=str(PROJECT_ROOT / "conf"), base_env="base", default_run_env="local"
    )
    params = FetchParams.model_validate(loader["parameters"]["fetch"])
    assert params.base_url == "https://data.binance.vision" and params.strict is False


def test_bracketed_list_on_the_command_line_is_one_list():
    context = run.make_context(
        "run",
        ["--params=fetch.symbols=[ETHUSDT,SOLUSDT],fetch.interval=1h,fetch.start=2019-01"],
    )
    assert context.params["params"] == {
        "fetch": {"symbols": ["ETHUSDT", "SOLUSDT"], "interval": "1h", "start": "2019-01"}
    }


def test_command_line_without_brackets_parses_as_kedro_did():
    context = run.make_context("run", ["--params=raw_csv=a.csv, features.horizon=12"])
    assert context.params["params"] == {"raw_csv": "a.csv", "features": {"horizon": 12}}


@pytest.mark.parametrize("params", ["--params=fetch.start=2019-01,SOLUSDT", "--params==1"])
def test_command_line_items_without_a_key_are_still_refused(params):
    with pytest.raises(click.UsageError, match="Invalid format of `params` option"):
        run.make_context("run", [params])


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("ETHUSDT", ("ETHUSDT",)),
        ("ethusdt;SOLUSDT", ("ETHUSDT", "SOLUSDT")),
        ("ETHUSDT SOLUSDT", ("ETHUSDT", "SOLUSDT")),
        (["ETHUSDT", "bnbusdt"], ("ETHUSDT", "BNBUSDT")),
    ],
)
def test_symbols_in_every_accepted_form(value, expected):
    assert FetchParams(symbols=value, start="2019-01").symbols == expected


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"symbols": ["ETH-USDT"]}, "not archive symbols"),
        ({"symbols": ["ETHUSDT", "ethusdt"]}, "twice"),
        ({"symbols": []}, "at least 1"),
        ({"interval": "7m"}, "not in the archive"),
        ({"start": "2019-1"}, "not a month"),
        ({"end": "2019-13"}, "not a month"),
        ({"base_url": "ftp://example.org"}, "http"),
        ({"symbol": ["ETHUSDT"]}, "did you mean 'symbols'"),
    ],
)
def test_bad_parameters_are_refused_naming_the_key(changes, message):
    with pytest.raises(ValidationError, match=message):
        FetchParams.model_validate({"symbols": ["ETHUSDT"], "start": "2019-01", **changes})


def test_a_yaml_date_is_read_as_its_month():
    assert FetchParams(symbols="ETHUSDT", start=date(2019, 1, 1)).start == "2019-01"


@pytest.mark.parametrize(
    ("interval", "alias"), [("1m", "1min"), ("1h", "1h"), ("4h", "4h"), ("1d", "1D"), ("1mo", None)]
)
def test_archive_intervals_as_pandas_aliases(interval, alias):
    assert pandas_interval(interval) == alias


def test_node_returns_one_table_per_symbol_and_a_json_report(tmp_path):
    with ArchiveServer() as server:
        server.add("BTCUSDT", "1h", "2021-04")
        params = FetchParams(
            symbols=["BTCUSDT"],
            start="2021-04",
            end="2021-04",
            base_url=server.url,
            cache_dir=str(tmp_path),
            progress=False,
        )
        tables, report = fetch_candles(params)
    assert list(tables) == ["BTCUSDT"]
    assert list(tables["BTCUSDT"].columns) == [
        "timestamp",
        "open",
        "high",
        "low",
        "close",
        "volume",
    ]
    assert len(tables["BTCUSDT"]) == len(rows_of("2021-04")) == report["symbols"]["BTCUSDT"]["rows"]
    assert report["ingestion_interval"] == "1h"
    json.dumps(report)  # the catalog writes it as JSON


def test_the_library_imports_neither_kedro_nor_torch_and_the_stage_no_torch():
    code = (
        "import json, sys\n"
        "def heavy(): return sorted({m.split('.')[0] for m in sys.modules} & "
        "{'torch', 'lightning', 'pytorch_lightning', 'kedro'})\n"
        "import lstm_forecast.binance_archive\n"
        "library = heavy()\n"
        "import lstm_forecast.pipelines.fetch\n"
        "print(json.dumps([library, heavy()]))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    )
    library, stage = json.loads(result.stdout)
    assert (library, stage) == ([], ["kedro"])


def test_fetch_is_not_part_of_the_default_run():
    # The default run must never need the network: fetch runs only when asked for.
    from lstm_forecast.pipeline_registry import DEFAULT_STAGES

    assert "fetch" not in DEFAULT_STAGES and "ingestion" in DEFAULT_STAGES
