"""Several assets, by hand: fresh index and segment numbers, file paths, layouts merged key by
key (also for ``raw_csv``), and the two refusals word for word."""

from __future__ import annotations

import pandas as pd
import pytest
from pydantic import ValidationError

from lstm_forecast.errors import CandleDataError
from lstm_forecast.pipelines.ingestion.nodes import _ASSET_KEYS, _merged, clean_assets
from lstm_forecast.pipelines.ingestion.params import IngestionParams

from .test_assets import _csv, _files, _hours, _ingestion

PIPE_MS = {"source": {"sep": "pipe", "epoch_unit": "ms", "header": False, "columns": dict(
    timestamp=0, open=1, high=2, low=3, close=4, volume=5)}}  # fmt: skip


def _pipe_ms(n: int) -> str:
    stamps = pd.date_range("2024-01-01", periods=n, freq="h")
    return "".join(
        f"{int(s.timestamp() * 1000)}|{100 + i}|{101 + i}|{99 + i}|{100 + i}|5\n"
        for i, s in enumerate(stamps)
    )


def test_stacked_assets_get_a_fresh_index_and_segments_after_the_last_one():
    # AAA's last bar comes after a gap: a segment of its own, so BBB starts at segment 2.
    aaa = _hours("2024-01-01", 6) + _hours("2024-01-01 08:00", 1)
    files = _files(AAA=_csv(aaa), BBB=_csv(_hours("2024-01-01", 6)))
    ingestion = _ingestion(["AAA", "BBB"], candles_dir="/data/RAW_X/")
    candles, report = clean_assets(files, "", ingestion)
    assert candles["segment"].tolist() == [0] * 6 + [1] + [2] * 6
    assert candles.index.equals(pd.RangeIndex(13))
    # The folder's trailing slash only is dropped: one slash before the file name.
    assert report["by_asset"]["AAA"]["source_file"] == "/data/RAW_X/AAA.csv"


def test_a_missing_asset_file_is_refused_word_for_word():
    with pytest.raises(CandleDataError) as refused:
        clean_assets({}, "", _ingestion(["ZZZ"]))
    assert str(refused.value) == (
        "asset(s) ['ZZZ']: no file data/01_raw/candles/<asset>.csv (found none). Fix: fetch "
        "them (`kedro run --pipelines=fetch`), put the CSVs there, or change ingestion.assets."
    )


def test_raw_csv_takes_the_layout_of_its_stem():
    ingestion = _ingestion(["AAA"], raw_csv="data/01_raw/BBB.csv", asset_layouts={"BBB": PIPE_MS})
    candles, _ = clean_assets({}, _pipe_ms(8), ingestion)
    assert candles["close"].tolist() == [100.0 + i for i in range(8)]
    assert set(candles["asset"]) == {"BBB"}


def test_a_layout_is_merged_key_by_key_into_the_block():
    base = IngestionParams.model_validate(_ingestion(["AAA"])).model_dump(exclude=set(_ASSET_KEYS))
    base["source"]["sep"] = ";"
    merged = _merged(base, {"source": {"epoch_unit": "ms"}, "interval": "1D"})
    # The sibling keys of a nested block stay: only epoch_unit changes in source.
    assert (merged.source.sep, merged.source.epoch_unit, merged.interval) == (";", "ms", "1D")
    assert merged.source.columns == IngestionParams.model_validate(base).source.columns
    # A value that is not a block where the block has one is pydantic's refusal, not a crash.
    with pytest.raises(ValidationError):
        _merged(base, {"source": {"columns": "timestamp"}})
