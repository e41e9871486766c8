"""Several assets in one run: each checked on its own, refused by name, stacked in order."""

from __future__ import annotations

import pandas as pd
import pytest

from lstm_forecast.errors import CandleDataError
from lstm_forecast.pipelines.ingestion.nodes import clean_assets

from ._helpers import HEADER, params


def _hours(start: str, n: int, close0: float = 100.0, volume: float = 5.0) -> list[str]:
    stamps = pd.date_range(start, periods=n, freq="h")
    rows = []
    for i, stamp in enumerate(stamps):
        close = close0 + i
        rows.append(f"{stamp:%Y-%m-%d %H:%M:%S},{close},{close + 1},{close - 1},{close},{volume}")
    return rows


def _csv(rows: list[str]) -> str:
    return "\n".join([HEADER, *rows]) + "\n"


def _files(**texts: str) -> dict:
    return {name: (lambda text=text: text) for name, text in texts.items()}


def _ingestion(assets: list[str], **extra) -> dict:
    return params() | {"assets": assets, "candles_dir": "data/01_raw/candles"} | extra


def test_assets_are_stacked_in_order_with_their_own_segments_and_report_sections():
    gap = _hours("2024-01-01", 6) + _hours("2024-01-01 08:00", 6)
    files = _files(AAA=_csv(gap), BBB=_csv(_hours("2024-01-01", 10, close0=5.0)), CCC="unused")
    candles, report = clean_assets(files, "raw text unused", _ingestion(["BBB", "AAA"]))
    assert candles["asset"].tolist() == ["BBB"] * 10 + ["AAA"] * 12
    assert candles["segment"].tolist() == [0] * 10 + [1] * 6 + [2] * 6
    assert report["assets"] == ["BBB", "AAA"] and list(report["by_asset"]) == ["BBB", "AAA"]
    assert report["by_asset"]["AAA"]["gaps"] == 1 and report["by_asset"]["BBB"]["gaps"] == 0
    assert report["by_asset"]["AAA"]["source_file"] == "data/01_raw/candles/AAA.csv"
    assert report["interval"] == "1h" and report["interval_seconds"] == 3600


def test_a_refusal_names_the_asset_and_its_file():
    bad = _hours("2024-01-01", 8)
    bad[3] = bad[3].replace(",5.0", ",-1")  # a negative volume
    files = _files(AAA=_csv(_hours("2024-01-01", 8)), BBB=_csv(bad))
    with pytest.raises(CandleDataError) as caught:
        clean_assets(files, "", _ingestion(["AAA", "BBB"]))
    message = str(caught.value)
    assert message.startswith("asset BBB: data/01_raw/candles/BBB.csv")
    assert "volume" in message


def test_a_missing_asset_file_is_refused_with_what_was_found():
    with pytest.raises(CandleDataError, match=r"\['ZZZ'\].*found \['AAA'\].*fetch"):
        clean_assets(_files(AAA=_csv(_hours("2024-01-01", 8))), "", _ingestion(["AAA", "ZZZ"]))


def test_raw_csv_reads_that_one_file_named_by_its_stem():
    files = _files(AAA=_csv(_hours("2024-01-01", 8)))
    text = _csv(_hours("2024-02-01", 7))
    candles, report = clean_assets(
        files, text, _ingestion(["AAA"], raw_csv="data/01_raw/Binance_BTCUSDT_1h.csv")
    )
    assert set(candles["asset"]) == {"Binance_BTCUSDT_1h"} and len(candles) == 7
    assert report["assets"] == ["Binance_BTCUSDT_1h"]


def test_an_asset_layout_overrides_the_block_for_that_asset_only():
    stamps = pd.date_range("2024-01-01", periods=8, freq="h")
    newest_first_ms = [
        f"{int(s.timestamp() * 1000)}|{100 + i}|{101 + i}|{99 + i}|{100 + i}|5"
        for i, s in enumerate(stamps)
    ][::-1]
    epoch = "t|o|h|l|c|v\n" + "\n".join(newest_first_ms) + "\n"
    override = {
        "source": {
            "sep": "pipe",
            "epoch_unit": "ms",
            "columns": {"timestamp": 0, "open": 1, "high": 2, "low": 3, "close": 4, "volume": 5},
        }
    }
    files = _files(AAA=_csv(_hours("2024-01-01", 8)), BBB=epoch)
    candles, _ = clean_assets(
        files, "", _ingestion(["AAA", "BBB"], asset_layouts={"BBB": override})
    )
    both = candles.groupby("asset")
    assert both["timestamp"].apply(list)["AAA"] == both["timestamp"].apply(list)["BBB"]
    assert both["close"].apply(list)["BBB"] == [100.0 + i for i in range(8)]


def test_assets_of_different_intervals_are_refused():
    daily = "\n".join(
        f"{s:%Y-%m-%d},{100 + i},{101 + i},{99 + i},{100 + i},5"
        for i, s in enumerate(pd.date_range("2024-01-01", periods=8, freq="D"))
    )
    files = _files(AAA=_csv(_hours("2024-01-01", 8)), BBB=_csv([daily]))
    ingestion = _ingestion(["AAA", "BBB"], asset_layouts={"BBB": {"interval": "1D"}})
    with pytest.raises(CandleDataError) as refused:
        clean_assets(files, "", ingestion)
    assert str(refused.value) == (
        "The assets have different bar intervals (seconds: {'AAA': 3600.0, 'BBB': 86400.0}); one "
        "model forecasts one interval. Fix: ingestion.interval, or ingestion.asset_layouts."
    )


def test_the_asset_list_is_checked():
    with pytest.raises(ValueError, match="listed twice"):
        clean_assets({}, "", _ingestion(["AAA", "AAA"]))
    with pytest.raises(ValueError, match="at least one asset"):
        clean_assets({}, "", _ingestion([]))


def test_last_bar_drop_removes_each_files_newest_bar_whatever_the_row_order(caplog):
    rows = _hours("2024-01-01", 12)
    newest_first = _csv(rows[::-1])  # a download written newest first (the long ETH file)
    files = _files(AAA=_csv(rows), BBB=newest_first)
    kept, _ = clean_assets(files, "", _ingestion(["AAA", "BBB"]))
    with caplog.at_level("INFO", logger="lstm_forecast.pipelines.ingestion.nodes"):
        dropped, report = clean_assets(files, "", _ingestion(["AAA", "BBB"], last_bar="drop"))
    said = [r.getMessage() for r in caplog.records if "dropped the newest bar" in r.getMessage()]
    assert said == [
        f"data/01_raw/candles/{name}.csv: dropped the newest bar, 2024-01-01T11:00:00+00:00 "
        "(ingestion.last_bar=drop)."
        for name in ("AAA", "BBB")
    ]
    for name in ("AAA", "BBB"):
        mine = dropped[dropped["asset"] == name]
        assert len(mine) == 11 and report["by_asset"][name]["rows_kept"] == 11
        assert mine["timestamp"].max() == pd.Timestamp("2024-01-01 10:00", tz="UTC")
    assert len(kept) == 24  # the default keeps every bar


def test_last_bar_accepts_only_keep_or_drop():
    with pytest.raises(ValueError, match="last_bar"):
        clean_assets(
            _files(AAA=_csv(_hours("2024-01-01", 8))), "", _ingestion(["AAA"], last_bar="x")
        )
