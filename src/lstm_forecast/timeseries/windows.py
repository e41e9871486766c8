"""Sliding windows as views into one feature matrix.

A window is identified by its end row ``t``: inputs are rows ``t - L + 1 .. t`` and the
target is the target of row ``t`` (the next bar). Only index arrays are stored, so memory
grows with rows x features, not rows x window x features.
"""

from __future__ import annotations

import numpy as np


def window_view(matrix: np.ndarray, window_length: int) -> np.ndarray:
    """Return every window of ``matrix`` as a read-only view.

    Args:
        matrix: ``[rows, features]`` array.
        window_length: Bars per window.
        lookback: Bars before the window's first bar that must lie in its segment.

    Returns:
        ``[rows - window_length + 1, window_length, features]`` view; element ``i`` is the
        window ending at row ``i + window_length - 1``.
    """
    view = np.lib.stride_tricks.sliding_window_view(matrix, window_length, axis=0)
    return view.transpose(0, 2, 1)


def gather_windows(matrix: np.ndarray, end_rows: np.ndarray, window_length: int) -> np.ndarray:
    """Copy the windows ending at ``end_rows`` into one contiguous batch.

    Args:
        matrix: ``[rows, features]`` array.
        end_rows: End row of each window wanted.
        window_length: Bars per window.
        lookback: Bars before the window's first bar that must lie in its segment.

    Returns:
        ``[len(end_rows), window_length, features]`` array (a copy of the batch only).
    """
    return window_view(matrix, window_length)[np.asarray(end_rows) - window_length + 1]


def valid_window_ends(
    segment: np.ndarray,
    row_ok: np.ndarray,
    target_ok: np.ndarray,
    window_length: int,
    lookback: int = 0,
) -> np.ndarray:
    """Find every row that can end a window.

    A window is valid when all its bars, and the ``lookback`` bars before it that its
    features read, lie in one segment (no gap inside), every bar has finite features, and
    its end row has a finite target (the next bar exists).

    Args:
        segment: Segment id of each row (changes after every gap).
        row_ok: Whether each row's features are all finite.
        target_ok: Whether each row's target is finite.
        window_length: Bars per window.
        lookback: Bars before the window's first bar that must lie in its segment.

    Returns:
        Sorted int64 end rows.
    """
    rows = len(segment)
    if rows < window_length + lookback:
        return np.empty(0, dtype=np.int64)
    bad_before = np.concatenate([[0], np.cumsum(~np.asarray(row_ok, dtype=bool))])
    ends = np.arange(window_length + lookback - 1, rows)
    starts = ends - window_length + 1
    clean = (bad_before[ends + 1] - bad_before[starts]) == 0
    same_segment = segment[starts - lookback] == segment[ends]
    return ends[clean & same_segment & np.asarray(target_ok, dtype=bool)[ends]].astype(np.int64)
