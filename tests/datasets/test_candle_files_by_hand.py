"""``CandleFilesDataset``'s defaults, its description and its messages, word for word."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from kedro.io.core import DatasetError

from lstm_forecast.datasets import CandleFilesDataset
from lstm_forecast.errors import CandleDataError


def test_the_default_suffix_is_lower_case_csv(tmp_path: Path):
    (tmp_path / "AAA.csv").write_text("a")
    (tmp_path / "BBB.CSV").write_text("b")  # another suffix on a case-sensitive disk
    loaders = CandleFilesDataset(path=str(tmp_path)).load()
    assert sorted(loaders) == ["AAA"] and loaders["AAA"]() == "a"


def test_named_files_alone_need_no_folder(tmp_path: Path):
    file = tmp_path / "long.csv"
    file.write_text("long")
    dataset = CandleFilesDataset(files={"AAA": str(file)}, metadata={"kedro-viz": 1})
    loaders = dataset.load()
    assert sorted(loaders) == ["AAA"] and loaders["AAA"]() == "long"
    assert dataset.metadata == {"kedro-viz": 1}
    assert dataset._describe() == {
        "path": "None",
        "files": {"AAA": str(file)},
        "filename_suffix": ".csv",
    }


def test_the_description_names_folder_files_and_suffix(tmp_path: Path):
    dataset = CandleFilesDataset(
        path=str(tmp_path / "candles"), files={"B": "elsewhere/b.txt"}, filename_suffix=".txt"
    )
    assert dataset._describe() == {
        "path": str(tmp_path / "candles"),
        "files": {"B": "elsewhere/b.txt"},
        "filename_suffix": ".txt",
    }


def test_a_dataset_given_as_a_mapping_is_judged_by_its_type(tmp_path: Path):
    dataset = CandleFilesDataset(path=str(tmp_path), dataset={"type": "text.TextDataset"})
    assert dataset.load() == {}
    with pytest.raises(DatasetError, match=re.escape("not 'pandas.CSVDataset'")):
        CandleFilesDataset(path=str(tmp_path), dataset={"type": "pandas.CSVDataset"})


def test_it_exists_when_every_named_file_does(tmp_path: Path):
    there = tmp_path / "there.csv"
    there.write_text("x")
    assert CandleFilesDataset(files={"A": str(there)}).exists()
    assert not CandleFilesDataset(files={"A": str(there), "B": str(tmp_path / "gone.csv")}).exists()


def test_its_refusals_word_for_word(tmp_path: Path):
    with pytest.raises(DatasetError) as no_source:
        CandleFilesDataset()
    assert str(no_source.value) == ("CandleFilesDataset: give `path` (a folder), `files`, or both.")
    with pytest.raises(DatasetError) as read_only:
        CandleFilesDataset(path=str(tmp_path)).save({})
    assert str(read_only.value) == "CandleFilesDataset is read-only: it names input files."
    missing = tmp_path / "absent.csv"
    with pytest.raises(CandleDataError) as absent:
        CandleFilesDataset(files={"CCC": str(missing)}).load()["CCC"]()
    assert str(absent.value) == (
        f"asset CCC: {missing} does not exist (relative paths start at {Path.cwd()}). "
        "Fix: put the file there, or point the catalog at it (in the study "
        "environment: --params=assets_dir=DIR)."
    )
