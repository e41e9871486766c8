"""``lookback``, ``context_length`` and ``feature_set`` worked out by hand."""

from __future__ import annotations

import pytest

from lstm_forecast.timeseries.feature_sets import (
    FEATURE_SETS,
    context_length,
    feature_set,
    lookback,
)
from lstm_forecast.timeseries.volatility_features import RELATIVE_VOLUME_SPAN


@pytest.mark.parametrize(
    ("names", "bars"),
    [
        (("log_return", "hour_sin"), 1),  # one bar for the first return
        (("hour_sin", "hour_cos"), 1),  # no feature reads back: still at least 1
        (("log_relative_volume",), RELATIVE_VOLUME_SPAN - 1),  # 23: a 24-bar mean with bar t
        (("hour_sin", "log_relative_volume", "log_return"), RELATIVE_VOLUME_SPAN - 1),
    ],
)
def test_lookback_is_the_longest_reach_back_and_at_least_one(names, bars):
    assert lookback(names) == bars


def test_context_length_is_window_plus_lookback_minus_one():
    # A 12-bar window of the basic set reads one bar before it: 12 + 1 - 1 = 12 bars of
    # history besides the extra first bar.
    assert context_length(12, FEATURE_SETS["basic"]) == 12
    assert context_length(12, ("log_relative_volume",)) == 12 + 23 - 1


def test_an_unknown_feature_set_is_refused_listing_the_known_ones():
    assert feature_set("basic") == FEATURE_SETS["basic"]
    with pytest.raises(ValueError) as error:
        feature_set("fancy")
    assert str(error.value) == (
        f"Unknown feature set 'fancy'; choose one of {sorted(FEATURE_SETS)}."
    )
