"""Naive quantile forecasts that a model must beat, fit on the training split only.

Every baseline is a random walk (median = last close) with a different spread:
1. ``random_walk``: unconditional quantiles of the training split's h-step log returns;
2. ``ewma``: RiskMetrics EWMA volatility (lambda 0.94) of each window's own returns,
   Gaussian quantiles scaled by sqrt(h);
3. ``garch``: GARCH(1,1) (the ``arch`` package), parameters fit on the training returns
   and held fixed, its h-step variance forecast at each origin, Gaussian quantiles;
4. ``har``: a seasonal HAR of log Parkinson range variance, direct per step, with
   empirical quantiles of standardised training returns (``har.py``).
All return ``[n, horizon, q]`` price quantiles for the given forecast origins.
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
from scipy import stats

from .har import har_quantiles
from .targets import compute_targets
from .windows import gather_windows

logger = logging.getLogger(__name__)

BASELINES = ("random_walk", "ewma", "garch", "har")
# Returns are scaled to percent for the GARCH fit, as the arch documentation advises.
_PERCENT = 100.0


def random_walk_quantiles(
    last_close: np.ndarray, train_log_returns: np.ndarray, levels: np.ndarray
) -> np.ndarray:
    """Last close times the empirical quantiles of the training h-step log returns.

    The quantiles are centred on their median, so the median forecast is the last close (a
    random walk): the training split's drift is not carried into the test period.

    Args:
        last_close: ``[n]`` close at each origin.
        train_log_returns: ``[rows, horizon]`` h-step log returns of training origins
            (NaN where unavailable).
        levels: ``[q]`` quantile levels.

    Returns:
        ``[n, horizon, q]`` prices.
    """
    offsets = np.stack(
        [
            np.nanquantile(returns, levels) - np.nanmedian(returns)
            for returns in np.asarray(train_log_returns, dtype=np.float64).T
        ]
    )
    return np.asarray(last_close, dtype=np.float64)[:, None, None] * np.exp(offsets[None])


def ewma_volatility(window_returns: np.ndarray, decay: float = 0.94) -> np.ndarray:
    """RiskMetrics one-step volatility after each window: ``s2_t = l s2_{t-1} + (1-l) r_t^2``.

    The recursion starts from the window's mean squared return.

    Args:
        window_returns: ``[n, length]`` one-bar log returns of each window, oldest first.
        decay: lambda.

    Returns:
        ``[n]`` volatility forecasts for the next bar.
    """
    returns = np.asarray(window_returns, dtype=np.float64)
    variance = np.mean(returns**2, axis=1)
    for step in range(returns.shape[1]):
        variance = decay * variance + (1.0 - decay) * returns[:, step] ** 2
    return np.sqrt(variance)


def gaussian_quantiles(
    last_close: np.ndarray, cumulative_variance: np.ndarray, levels: np.ndarray
) -> np.ndarray:
    """Zero-mean Gaussian log-return quantiles: ``last * exp(z_tau * sqrt(var_h))``.

    Args:
        last_close: ``[n]``.
        cumulative_variance: ``[n, horizon]`` variance of the h-step log return.
        levels: ``[q]``.

    Returns:
        ``[n, horizon, q]`` prices.
    """
    z = stats.norm.ppf(np.asarray(levels, dtype=np.float64))
    spread = np.sqrt(cumulative_variance)[:, :, None] * z[None, None, :]
    return np.asarray(last_close, dtype=np.float64)[:, None, None] * np.exp(spread)


def garch_cumulative_variance(
    returns: np.ndarray, train_count: int, origins: np.ndarray, horizon: int
) -> tuple[np.ndarray, dict[str, float]]:
    """GARCH(1,1) h-step log-return variances at each origin, parameters fit on training.

    Args:
        returns: One-bar log returns in time order (gaps dropped: the series is the
            concatenation of the gap-free runs).
        train_count: How many leading returns belong to the training split.
        origins: Position in ``returns`` of the last return known at each origin.
        horizon: Steps ahead.

    Returns:
        ``[n, horizon]`` cumulative variances (log-return units) and the fitted parameters.
    """
    from arch import arch_model  # noqa: PLC0415 - only reporting and backtest need arch

    scaled = np.asarray(returns, dtype=np.float64) * _PERCENT
    fitted = arch_model(scaled[:train_count], mean="Zero", vol="GARCH", p=1, q=1).fit(
        disp="off", show_warning=False
    )
    fixed = arch_model(scaled, mean="Zero", vol="GARCH", p=1, q=1).fix(fitted.params)
    first = int(np.min(origins))
    forecast = fixed.forecast(horizon=horizon, start=first, reindex=False)
    per_step = forecast.variance.to_numpy()[np.asarray(origins) - first]
    params = {name: float(value) for name, value in fitted.params.items()}
    return np.cumsum(per_step, axis=1) / _PERCENT**2, params


def forecast_all(
    table: pd.DataFrame,
    ends: np.ndarray,
    val_start: pd.Timestamp,
    *,
    horizon: int,
    levels: np.ndarray,
    window_length: int,
    decay: float = 0.94,
) -> dict[str, np.ndarray]:
    """Every baseline's ``[n, horizon, q]`` price quantiles at the origins ``ends``.

    Args:
        table: Feature table (``timestamp, close, segment, log_return``).
        ends: Origin rows (the last bar of each window).
        val_start: Bars from here on are not training data.
        horizon: Steps ahead.
        levels: Quantile levels.
        window_length: Bars per window (the EWMA's own history).
        decay: EWMA lambda.

    Returns:
        ``random_walk``, ``ewma``, ``garch`` and ``har`` price quantiles.
    """
    close = table["close"].to_numpy(dtype=np.float64)
    stamps = table["timestamp"]
    last = close[ends]
    h_step = compute_targets(table, "log_return", horizon)
    for h in range(1, horizon + 1):
        h_step[~(stamps.shift(-h) < val_start).to_numpy(), h - 1] = np.nan
    log_return = table["log_return"].to_numpy(dtype=np.float64)
    window_returns = gather_windows(log_return[:, None], ends, window_length)[:, :, 0]
    finite = np.isfinite(log_return)
    variance, params = garch_cumulative_variance(
        log_return[finite],
        int((finite & (stamps < val_start).to_numpy()).sum()),
        (np.cumsum(finite) - 1)[ends],
        horizon,
    )
    logger.info("GARCH(1,1) fit on the training returns (percent units): %s", params)
    sigma = ewma_volatility(window_returns, decay)
    return {
        "random_walk": random_walk_quantiles(last, h_step, levels),
        "ewma": gaussian_quantiles(last, sigma[:, None] ** 2 * np.arange(1, horizon + 1), levels),
        "garch": gaussian_quantiles(last, variance, levels),
        "har": har_quantiles(table, ends, val_start, horizon=horizon, levels=levels),
    }
