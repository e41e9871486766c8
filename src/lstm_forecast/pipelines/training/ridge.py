"""The scikit-learn baseline: a ridge regression on the flattened input windows."""

from __future__ import annotations

import numpy as np
from sklearn.linear_model import Ridge


def fit_ridge(windows: np.ndarray, targets: np.ndarray, alpha: float) -> Ridge:
    """Fit a ridge regression from every lagged feature of a window to the scaled target.

    Args:
        windows: ``[n, window_length, n_features]`` training windows.
        targets: ``[n]`` scaled targets.
        alpha: L2 penalty.

    Returns:
        The fitted estimator; it takes ``windows.reshape(n, -1)``.
    """
    return Ridge(alpha=alpha).fit(windows.reshape(len(windows), -1), targets)
