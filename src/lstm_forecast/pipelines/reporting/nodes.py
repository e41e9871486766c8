"""Nodes of the reporting pipeline: every model and naive baseline, scored per horizon step."""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pandas as pd

from lstm_forecast.timeseries import baselines, forecasts
from lstm_forecast.timeseries.evaluation import (
    DEFINITIONS,
    best_baselines,
    headline,
    score_all,
    verdict_line,
)
from lstm_forecast.timeseries.preparation import window_length_of

from .params import ReportingParams
from .plots import plot_calibration, plot_fan_chart, plot_loss_curves, plot_skill_by_horizon

logger = logging.getLogger(__name__)

__all__ = [
    "compute_forecast_metrics",
    "forecast_baselines",
    "plot_calibration",
    "plot_fan_chart",
    "plot_loss_curves",
    "plot_skill_by_horizon",
    "summarise_run",
]


def forecast_baselines(
    feature_table: pd.DataFrame,
    split_boundaries: dict[str, Any],
    test_windows: pd.DataFrame,
    reporting: ReportingParams,
    **test_predictions: pd.DataFrame,
) -> pd.DataFrame:
    """Forecast the test windows with the naive baselines, fit on the training split only.

    Args:
        feature_table: Feature table (``timestamp, close, segment, log_return``).
        split_boundaries: The split (``val_start`` ends the training data).
        test_windows: The test windows the models were scored on.
        reporting: ``params:reporting`` (``ewma_decay``).
        **test_predictions: Each model's test forecasts (gives the horizon and levels).

    Returns:
        A long table like ``test_predictions`` with a ``model`` column naming the baseline.
    """
    first = next(iter(test_predictions.values()))
    reference = forecasts.from_frame(first)
    interval = first["forecast_time"].iloc[0] - first["origin_time"].iloc[0]
    levels = reference["levels"]
    horizon = reference["prices"].shape[1]
    ends = test_windows["end_row"].to_numpy()
    window_length = window_length_of(test_windows)
    prices = baselines.forecast_all(
        feature_table,
        ends,
        pd.Timestamp(split_boundaries["val_start"]),
        horizon=horizon,
        levels=levels,
        window_length=window_length,
        decay=reporting.ewma_decay,
    )
    close = feature_table["close"].to_numpy(dtype=np.float64)
    stamps = feature_table["timestamp"]
    last = close[ends]
    steps = np.arange(1, horizon + 1)
    actual = close[ends[:, None] + steps[None, :]]
    return pd.concat(
        [
            forecasts.to_frame(
                stamps.to_numpy()[ends], last, values, levels, interval, actual
            ).assign(model=name)
            for name, values in prices.items()
        ],
        ignore_index=True,
    )


def compute_forecast_metrics(
    baseline_forecasts: pd.DataFrame,
    reporting: ReportingParams,
    **test_predictions: pd.DataFrame,
) -> dict[str, Any]:
    """Score every model's and baseline's quantile forecasts in price units, per horizon.

    Returns:
        ``models`` and ``baselines`` (scores per horizon step), ``best_baseline`` (the lowest
        CRPS per step), ``headline`` numbers,
        ``test_period``, ``quantiles``, ``horizons_reported`` and ``definitions``.
    """
    arrays = {name: forecasts.from_frame(frame) for name, frame in test_predictions.items()}
    for name, frame in baseline_forecasts.groupby("model", sort=False):
        arrays[str(name)] = forecasts.from_frame(frame.drop(columns="model"))
    reference = next(iter(arrays.values()))
    for name, values in arrays.items():
        if not np.array_equal(values["origin_time"], reference["origin_time"]):
            raise ValueError(
                f"The test forecasts of {name!r} are not on the same windows as the others; "
                "rerun the validation and reporting stages."
            )
    names = list(test_predictions)
    horizon = reference["prices"].shape[1]
    scores = score_all(
        reference["actual"],
        reference["last_close"],
        {name: values["prices"] for name, values in arrays.items()},
        baselines.BASELINES,
        reference["levels"],
    )
    origin = pd.DatetimeIndex(reference["origin_time"])
    return {
        "headline": headline(scores, names, baselines.BASELINES, horizon),
        "models": {name: scores[name] for name in names},
        "baselines": {name: scores[name] for name in baselines.BASELINES},
        "best_baseline": best_baselines(scores, baselines.BASELINES),
        "quantiles": reference["levels"].tolist(),
        "interval": forecasts.interval_of(next(iter(test_predictions.values()))),
        "horizon": horizon,
        "horizons_reported": [h for h in reporting.horizons if h <= horizon],
        "test_period": {
            "first_origin": origin.min().isoformat(),
            "last_origin": origin.max().isoformat(),
            "windows": len(origin),
        },
        "definitions": DEFINITIONS,
    }


def summarise_run(
    forecast_metrics: dict[str, Any],
    reporting: ReportingParams,
    **validation_reports: dict[str, Any],
) -> dict[str, Any]:
    """Log a short summary of the run, and return it as a small JSON.

    Returns:
        Per model: parity result and the verdict line; the headline numbers; the reports.
    """
    horizon = forecast_metrics["horizon"]
    period = forecast_metrics["test_period"]
    lines = [
        f"Run summary: {period['windows']} test origins {period['first_origin']} .. "
        f"{period['last_origin']}, forecasts 1..{horizon} bars of "
        f"{forecast_metrics['interval']} ahead, quantiles {forecast_metrics['quantiles']}."
    ]
    summary: dict[str, Any] = {"models": {}, "headline": forecast_metrics["headline"]}
    for name, report in validation_reports.items():
        verdict = verdict_line(
            name,
            forecast_metrics["models"],
            baselines.BASELINES,
            horizon,
            reporting.alpha,
            best=forecast_metrics.get("best_baseline", {}),
        )
        summary["models"][name] = {
            "onnx_parity_passed": bool(report["passed"]),
            "max_abs_error": report.get("max_abs_error"),
            "verdict": verdict,
        }
        lines.append(f"  {verdict}")
    reports_dir = reporting.reports_dir.rstrip("/")
    summary["reports"] = [f"{reports_dir}/{name}" for name in reporting.report_files]
    lines.append(f"  Reports in {reports_dir}/ (browse them with `kedro viz run`).")
    summary["text"] = lines
    logger.info("\n".join(lines))
    return summary
