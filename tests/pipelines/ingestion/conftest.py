"""Fixtures for the ingestion tests: the shipped file, as text, table and clean frame."""

from __future__ import annotations

import pandas as pd
import pytest

from lstm_forecast.pipelines.ingestion.nodes import clean_candles

from ._helpers import PROJECT, SHIPPED, params


@pytest.fixture(scope="session")
def shipped_text() -> str:
    return (PROJECT / SHIPPED).read_text()


@pytest.fixture(scope="session")
def shipped_table() -> pd.DataFrame:
    """The shipped file as pandas reads it, all columns, unnamed index dropped."""
    return pd.read_csv(PROJECT / SHIPPED, index_col=0)


@pytest.fixture(scope="session")
def shipped_clean(shipped_text: str) -> tuple[pd.DataFrame, dict]:
    return clean_candles(shipped_text, params(SHIPPED))
