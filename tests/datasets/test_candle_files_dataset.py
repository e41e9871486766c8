"""``CandleFilesDataset``: a folder's ``<asset>.csv`` files plus files named by asset."""

from __future__ import annotations

from pathlib import Path

import pytest
from kedro.io import DataCatalog
from kedro.io.core import DatasetError

from lstm_forecast.datasets import CandleFilesDataset
from lstm_forecast.errors import CandleDataError


def test_folder_files_and_named_files_load_lazily_the_named_one_winning(tmp_path: Path):
    folder = tmp_path / "candles"
    folder.mkdir()
    (folder / "AAA.csv").write_text("folder AAA")
    (folder / "BBB.csv").write_text("folder BBB")
    (folder / "notes.txt").write_text("not a candle file")
    (tmp_path / "bbb_long_2017_2025.csv").write_text("long BBB")
    catalog = DataCatalog.from_config(
        {
            "raw_candle_files": {
                "type": "lstm_forecast.datasets.CandleFilesDataset",
                "path": str(folder),
                "dataset": "text.TextDataset",
                "filename_suffix": ".csv",
                "files": {
                    "BBB": str(tmp_path / "bbb_long_2017_2025.csv"),
                    "CCC": str(tmp_path / "absent.csv"),
                },
            }
        }
    )
    loaders = catalog.load("raw_candle_files")
    assert sorted(loaders) == ["AAA", "BBB", "CCC"]
    assert loaders["AAA"]() == "folder AAA" and loaders["BBB"]() == "long BBB"
    # A missing file fails only when that asset is read, naming the asset and the path.
    with pytest.raises(CandleDataError, match=r"asset CCC: .*absent\.csv does not exist"):
        loaders["CCC"]()


def test_it_reads_text_only_and_is_read_only(tmp_path: Path):
    with pytest.raises(DatasetError, match="reads text files"):
        CandleFilesDataset(path=str(tmp_path), dataset="pandas.CSVDataset")
    with pytest.raises(DatasetError, match="give `path`"):
        CandleFilesDataset()
    with pytest.raises(DatasetError, match="read-only"):
        CandleFilesDataset(path=str(tmp_path)).save({})
