"""Point-forecast accuracy metrics in price units, and the tests that compare two forecasts.

numpy and scipy only (no torch), so reporting, inference and benchmarks can share them.
Every function takes plain arrays aligned element by element: ``actual[i]`` is the close
that ``forecast[i]`` predicted, ``last[i]`` the close known when the forecast was made.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from scipy import stats

DM_LOSSES = ("absolute", "squared")


def mae(actual: np.ndarray, forecast: np.ndarray) -> float:
    """Mean absolute error, ``mean(|actual - forecast|)``."""
    actual, forecast = _pair(actual, forecast)
    return float(np.mean(np.abs(actual - forecast)))


def rmse(actual: np.ndarray, forecast: np.ndarray) -> float:
    """Root mean squared error, ``sqrt(mean((actual - forecast)^2))``."""
    actual, forecast = _pair(actual, forecast)
    return float(np.sqrt(np.mean((actual - forecast) ** 2)))


def mape(actual: np.ndarray, forecast: np.ndarray) -> float:
    """Mean absolute percentage error in percent, ``100 * mean(|actual - forecast| / |actual|)``."""
    actual, forecast = _pair(actual, forecast)
    if np.any(actual == 0):
        raise ValueError("MAPE is undefined when an actual value is 0.")
    return float(100.0 * np.mean(np.abs(actual - forecast) / np.abs(actual)))


def naive_mae_scale(values: np.ndarray, segment: np.ndarray | None = None) -> float:
    """In-sample MAE of the one-step naive forecast: ``mean(|y_t - y_{t-1}|)``.

    The MASE denominator of Hyndman & Koehler (2006), computed on the training series.
    With ``segment``, differences across a gap (a change of segment) are left out.

    Args:
        values: The series in time order.
        segment: Optional segment id per value.

    Returns:
        The scale; raises when fewer than two consecutive values exist.
    """
    values = np.asarray(values, dtype=np.float64).reshape(-1)
    steps = np.abs(np.diff(values))
    if segment is not None:
        segment = np.asarray(segment).reshape(-1)
        steps = steps[segment[1:] == segment[:-1]]
    if steps.size == 0:
        raise ValueError("The naive scale needs at least two consecutive values.")
    return float(np.mean(steps))


def mase(actual: np.ndarray, forecast: np.ndarray, scale: float) -> float:
    """Mean absolute scaled error, ``MAE / scale`` (scale from ``naive_mae_scale``)."""
    if not scale > 0:
        raise ValueError(f"The MASE scale must be positive, got {scale}.")
    return mae(actual, forecast) / scale


def relative_mae(actual: np.ndarray, forecast: np.ndarray, baseline: np.ndarray) -> float:
    """``MAE(forecast) / MAE(baseline)`` on the same points; below 1 beats the baseline."""
    denominator = mae(actual, baseline)
    if denominator == 0:
        raise ValueError("Relative MAE is undefined: the baseline has zero error.")
    return mae(actual, forecast) / denominator


def wilson_interval(hits: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval for a binomial proportion ``hits / n``.

    Returns:
        ``(low, high)``; ``(nan, nan)`` when ``n`` is 0.
    """
    if n == 0:
        return math.nan, math.nan
    z = float(stats.norm.ppf(0.5 + confidence / 2.0))
    p = hits / n
    denominator = 1.0 + z * z / n
    centre = (p + z * z / (2.0 * n)) / denominator
    half = z / denominator * math.sqrt(p * (1.0 - p) / n + z * z / (4.0 * n * n))
    return max(0.0, centre - half), min(1.0, centre + half)


