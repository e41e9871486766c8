"""``compute_features`` keeps the candles' own index: rows line up with the bars they describe."""

from __future__ import annotations

import math

import pytest

from lstm_forecast.timeseries.features import compute_features

from ._tables import tiny_candles


def test_the_features_carry_the_candles_index_not_a_fresh_one():
    # Bars 1-3 of a 4-bar table: their index is 1, 2, 3, as when a caller slices candles.
    candles = tiny_candles(closes=[100.0, 110.0, 121.0, 133.1], hours=[0, 1, 2, 3], segment=[0] * 4)
    later = candles.iloc[1:]
    features = compute_features(later)
    assert features.index.tolist() == [1, 2, 3]
    # Aligned by label, the return at bar 2 is ln(121 / 110), bar 1 (first in view) NaN.
    joined = later[["close"]].join(features["log_return"])
    assert math.isnan(joined.loc[1, "log_return"])
    assert joined.loc[2, "log_return"] == pytest.approx(math.log(121.0 / 110.0), rel=1e-12)
    assert joined.loc[3, "log_return"] == pytest.approx(math.log(133.1 / 121.0), rel=1e-12)
