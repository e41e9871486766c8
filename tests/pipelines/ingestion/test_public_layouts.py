"""The README's table of public export layouts: each `--params` string, as written there,
reads a small synthetic file in that layout into the candles the plain layout gives.

The files are written here from the layouts' public descriptions (column order, header,
banner, separators, time format); no real export is needed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pytest
from kedro.config import OmegaConfigLoader
from kedro.framework.cli.utils import _split_params

from lstm_forecast.pipelines.ingestion.nodes import clean_candles

from ._helpers import PROJECT

README = (PROJECT / "README.md").read_text()


def canonical(n: int, freq: str) -> pd.DataFrame:
    """``n`` bars of ``freq`` from 2021-01-01 UTC, prices and volumes with 2 decimals."""
    i = np.arange(n)
    close = np.round(40_000 + 250 * np.sin(i / 3) + 7 * i, 2)
    opening = np.concatenate([[39_990.0], close[:-1]])
    return pd.DataFrame(
        {
            "timestamp": pd.date_range("2021-01-01", periods=n, freq=freq, tz="UTC").as_unit("ns"),
            "open": opening,
            "high": np.round(np.maximum(opening, close) + 15.5, 2),
            "low": np.round(np.minimum(opening, close) - 12.25, 2),
            "close": close,
            "volume": 1_000.0 + 10 * i,  # 1.00K, 1.01K, ... in the suffixed layout
        }
    )


def _ms(frame: pd.DataFrame) -> pd.Series:
    return frame["timestamp"].dt.as_unit("ms").astype("int64")


def binance_kline(frame: pd.DataFrame, unit: str = "ms") -> str:
    """data.binance.vision kline CSV: no header; open time, OHLCV, close time, 6 more."""
    scale = 1000 if unit == "us" else 1
    opened = _ms(frame) * scale
    table = pd.DataFrame(
        {
            "open_time": opened,
            **{c: frame[c].map("{:.8f}".format) for c in ("open", "high", "low", "close")},
            "volume": frame["volume"].map("{:.8f}".format),
            "close_time": opened + 3_599_999 * scale + (scale - 1),
            "quote_volume": (frame["volume"] * frame["close"]).map("{:.8f}".format),
            "trades": 1000,
            "taker_base": "1.0",
            "taker_quote": "1.0",
            "ignore": 0,
        }
    )
    return table.to_csv(header=False, index=False)


def cryptodatadownload(frame: pd.DataFrame) -> str:
    """CryptoDataDownload: a banner line, then a header; newest bar first; unix in ms."""
    table = pd.DataFrame(
        {
            "Unix": _ms(frame),
            "Date": frame["timestamp"].dt.strftime("%Y-%m-%d %H:%M:%S"),
            "Symbol": "BTC/USDT",
            "Open": frame["open"],
            "High": frame["high"],
            "Low": frame["low"],
            "Close": frame["close"],
            "Volume BTC": frame["volume"],
            "Volume USDT": frame["volume"] * frame["close"],
            "tradecount": 1000,
        }
    )
    return "https://www.CryptoDataDownload.com\n" + table.iloc[::-1].to_csv(index=False)


def spreadsheet_eu(frame: pd.DataFrame) -> str:
    """A European spreadsheet export: `;` between fields, 40.123,45 numbers, Berlin time."""

    def number(value: float) -> str:
        return f"{value:,.2f}".replace(",", " ").replace(".", ",").replace(" ", ".")

    local = frame["timestamp"].dt.tz_convert("Europe/Berlin").dt.strftime("%d.%m.%Y %H:%M")
    table = pd.DataFrame(
        {"Date": local, **{c.title(): frame[c].map(number) for c in frame.columns[1:]}}
    )
    return table.to_csv(sep=";", index=False)


def yahoo_daily(frame: pd.DataFrame) -> str:
    """Yahoo-style daily history: Date, OHLC, Adj Close, Volume; `null` on a missing day."""
    table = pd.DataFrame(
        {
            "Date": frame["timestamp"].dt.strftime("%Y-%m-%d"),
            "Open": frame["open"].astype(str),
            "High": frame["high"].astype(str),
            "Low": frame["low"].astype(str),
            "Close": frame["close"].astype(str),
            "Adj Close": frame["close"].astype(str),
            "Volume": frame["volume"].astype(str),
        }
    )
    table.iloc[5, 1:] = "null"
    return table.to_csv(index=False)


def investing_daily(frame: pd.DataFrame) -> str:
    """Investing.com-style daily: quoted 40,123.45 prices, K volumes, `-` for none, newest first."""
    quoted = {c: frame[c].map("{:,.2f}".format) for c in ("close", "open", "high", "low")}
    table = pd.DataFrame(
        {
            "Date": frame["timestamp"].dt.strftime("%m/%d/%Y"),
            "Price": quoted["close"],
            "Open": quoted["open"],
            "High": quoted["high"],
            "Low": quoted["low"],
            "Vol.": (frame["volume"] / 1000).map("{:.2f}K".format),
            "Change %": "0.00%",
        }
    )
    table.iloc[3, 5] = "-"
    return table.iloc[::-1].to_csv(index=False, quoting=1)


@dataclass(frozen=True)
class Layout:
    """A README row: how to write the file, the `--params` to read it, what differs."""

    write: Callable[[pd.DataFrame], str]
    params: str
    freq: str = "1h"
    missing_value_rows: int = 0
    missing_volume_filled: int = 0


LAYOUTS = {
    "binance kline (ms)": Layout(
        binance_kline,
        "raw_csv=data/01_raw/BTCUSDT-1h-2021-03.csv,ingestion.source.header=false,"
        "ingestion.source.epoch_unit=ms,ingestion.source.columns.timestamp=0,"
        "ingestion.source.columns.open=1,ingestion.source.columns.high=2,"
        "ingestion.source.columns.low=3,ingestion.source.columns.close=4,"
        "ingestion.source.columns.volume=5",
    ),
    "binance kline (us)": Layout(
        lambda frame: binance_kline(frame, "us"),
        "raw_csv=data/01_raw/BTCUSDT-1h-2025-03.csv,ingestion.source.header=false,"
        "ingestion.source.epoch_unit=us,ingestion.source.columns.timestamp=0,"
        "ingestion.source.columns.open=1,ingestion.source.columns.high=2,"
        "ingestion.source.columns.low=3,ingestion.source.columns.close=4,"
        "ingestion.source.columns.volume=5",
    ),
    "cryptodatadownload": Layout(
        cryptodatadownload,
        "raw_csv=data/01_raw/Binance_BTCUSDT_1h.csv,ingestion.source.skip_rows=1,"
        "ingestion.source.columns.timestamp=Unix,ingestion.source.epoch_unit=ms,"
        "ingestion.source.columns.volume=Volume BTC",
    ),
    "spreadsheet (EU)": Layout(
        spreadsheet_eu,
        "raw_csv=data/01_raw/btc_hourly.csv,ingestion.source.sep=semicolon,"
        "ingestion.source.decimal=comma,ingestion.source.thousands=dot,"
        "ingestion.source.columns.timestamp=Date,"
        "ingestion.source.timestamp_format='%d.%m.%Y %H:%M',"
        "ingestion.source.timezone=Europe/Berlin",
    ),
    "yahoo daily": Layout(
        yahoo_daily,
        "raw_csv=data/01_raw/BTC-USD.csv,ingestion.source.columns.timestamp=Date,"
        "ingestion.interval=1D",
        freq="1D",
        missing_value_rows=1,
    ),
    "investing daily": Layout(
        investing_daily,
        "raw_csv=data/01_raw/Bitcoin_Historical_Data.csv,ingestion.source.columns.timestamp=Date,"
        "ingestion.source.columns.close=Price,ingestion.source.columns.volume=Vol.,"
        "ingestion.source.timestamp_format='%m/%d/%Y',ingestion.source.thousands=comma,"
        "ingestion.interval=1D,ingestion.missing_volume=zero",
        freq="1D",
        missing_volume_filled=1,
    ),
}


def ingestion_params(runtime: str) -> dict:
    """``params:ingestion`` as ``kedro run --params=<runtime>`` builds it from conf/."""
    config = OmegaConfigLoader(
        conf_source=str(PROJECT / "conf"),
        base_env="base",
        default_run_env="local",
        runtime_params=_split_params(None, None, runtime),
        merge_strategy={"parameters": "soft"},
    )
    return config["parameters"]["ingestion"]


@pytest.mark.parametrize("name", LAYOUTS)
def test_each_readme_layout_reads_into_the_same_candles(name: str):
    layout = LAYOUTS[name]
    frame = canonical(40, layout.freq)
    ingestion = ingestion_params(layout.params)
    candles, report = clean_candles(layout.write(frame), ingestion)

    expected = frame.copy()
    if layout.missing_value_rows:  # the `null` day is a missing bar
        expected = expected.drop(index=5)
    if layout.missing_volume_filled:  # the `-` volume is a bar that traded nothing
        expected.loc[3, "volume"] = 0.0
    expected = expected.reset_index(drop=True)
    expected["segment"] = (expected.index >= 5).astype("int64") if layout.missing_value_rows else 0
    pd.testing.assert_frame_equal(candles, expected, check_exact=False, rtol=1e-12)
    assert report["source_file"] == layout.params.split(",")[0].removeprefix("raw_csv=")
    assert report["missing_value_rows_dropped"] == layout.missing_value_rows
    assert report["missing_volume_filled"] == layout.missing_volume_filled
    assert report["interval"] == ("1D" if layout.freq == "1D" else "1h")


@pytest.mark.parametrize("name", LAYOUTS)
def test_the_readme_shows_each_layouts_params(name: str):
    assert f'--params="{LAYOUTS[name].params}"' in README
