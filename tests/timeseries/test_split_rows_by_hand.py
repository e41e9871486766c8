"""``split_window_rows`` on one segment of ten hourly bars: which windows the lookback allows."""

from __future__ import annotations

import numpy as np
import pandas as pd

from lstm_forecast.timeseries.preparation import split_window_rows


def _ends(**lookback: int) -> list[int]:
    table = pd.DataFrame(
        {
            "timestamp": pd.Timestamp("2024-01-01", tz="UTC") + pd.to_timedelta(range(10), "h"),
            "segment": np.zeros(10, dtype=np.int64),
        }
    )
    features_ok = np.ones(10, dtype=bool)
    targets_ok = np.arange(10) < 9  # the last bar has no next bar to forecast
    late = pd.Timestamp("2025-01-01", tz="UTC")  # every window is a training window
    splits = split_window_rows(table, features_ok, targets_ok, 1, 3, late, late, **lookback)
    return splits["train"]["end_row"].tolist()


def test_without_lookback_a_window_may_start_on_the_segments_first_bar():
    # Three bars per window, a target one bar ahead: ends 2 .. 8.
    assert _ends() == [2, 3, 4, 5, 6, 7, 8]


def test_a_lookback_keeps_that_many_bars_before_each_window_in_its_segment():
    assert _ends(lookback=2) == [4, 5, 6, 7, 8]
