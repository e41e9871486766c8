"""The rule table on hand-made typed frames: which rules break, and what pandera then says."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from lstm_forecast.errors import CandleDataError
from lstm_forecast.ohlcv_csv.rules import broken_rules, inconsistent_rows, validate_values
from lstm_forecast.ohlcv_csv.wording import FileView
from lstm_forecast.pipelines.ingestion.params import IngestionParams
from tests.pipelines.ingestion._helpers import HOUR_NS, bar_rows, params, to_text

NAN = float("nan")


def _frame(**columns: list[float]) -> pd.DataFrame:
    """Four good typed bars (hourly, UTC) with the given columns replaced."""
    good = {
        "timestamp": pd.date_range("2021-01-01", periods=4, freq="h", tz="UTC").as_unit("ns"),
        "open": [100.0, 101.0, 102.0, 103.0],
        "high": [102.0, 103.0, 104.0, 105.0],
        "low": [99.0, 100.0, 101.0, 102.0],
        "close": [101.0, 102.0, 103.0, 104.0],
        "volume": [5.0, 5.0, 5.0, 5.0],
    }
    return pd.DataFrame(good | columns)


def test_good_bars_break_no_rule():
    assert broken_rules(_frame(), HOUR_NS) == []


def test_each_broken_rule_is_named_once_in_table_order():
    frame = _frame(
        open=[100.0, NAN, 102.0, 103.0],  # a missing cell breaks only open_present ...
        high=[102.0, 103.0, 50.0, 105.0],  # ... and row 2's high is below open and close
        volume=[5.0, -1.0, 5.0, 5.0],
    )
    assert broken_rules(frame, HOUR_NS) == [
        "open_present",
        "volume_non_negative",
        "high_at_least_open_close",
    ]


def test_a_missing_cell_does_not_hide_another_rows_broken_rule():
    # Row 0 misses its close; row 3's low is above open and close.
    frame = _frame(close=[NAN, 102.0, 103.0, 104.0], low=[99.0, 100.0, 101.0, 200.0])
    assert broken_rules(frame, HOUR_NS) == ["close_present", "low_at_most_open_close"]
    assert inconsistent_rows(frame, HOUR_NS).tolist() == [False, False, False, True]


def test_a_time_off_the_grid_breaks_the_grid_rule():
    stamps = _frame()["timestamp"].copy()
    stamps.iloc[2] += pd.Timedelta(minutes=30)
    assert broken_rules(_frame(timestamp=stamps), HOUR_NS) == ["on_interval_grid"]


@pytest.mark.parametrize(
    "change",
    [
        lambda f: f.astype({"volume": np.float32}),
        lambda f: f[["open", "timestamp", "high", "low", "close", "volume"]],
        lambda f: f.assign(timestamp=f["timestamp"].dt.tz_convert("Asia/Tokyo")),
    ],
)
def test_a_frame_of_other_columns_or_dtypes_breaks_the_layout_rule(change):
    assert broken_rules(change(_frame()), HOUR_NS) == ["columns_and_dtypes"]


def test_a_pandera_failure_outside_the_table_is_still_refused_by_name():
    # Not reachable from a file (parsing always gives float64); the refusal must not be lost.
    frame = _frame(volume=[5.0, -1.0, 5.0, 5.0]).astype({"open": np.float32})
    text = to_text(bar_rows(4))
    ingestion = IngestionParams.model_validate(params())
    names = {field: field for field in frame.columns}
    view = FileView(text, ingestion.source, dict(zip(frame.columns, range(6), strict=True)), names)
    with pytest.raises(CandleDataError) as caught:
        validate_values(frame, view, ingestion)
    message = str(caught.value)
    assert message.startswith("bad.csv: cannot use this file as candles (2 problem(s)):\n- ")
    first, second = message.split("\n")[1:]
    assert first == (
        "- column 'open': failed check \"dtype('float64')\" on the whole column. Fix: check that "
        "ingestion.source.columns maps each field to the right file column."
    )
    assert second.startswith("- column 'volume': volume is negative or infinite in 1 row(s)")
