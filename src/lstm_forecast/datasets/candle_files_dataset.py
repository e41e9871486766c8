"""``CandleFilesDataset``: a folder of ``<asset>.csv`` files, plus files named by asset."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from kedro.io.core import AbstractDataset, DatasetError

from lstm_forecast.errors import CandleDataError

# What a partitioned text dataset names as its `dataset`: this one reads text, nothing else.
_TEXT = ("text.TextDataset", "kedro_datasets.text.TextDataset")


class CandleFilesDataset(AbstractDataset[None, dict[str, Callable[[], str]]]):
    """One CSV per asset: ``<path>/<asset><filename_suffix>``, and ``files`` lying elsewhere.

    Loads what ``partitions.PartitionedDataset`` of text files loads (asset -> a function
    returning the file's text), with the same keys, so an environment can swap it in for
    the base catalog's ``raw_candle_files`` and add ``files``: long downloads read where
    they lie, under their own names, never copied. A name in ``files`` wins over the
    folder's file of that name. Read-only, local files.

    Example catalog entry::

        raw_candle_files:
          type: lstm_forecast.datasets.CandleFilesDataset
          path: data/01_raw/candles          # BTCUSDT.csv, ETHUSDT.csv, ...
          files:
            ETHUSDT: ../shared/data/assets/ethusdt_1h_binance_2017-08-17_2025-12-02.csv
    """

    def __init__(
        self,
        *,
        path: str | None = None,
        files: dict[str, str] | None = None,
        filename_suffix: str = ".csv",
        dataset: str | dict[str, Any] = "text.TextDataset",
        metadata: dict[str, Any] | None = None,
    ) -> None:
        kind = dataset.get("type") if isinstance(dataset, dict) else dataset
        if kind not in _TEXT:
            raise DatasetError(f"CandleFilesDataset reads text files, not {kind!r}.")
        if path is None and not files:
            raise DatasetError("CandleFilesDataset: give `path` (a folder), `files`, or both.")
        self._folder = None if path is None else Path(path)
        self._suffix = filename_suffix
        self._files = {str(name): Path(file) for name, file in (files or {}).items()}
        self.metadata = metadata

    def _describe(self) -> dict[str, Any]:
        files = {name: str(file) for name, file in self._files.items()}
        return {"path": str(self._folder), "files": files, "filename_suffix": self._suffix}

    def load(self) -> dict[str, Callable[[], str]]:
        found: dict[str, Path] = {}
        if self._folder is not None and self._folder.is_dir():
            for file in sorted(self._folder.glob(f"*{self._suffix}")):
                found[file.name[: len(file.name) - len(self._suffix)]] = file
        found |= self._files
        # Lazy, like a partitioned dataset: an asset the run does not list is never read,
        # and a missing file is an error only for an asset the run needs.
        return {name: _reader(name, file) for name, file in found.items()}

    def save(self, data: Any) -> None:
        raise DatasetError("CandleFilesDataset is read-only: it names input files.")

    def _exists(self) -> bool:
        return all(file.is_file() for file in self._files.values())


def _reader(name: str, path: Path) -> Callable[[], str]:
    def read() -> str:
        if not path.is_file():
            # A refusal the CLI prints as one line, like a missing file of the default run.
            raise CandleDataError(
                f"asset {name}: {path} does not exist (relative paths start at {Path.cwd()}). "
                "Fix: put the file there, or point the catalog at it (in the study "
                "environment: --params=assets_dir=DIR)."
            )
        return path.read_text()

    return read
