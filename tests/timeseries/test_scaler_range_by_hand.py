"""``fit_scaler`` records each kept feature's training range by hand (the extrapolation check
reads it as ``feature_min`` and ``feature_max``)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from lstm_forecast.timeseries.preparation import fit_scaler


def test_the_training_range_of_each_kept_feature_is_recorded():
    table = pd.DataFrame(
        {
            "timestamp": pd.Timestamp("2024-01-01", tz="UTC") + pd.to_timedelta(range(5), "h"),
            "a": [1.0, -2.0, 4.0, 3.0, 100.0],  # row 4 is after val_start: not in the range
            "flat": [7.0] * 5,  # no variance: dropped from the scaler
            "b": [np.nan, 0.5, 0.25, 2.0, -50.0],
            "target_1": [0.1, 0.2, 0.3, 0.4, 0.5],
        }
    )
    scaler = fit_scaler(
        table, table["timestamp"].iloc[4], "log_return", 1, names=("a", "flat", "b")
    )
    assert scaler["feature_names"] == ["a", "b"]
    assert scaler["feature_min"] == [-2.0, 0.25] and scaler["feature_max"] == [4.0, 2.0]