def directional_accuracy(
    actual: np.ndarray, forecast: np.ndarray, last: np.ndarray, confidence: float = 0.95
) -> dict[str, Any]:
    """Share of forecasts that call the direction of the next move right, with a CI.

    Counted over the points where both the actual move ``actual - last`` and the forecast
    move ``forecast - last`` are non-zero; a forecast of "no change" calls no direction, so
    persistence has ``n = 0`` and ``value = None``.

    Returns:
        ``value, ci95_low, ci95_high`` (Wilson score interval), ``hits``, ``n``, and the
        two-sided exact binomial ``p_value_vs_coin`` against a 50% hit rate.
    """
    actual, forecast = _pair(actual, forecast)
    _, last = _pair(actual, last)
    actual_move, forecast_move = np.sign(actual - last), np.sign(forecast - last)
    called = (actual_move != 0) & (forecast_move != 0)
    n = int(called.sum())
    hits = int((actual_move[called] == forecast_move[called]).sum())
    if n == 0:
        return {
            "value": None,
            "ci95_low": None,
            "ci95_high": None,
            "hits": 0,
            "n": 0,
            "p_value_vs_coin": None,
        }
    low, high = wilson_interval(hits, n, confidence)
    return {
        "value": hits / n,
        "ci95_low": low,
        "ci95_high": high,
        "hits": hits,
        "n": n,
        "p_value_vs_coin": float(stats.binomtest(hits, n, 0.5).pvalue),
    }


def diebold_mariano(
    errors: np.ndarray, baseline_errors: np.ndarray, loss: str = "absolute", horizon: int = 1
) -> dict[str, Any]:
    """Diebold–Mariano test of equal accuracy on ``|e|`` or ``e^2`` of two error series.

    ``d_t = L(errors_t) - L(baseline_errors_t)``; see ``diebold_mariano_losses``. A
    negative statistic means the first forecast has lower loss.
    """
    if loss not in DM_LOSSES:
        raise ValueError(f"Unknown Diebold–Mariano loss {loss!r}; choose one of {DM_LOSSES}.")
    errors, baseline_errors = _pair(errors, baseline_errors)
    transform = np.abs if loss == "absolute" else np.square
    return diebold_mariano_losses(transform(errors), transform(baseline_errors), horizon) | {
        "loss": loss
    }


def diebold_mariano_losses(
    losses: np.ndarray, baseline_losses: np.ndarray, horizon: int = 1
) -> dict[str, Any]:
    """Diebold–Mariano test on two per-forecast loss series (e.g. CRPS), HLN-corrected.

    ``d_t = losses_t - baseline_losses_t``. The long-run variance of ``mean(d)`` is
    ``(gamma_0 + 2 * sum_{k=1}^{h-1} gamma_k) / n`` with biased (divide-by-n)
    autocovariances; ``DM = mean(d) / sqrt(that)``. Harvey, Leybourne & Newbold (1997)
    multiply it by ``sqrt((n + 1 - 2h + h(h-1)/n) / n)`` and compare with Student's t on
    ``n - 1`` degrees of freedom (two-sided). A negative statistic means the first series
    has lower loss.

    Returns:
        ``statistic``, ``p_value`` (both None when the differential has no variance, e.g.
        a forecast against itself), ``mean_loss_difference``, ``horizon``, ``n``,
        ``correction``.
    """
    if horizon < 1:
        raise ValueError(f"The forecast horizon must be at least 1, got {horizon}.")
    losses, baseline_losses = _pair(losses, baseline_losses)
    d = losses - baseline_losses
    n = d.size
    mean_d = float(d.mean())
    result: dict[str, Any] = {
        "statistic": None,
        "p_value": None,
        "mean_loss_difference": mean_d,
        "horizon": horizon,
        "n": n,
        "correction": "Harvey-Leybourne-Newbold (1997), Student t with n-1 df, two-sided",
    }
    centred = d - mean_d
    lags = min(horizon, n)
    autocovariances = [float(np.dot(centred[k:], centred[: n - k]) / n) for k in range(lags)]
    long_run_variance = autocovariances[0] + 2.0 * sum(autocovariances[1:])
    if n < 2 or not long_run_variance > 0:
        return result
    statistic = mean_d / math.sqrt(long_run_variance / n)
    correction = (n + 1 - 2 * horizon + horizon * (horizon - 1) / n) / n
    if not correction > 0:
        return result
    statistic *= math.sqrt(correction)
    result["statistic"] = statistic
    result["p_value"] = float(2.0 * stats.t.sf(abs(statistic), df=n - 1))
    return result


def _pair(first: np.ndarray, second: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    first = np.asarray(first, dtype=np.float64).reshape(-1)
    second = np.asarray(second, dtype=np.float64).reshape(-1)
    if first.shape != second.shape:
        raise ValueError(f"Arrays must align: {first.shape} vs {second.shape}.")
    if first.size == 0:
        raise ValueError("Metrics need at least one point.")
    return first, second
