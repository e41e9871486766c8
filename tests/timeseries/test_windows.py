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
