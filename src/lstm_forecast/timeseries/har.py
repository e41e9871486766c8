"""The ``har`` baseline: a seasonal HAR model of log range-based variance, fit on training data.

Corsi's heterogeneous autoregression on the Parkinson variance of each bar,
``pv_t = ln(high_t / low_t)^2 / (4 ln 2)``, with direct regressions per horizon step k:

    ln pv_{t+k} = b0 + b1 ln m1_t + b2 ln m24_t + b3 ln m168_t + hour(t+k) + weekday(t+k) + e

where ``mS_t`` is the mean of ``pv`` over the ``S`` bars ending at bar t (fewer at the very
start of the data), and ``hour``/``weekday`` are dummies of the UTC calendar time of the
target bar, ``timestamp_t + k * interval`` (known at t: no later bar is read). OLS by
``numpy.linalg.lstsq``, on training origins whose target bar is before ``val_start``.

A forecast's one-bar variance in squared-return units is ``ratio_k * exp(fitted)``, with
``ratio_k = mean(r_{t+k}^2) / mean(exp(fitted_k))`` over the training rows: it absorbs both
the bias of exponentiating a log forecast and the scale between range and close-to-close
variance. The h-step variance is the sum over k <= h. Quantiles: the empirical quantiles of
the standardised training h-step returns ``R_h / sqrt(V_h)``, centred on their median, so
that the median forecast is the last close like every other baseline's.
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from .targets import compute_targets

logger = logging.getLogger(__name__)

SPANS = (1, 24, 168)
HOURS, WEEKDAYS = 24, 7
# Bars with high == low have zero range; their log is floored at this share of the mean
# training variance, so one flat bar does not dominate the regression.
_FLOOR_SHARE = 1e-3


def parkinson_variance(log_high_low: np.ndarray) -> np.ndarray:
    """Parkinson's (1980) variance of one bar: ``ln(high/low)^2 / (4 ln 2)``."""
    return np.asarray(log_high_low, dtype=np.float64) ** 2 / (4.0 * np.log(2.0))


def trailing_means(variance: np.ndarray, spans: tuple[int, ...] = SPANS) -> np.ndarray:
    """``[rows, len(spans)]``: the mean of ``variance`` over the ``S`` rows ending at each row
    (over all rows so far where fewer than ``S`` exist). Uses row t and earlier only."""
    values = np.asarray(variance, dtype=np.float64)
    total = np.concatenate([[0.0], np.cumsum(values)])
    rows = np.arange(1, len(values) + 1)
    columns = []
    for span in spans:
        start = np.maximum(rows - span, 0)
        columns.append((total[rows] - total[start]) / (rows - start))
    return np.column_stack(columns)


def seasonal_dummies(times: pd.DatetimeIndex) -> np.ndarray:
    """``[rows, 23 + 6]``: one column per UTC hour 1..23 and weekday Tue..Sun (0/1)."""
    utc = times.tz_convert("UTC") if times.tz is not None else times
    hour = np.asarray(utc.hour)
    weekday = np.asarray(utc.day_of_week)
    hours = (hour[:, None] == np.arange(1, HOURS)[None, :]).astype(np.float64)
    days = (weekday[:, None] == np.arange(1, WEEKDAYS)[None, :]).astype(np.float64)
    return np.hstack([hours, days])


def design_matrix(
    log_means: np.ndarray, origin_times: pd.DatetimeIndex, step: int, interval: pd.Timedelta
) -> np.ndarray:
    """The regressors of step ``step`` at each origin: intercept, the log trailing means, and
    the seasonal dummies of the target bar's time ``origin + step * interval``."""
    target_times = pd.DatetimeIndex(origin_times) + step * interval
    return np.column_stack([np.ones(len(log_means)), log_means, seasonal_dummies(target_times)])


def bar_interval(stamps: pd.Series) -> pd.Timedelta:
    """The data's bar interval: the most common gap between consecutive bars."""
    # In nanoseconds whatever the column's unit (pandas 3 also makes "us" columns).
    steps = pd.Series(np.diff(pd.DatetimeIndex(stamps).as_unit("ns").asi8))
    return pd.Timedelta(int(steps.mode().iloc[0]), unit="ns")


