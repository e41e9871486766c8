"""The volume features meet zero volumes without a numpy warning, with their values by hand.

A day with no trade is common on a small asset's candles: ``0 / 0`` and ``ln 0`` there are
expected and handled (0 and the clip), so they must not print RuntimeWarnings in every run.
"""

from __future__ import annotations

import math
import warnings

import numpy as np

from lstm_forecast.timeseries.features import VOLUME_CHANGE_CLIP, volume_change
from lstm_forecast.timeseries.volatility_features import (
    RELATIVE_VOLUME_CLIP,
    RELATIVE_VOLUME_SPAN,
    relative_volume,
)


def _quietly(function, *args):
    # numpy's own default is to warn; any warning here fails the test.
    with np.errstate(all="warn"), warnings.catch_warnings():
        warnings.simplefilter("error")
        return function(*args)


def test_volume_change_of_zero_volumes_is_quiet():
    # 0/0 -> no change (0); 3/0 -> +inf, clipped; 0/3 -> ln 0 = -inf, clipped.
    volume = np.array([0.0, 0.0, 3.0, 0.0])
    starts = np.array([True, False, False, False])
    change = _quietly(volume_change, volume, starts)
    assert math.isnan(change[0])
    assert change[1:].tolist() == [0.0, VOLUME_CHANGE_CLIP, -VOLUME_CHANGE_CLIP]


def test_relative_volume_of_zero_volumes_is_quiet():
    # A day of 24 zero volumes (0/0 at row 23), then 48 (mean 2), then 0 (ln 0 at row 25).
    volume = np.array([0.0] * RELATIVE_VOLUME_SPAN + [48.0, 0.0])
    values = _quietly(relative_volume, volume, np.arange(len(volume)))
    assert np.isnan(values[:23]).all()
    assert values[23] == 0.0  # nothing traded all day: no signal
    assert values[24] == math.log(48.0 / 2.0)  # 48 against (23 x 0 + 48) / 24 = 2
    assert values[25] == -RELATIVE_VOLUME_CLIP  # 0 against (22 x 0 + 48 + 0) / 24 = 2
