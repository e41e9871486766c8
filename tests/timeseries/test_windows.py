"""Windows are views into one matrix; a batch is the only copy."""

from __future__ import annotations

import numpy as np

from lstm_forecast.timeseries.windows import gather_windows, valid_window_ends, window_view


def test_window_view_is_a_view_not_a_copy():
    matrix = np.arange(1_000 * 6, dtype=np.float32).reshape(1_000, 6)
    for length in (24, 480):
        view = window_view(matrix, length)
        assert view.shape == (1_000 - length + 1, length, 6)
        assert np.shares_memory(view, matrix)
        # Consecutive windows start one row apart: no bytes are duplicated.
        assert view.strides[0] == matrix.strides[0]


def test_window_ending_at_a_row_holds_the_rows_before_it():
    matrix = np.arange(50 * 2, dtype=np.float32).reshape(50, 2)
    batch = gather_windows(matrix, np.array([9, 30]), 5)
    np.testing.assert_array_equal(batch[0], matrix[5:10])
    np.testing.assert_array_equal(batch[1], matrix[26:31])


def test_valid_ends_skip_gaps_missing_features_and_missing_targets():
    segment = np.array([0] * 6 + [1] * 6)
    row_ok = np.ones(12, dtype=bool)
    row_ok[7] = False
    target_ok = np.ones(12, dtype=bool)
    target_ok[11] = False
    ends = valid_window_ends(segment, row_ok, target_ok, window_length=3)
    # 2..5 in segment 0; in segment 1 rows 6..11 lose windows touching row 7 and the last row.
    assert ends.tolist() == [2, 3, 4, 5, 10]


def test_valid_ends_check_the_target_of_the_end_row_only_and_need_enough_rows():
    segment = np.zeros(6, dtype=np.int64)
    target_ok = np.array([False, False, True, True, True, False])
    # A missing target earlier in the window does not matter: the window forecasts from its end.
    ends = valid_window_ends(segment, np.ones(6, dtype=bool), target_ok, window_length=3)
    assert ends.tolist() == [2, 3, 4]
    assert valid_window_ends(segment, np.ones(6, dtype=bool), target_ok, 7).size == 0
    # A window whose first bar is in the previous segment is left out even when its rows are ok.
    ends = valid_window_ends(np.array([0, 0, 1, 1, 1, 1]), np.ones(6, bool), np.ones(6, bool), 3)
    assert ends.tolist() == [4, 5]


def test_a_bad_row_removes_every_window_that_holds_it_including_as_its_last_bar():
    row_ok = np.ones(8, dtype=bool)
    row_ok[4] = False
    ends = valid_window_ends(np.zeros(8, np.int64), row_ok, np.ones(8, bool), window_length=3)
    # Windows ending at 4 (its last bar), 5 and 6 hold row 4.
    assert ends.tolist() == [2, 3, 7]


def test_the_bars_before_a_window_that_its_features_read_lie_in_its_segment_too():
    segment = np.array([0, 0, 0, 1, 1, 1, 1, 1])
    ok = np.ones(8, dtype=bool)
    assert valid_window_ends(segment, ok, ok, 2).tolist() == [1, 2, 4, 5, 6, 7]
    # Two bars of context before each 2-bar window: 4 bars of one segment end at 6 and 7.
    assert valid_window_ends(segment, ok, ok, 2, lookback=2).tolist() == [6, 7]
    assert valid_window_ends(segment[:3], ok[:3], ok[:3], 2, lookback=2).size == 0
