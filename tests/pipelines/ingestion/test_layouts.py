"""The shipped file, and the same candles in other layouts, give one identical frame."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pandas as pd
import pytest

from lstm_forecast.pipelines.ingestion.nodes import clean_candles

from ._helpers import SHIPPED, assert_candle_invariants, params

POSITIONS = {"timestamp": 1, "open": 2, "high": 3, "low": 4, "close": 5, "volume": 6}


def test_shipped_file_gives_8749_bars_in_5_segments(shipped_clean):
    candles, report = shipped_clean
    assert_candle_invariants(candles)
    assert len(candles) == 8749
    assert candles["timestamp"].iloc[0] == pd.Timestamp("2021-03-06 17:00", tz="UTC")
    assert candles["timestamp"].iloc[-1] == pd.Timestamp("2022-03-06 16:00", tz="UTC")
    assert sorted(candles["segment"].unique()) == [0, 1, 2, 3, 4]
    assert report["gaps"] == 4
    assert report["missing_bars"] == 11
    assert [gap["missing_bars"] for gap in report["gap_list"]] == [2, 3, 4, 2]
    assert report["gap_list"][0]["start"] == "2021-04-20T02:00:00+00:00"
    assert report["rows_read"] == report["rows_kept"] == 8749
    assert report["source_file"] == SHIPPED


def test_report_is_plain_json(shipped_clean):
    _, report = shipped_clean
    assert json.loads(json.dumps(report)) == report
    assert {"start", "end", "interval", "gap_policy", "duplicate_rows_dropped"} <= set(report)


def _shuffled(table: pd.DataFrame) -> tuple[str, dict[str, Any]]:
    return table.sample(frac=1, random_state=1).to_csv(), params(SHIPPED)


def _with_identical_duplicates(table: pd.DataFrame) -> tuple[str, dict[str, Any]]:
    doubled = pd.concat([table, table.sample(300, random_state=2)])
    return doubled.sample(frac=1, random_state=3).to_csv(), params(SHIPPED)


def _newest_first(table: pd.DataFrame) -> tuple[str, dict[str, Any]]:
    return table.iloc[::-1].to_csv(), params(SHIPPED)


def _headerless(table: pd.DataFrame) -> tuple[str, dict[str, Any]]:
    return table.to_csv(header=False), params(SHIPPED, header="false", columns=POSITIONS)


def _banner(table: pd.DataFrame) -> tuple[str, dict[str, Any]]:
    text = "https://www.CryptoDataDownload.com\n" + table.to_csv()
    return text, params(SHIPPED, skip_rows=1)


def _epoch_ms(table: pd.DataFrame) -> tuple[str, dict[str, Any]]:
    opened = pd.to_datetime(table["timestamp"], utc=True).dt.as_unit("ms").astype("int64")
    return table.assign(timestamp=opened).to_csv(), params(SHIPPED, epoch_unit="ms")


def _semicolon_comma_decimal(table: pd.DataFrame) -> tuple[str, dict[str, Any]]:
    return table.to_csv(sep=";", decimal=","), params(SHIPPED, sep=";", decimal=",")


def _two_character_separator(table: pd.DataFrame) -> tuple[str, dict[str, Any]]:
    # pandas' C reader takes one character only; this goes through its python engine.
    return table.to_csv(sep=";").replace(";", "; "), params(SHIPPED, sep="; ")


def _thousands_separators(table: pd.DataFrame) -> tuple[str, dict[str, Any]]:
    grouped = table.assign(
        **{c: table[c].map("{:,}".format) for c in POSITIONS if c != "timestamp"}
    )
    return grouped.to_csv(sep=";"), params(SHIPPED, sep=";", thousands=",")


def _renamed_columns_local_time(table: pd.DataFrame) -> tuple[str, dict[str, Any]]:
    local = pd.to_datetime(table["timestamp"]).dt.tz_localize("UTC").dt.tz_convert("Asia/Tokyo")
    renamed = table.assign(timestamp=local.dt.strftime("%d/%m/%Y %H:%M")).rename(
        columns={"timestamp": "Date", "volume": "Volume BTC", "open": "OPEN"}
    )
    return renamed.to_csv(), params(
        SHIPPED,
        columns={"timestamp": "date", "open": "open", "volume": "Volume BTC"},
        timestamp_format="%d/%m/%Y %H:%M",
        timezone="Asia/Tokyo",
    )


LAYOUTS: dict[str, Callable[[pd.DataFrame], tuple[str, dict[str, Any]]]] = {
    "shuffled": _shuffled,
    "identical duplicates": _with_identical_duplicates,
    "newest first": _newest_first,
    "headerless": _headerless,
    "banner line": _banner,
    "epoch ms": _epoch_ms,
    "semicolon, comma decimal": _semicolon_comma_decimal,
    "thousands separators": _thousands_separators,
    "two-character separator": _two_character_separator,
    "renamed columns, local time": _renamed_columns_local_time,
}


@pytest.mark.parametrize("layout", LAYOUTS)
def test_other_layouts_give_the_same_frame(layout: str, shipped_table, shipped_clean):
    text, ingestion = LAYOUTS[layout](shipped_table)
    candles, report = clean_candles(text, ingestion)
    pd.testing.assert_frame_equal(candles, shipped_clean[0])
    assert report["gaps"] == 4
    assert report["duplicate_rows_dropped"] == (300 if layout == "identical duplicates" else 0)
