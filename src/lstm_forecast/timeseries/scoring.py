"""Scores of quantile forecasts: pinball loss, CRPS, interval coverage and width.

Arrays follow one layout: ``actual[n, horizon]`` and ``quantiles[n, horizon, q]`` with the
quantile levels ``levels[q]`` ascending. numpy, scikit-learn and scoringrules only (no
torch), so reporting, backtest and the benchmarks share them.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scoringrules
from sklearn.metrics import mean_pinball_loss

# Central prediction intervals reported everywhere: nominal level -> (lower, upper) quantile.
CENTRAL_INTERVALS = {0.5: (0.25, 0.75), 0.8: (0.1, 0.9), 0.9: (0.05, 0.95)}


def pinball_loss(actual: np.ndarray, forecast: np.ndarray, level: float) -> float:
    """Mean pinball (quantile) loss of one quantile forecast (scikit-learn's)."""
    return float(mean_pinball_loss(np.ravel(actual), np.ravel(forecast), alpha=level))


def crps_per_forecast(
    actual: np.ndarray, quantiles: np.ndarray, levels: list[float] | np.ndarray
) -> np.ndarray:
    """CRPS of each forecast, approximated from its quantiles (scoringrules' ``crps_quantile``).

    ``CRPS ~= 2/Q * sum_q pinball_{tau_q}(y, q_tau)``: the quantile decomposition of the
    CRPS (Laio & Tamea 2007) on the given levels.

    Args:
        actual: ``[...]`` observations.
        quantiles: ``[..., q]`` quantile forecasts.
        levels: ``[q]`` quantile levels.

    Returns:
        ``[...]`` CRPS of each forecast, in the units of ``actual``.
    """
    return np.asarray(
        scoringrules.crps_quantile(
            np.asarray(actual, dtype=np.float64),
            np.asarray(quantiles, dtype=np.float64),
            np.asarray(levels, dtype=np.float64),
        ),
        dtype=np.float64,
    )


def interval_coverage(
    actual: np.ndarray, quantiles: np.ndarray, levels: list[float], nominal: float
) -> dict[str, float] | None:
    """Empirical coverage and mean width of the central ``nominal`` interval.

    Returns:
        ``coverage`` (share of actuals inside ``[lower, upper]``) and ``mean_width``, or
        None when the levels do not hold that interval's quantiles.
    """
    lower, upper = CENTRAL_INTERVALS[nominal]
    index = {round(float(level), 6): i for i, level in enumerate(levels)}
    if round(lower, 6) not in index or round(upper, 6) not in index:
        return None
    low = quantiles[..., index[round(lower, 6)]]
    high = quantiles[..., index[round(upper, 6)]]
    inside = (actual >= low) & (actual <= high)
    return {"coverage": float(inside.mean()), "mean_width": float(np.mean(high - low))}


def quantile_hit_rates(actual: np.ndarray, quantiles: np.ndarray) -> list[float]:
    """Share of actuals at or below each quantile forecast (ideal: the level itself)."""
    return [float((actual <= quantiles[..., i]).mean()) for i in range(quantiles.shape[-1])]


def score_horizon(
    actual: np.ndarray, quantiles: np.ndarray, levels: list[float], baseline_median: np.ndarray
) -> dict[str, Any]:
    """Every score of one model at one horizon.

    Args:
        actual: ``[n]`` realised closes.
        quantiles: ``[n, q]`` forecast quantiles.
        levels: ``[q]`` quantile levels.
        baseline_median: ``[n]`` the persistence forecast (last close), for relative MAE.

    Returns:
        ``crps``, ``pinball`` per level, ``mae_median``, ``relative_mae``, ``coverage`` per
        central interval, and ``quantile_hit_rate`` per level.
    """
    median = _median(quantiles, levels)
    naive_mae = float(np.mean(np.abs(actual - baseline_median)))
    mae_median = float(np.mean(np.abs(actual - median)))
    return {
        "crps": float(crps_per_forecast(actual, quantiles, levels).mean()),
        "pinball": {
            f"{level:g}": pinball_loss(actual, quantiles[:, i], level)
            for i, level in enumerate(levels)
        },
        "mae_median": mae_median,
        "relative_mae": mae_median / naive_mae if naive_mae > 0 else None,
        "coverage": {
            f"{nominal:g}": interval_coverage(actual, quantiles, levels, nominal)
            for nominal in CENTRAL_INTERVALS
        },
        "quantile_hit_rate": dict(
            zip(
                (f"{level:g}" for level in levels),
                quantile_hit_rates(actual, quantiles),
                strict=True,
            )
        ),
    }


def _median(quantiles: np.ndarray, levels: list[float]) -> np.ndarray:
    levels = np.asarray(levels, dtype=np.float64)
    index = int(np.argmin(np.abs(levels - 0.5)))
    if not np.isclose(levels[index], 0.5):
        raise ValueError(f"The quantile levels {levels.tolist()} do not include the median 0.5.")
    return quantiles[..., index]