def har_cumulative_variance(
    table: pd.DataFrame, ends: np.ndarray, val_start: pd.Timestamp, horizon: int
) -> tuple[np.ndarray, np.ndarray, dict[str, object]]:
    """h-step log-return variances at the origins ``ends``, and at every training origin.

    Args:
        table: Feature table (``timestamp, segment, log_return, log_high_low``).
        ends: Forecast origins (rows).
        val_start: Bars from here on are not training data.
        horizon: Steps ahead.

    Returns:
        ``[n, horizon]`` variances at ``ends``, ``[rows, horizon]`` variances at every row
        (for the training residuals), and a summary (coefficients, ratios, sample sizes).
    """
    stamps = pd.DatetimeIndex(table["timestamp"])
    segment = table["segment"].to_numpy()
    training = np.asarray(stamps < val_start)
    variance = parkinson_variance(_log_range(table))
    floor = _FLOOR_SHARE * float(np.nanmean(variance[training]))
    log_variance = np.log(np.maximum(variance, floor))
    log_means = np.log(np.maximum(trailing_means(variance), floor))
    interval = bar_interval(table["timestamp"])
    squared = table["log_return"].to_numpy(dtype=np.float64) ** 2
    rows = len(stamps)
    per_step = np.empty((rows, horizon))
    coefficients, ratios, samples = [], [], []
    for k in range(1, horizon + 1):
        design = design_matrix(log_means, stamps, k, interval)
        usable = np.zeros(rows, dtype=bool)
        usable[: rows - k] = (segment[k:] == segment[:-k]) & training[k:]
        # A 33-column least squares is fastest on one BLAS thread: with OpenBLAS's two on a
        # busy 2-core machine the 24 fits took 12 s instead of 0.3 s (measured).
        with threadpool_limits(limits=1, user_api="blas"):
            beta = np.linalg.lstsq(
                design[usable], log_variance[k:][usable[: rows - k]], rcond=None
            )[0]
        fitted = np.exp(design @ beta)
        returned = usable.copy()
        returned[: rows - k] &= np.isfinite(squared[k:])
        ratio = float(np.mean(squared[k:][returned[: rows - k]]) / np.mean(fitted[returned]))
        per_step[:, k - 1] = ratio * fitted
        coefficients.append(beta[:4].round(4).tolist())
        ratios.append(round(ratio, 4))
        samples.append(int(usable.sum()))
    cumulative = np.cumsum(per_step, axis=1)
    summary = {
        "coefficients_k1_intercept_m1_m24_m168": coefficients[0],
        "ratio_by_step": ratios,
        "training_rows_by_step": samples,
    }
    return cumulative[np.asarray(ends)], cumulative, summary


def _log_range(table: pd.DataFrame) -> np.ndarray:
    if "log_high_low" in table:
        return table["log_high_low"].to_numpy(dtype=np.float64)
    if {"high", "low"} <= set(table.columns):
        return np.log(table["high"].to_numpy(dtype=np.float64) / table["low"].to_numpy())
    raise ValueError(
        "The har baseline needs each bar's range: a `log_high_low` column (or `high` and "
        f"`low`) in the feature table; it has {list(table.columns)}."
    )


def standardised_quantiles(
    h_step_returns: np.ndarray, cumulative_variance: np.ndarray, levels: np.ndarray
) -> np.ndarray:
    """``[horizon, q]``: empirical quantiles of ``R_h / sqrt(V_h)`` over training origins,
    minus their median (NaN returns, outside training, are skipped)."""
    standardised = np.asarray(h_step_returns) / np.sqrt(cumulative_variance)
    return np.stack(
        [np.nanquantile(column, levels) - np.nanmedian(column) for column in standardised.T]
    )


def har_quantiles(
    table: pd.DataFrame,
    ends: np.ndarray,
    val_start: pd.Timestamp,
    *,
    horizon: int,
    levels: np.ndarray,
) -> np.ndarray:
    """The ``har`` baseline's ``[n, horizon, q]`` price quantiles at the origins ``ends``.

    Args:
        table: Feature table (``timestamp, close, segment, log_return, log_high_low``).
        ends: Origin rows.
        val_start: Bars from here on are not training data.
        horizon: Steps ahead.
        levels: Quantile levels.

    Returns:
        Prices ``last_close * exp(sqrt(V_h) * z_h,tau)``.
    """
    variance, every_row, summary = har_cumulative_variance(table, ends, val_start, horizon)
    logger.info("HAR fit on the training range variance: %s", summary)
    h_step = compute_targets(table, "log_return", horizon)
    stamps = table["timestamp"]
    for h in range(1, horizon + 1):
        h_step[~(stamps.shift(-h) < val_start).to_numpy(), h - 1] = np.nan
    z = standardised_quantiles(h_step, every_row, np.asarray(levels, dtype=np.float64))
    last = table["close"].to_numpy(dtype=np.float64)[np.asarray(ends)]
    return last[:, None, None] * np.exp(np.sqrt(variance)[:, :, None] * z[None])
