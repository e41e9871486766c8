"""Nodes of the reporting pipeline: metrics of every model against persistence, and the summary."""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pandas as pd

from lstm_forecast.timeseries import metrics

from .plots import plot_error_distribution, plot_forecast_vs_actual, plot_loss_curves

logger = logging.getLogger(__name__)

BASELINE = "persistence"

__all__ = [
    "compute_forecast_metrics",
    "plot_error_distribution",
    "plot_forecast_vs_actual",
    "plot_loss_curves",
    "summarise_run",
]

DEFINITIONS = {
    "errors": "forecast_close - actual_close, in USD, one per test window (next hourly close)",
    "mae": "mean |error| (USD)",
    "rmse": "sqrt(mean error^2) (USD)",
    "mape_pct": "100 * mean(|error| / actual_close)",
    "mase": "MAE / mase_scale.value (Hyndman & Koehler 2006)",
    "relative_mae": "MAE / MAE of persistence on the same windows; below 1 beats naive",
    "directional_accuracy": (
        "share of windows where sign(forecast - last_close) == sign(actual - last_close), over "
        "windows where both moves are non-zero (persistence calls no direction: n = 0); "
        "ci = Wilson score interval; p_value_vs_coin = exact two-sided binomial test of 50%"
    ),
    "diebold_mariano": (
        "DM test of equal expected loss against persistence, d_t = L(e_model) - L(e_naive), "
        "horizon 1, Harvey-Leybourne-Newbold small-sample correction, Student t(n-1), "
        "two-sided; statistic < 0 means the model has lower loss"
    ),
}


def compute_forecast_metrics(
    features: pd.DataFrame,
    split_boundaries: dict[str, Any],
    reporting: dict[str, Any],
    **predictions: pd.DataFrame,
) -> dict[str, Any]:
    """Score every model's test forecasts, and the persistence forecast, in price units.

    Args:
        features: Unscaled feature table (``timestamp, close, segment``) for the MASE scale.
        split_boundaries: Split timestamps; the MASE scale uses bars before ``val_start``.
        reporting: ``params:reporting`` (``dm_loss``, ``dm_horizon``, ``confidence``).
        **predictions: One ``test_predictions`` frame per model name, all on the same windows.

    Returns:
        ``models`` (one entry per model plus ``persistence``), ``test_period``,
        ``mase_scale`` and ``definitions``.
    """
    reference = _check_aligned(predictions)
    actual = reference["actual_close"].to_numpy()
    last = reference["last_close"].to_numpy()
    naive = reference["naive_close"].to_numpy()
    train = features["timestamp"] < pd.Timestamp(split_boundaries["val_start"])
    scale = metrics.naive_mae_scale(
        features.loc[train, "close"].to_numpy(), features.loc[train, "segment"].to_numpy()
    )
    forecasts = {name: frame["forecast_close"].to_numpy() for name, frame in predictions.items()}
    forecasts[BASELINE] = naive
    models = {
        name: _score(actual, forecast, last=last, naive=naive, scale=scale, reporting=reporting)
        for name, forecast in forecasts.items()
    }
    target_time = pd.to_datetime(reference["target_time"])
    return {
        "baseline": BASELINE,
        "headline": {f"{name}_relative_mae": models[name]["relative_mae"] for name in predictions},
        "models": models,
        "test_period": {
            "first_target": target_time.min().isoformat(),
            "last_target": target_time.max().isoformat(),
            "forecasts": len(reference),
        },
        "mase_scale": {
            "value": scale,
            "definition": "mean |close_t - close_{t-1}| over training bars (before val_start), "
            "within gap-free segments: the in-sample one-step naive MAE",
            "before": split_boundaries["val_start"],
        },
        "definitions": DEFINITIONS,
    }


def summarise_run(
    forecast_metrics: dict[str, Any],
    reporting: dict[str, Any],
    **validation_reports: dict[str, Any],
) -> dict[str, Any]:
    """Log a short human-readable summary of the run, and return it as a small JSON.

    Args:
        forecast_metrics: Output of ``compute_forecast_metrics``.
        reporting: ``params:reporting`` (``reports_dir``, ``report_files``).
        **validation_reports: One ONNX ``validation_report`` per model name.

    Returns:
        Parity result, relative MAE and DM p-value of each model, and where the reports are.
    """
    models = forecast_metrics["models"]
    naive_mae = models[BASELINE]["mae"]
    summary: dict[str, Any] = {"models": {}, "persistence_mae": naive_mae}
    lines = [
        "Run summary: test split {first_target} .. {last_target}, {forecasts} hourly forecasts; "
        "persistence MAE {mae:,.2f} USD.".format(**forecast_metrics["test_period"], mae=naive_mae)
    ]
    for name, report in validation_reports.items():
        scores = models[name]
        dm = scores["diebold_mariano"]
        entry = {
            "onnx_parity_passed": bool(report["passed"]),
            "max_abs_error": report.get("max_abs_error"),
            "windows_compared": report.get("windows_compared"),
            "mae": scores["mae"],
            "relative_mae": scores["relative_mae"],
            "dm_statistic": dm["statistic"],
            "dm_p_value": dm["p_value"],
            "verdict": _verdict(scores["relative_mae"], dm, reporting["alpha"]),
        }
        summary["models"][name] = entry
        lines.append(
            f"  {name:<6} ONNX parity {'passed' if entry['onnx_parity_passed'] else 'FAILED'} "
            f"(max abs error {_fmt(entry['max_abs_error'], '.2e')} over "
            f"{entry['windows_compared']} windows); MAE {entry['mae']:,.2f} USD, "
            f"relative MAE {entry['relative_mae']:.4f}, DM p-value "
            f"{_fmt(entry['dm_p_value'], '.3g')} ({dm['loss']} loss): {entry['verdict']}."
        )
    reports_dir = reporting["reports_dir"].rstrip("/")
    summary["reports"] = [f"{reports_dir}/{name}" for name in reporting["report_files"]]
    lines.append(
        f"  Reports in {reports_dir}/: {', '.join(reporting['report_files'])} "
        "(browse them with `kedro viz run`)."
    )
    logger.info("\n".join(lines))
    return summary


def _score(
    actual: np.ndarray,
    forecast: np.ndarray,
    *,
    last: np.ndarray,
    naive: np.ndarray,
    scale: float,
    reporting: dict[str, Any],
) -> dict[str, Any]:
    return {
        "n": len(actual),
        "mae": metrics.mae(actual, forecast),
        "rmse": metrics.rmse(actual, forecast),
        "mape_pct": metrics.mape(actual, forecast),
        "mase": metrics.mase(actual, forecast, scale),
        "relative_mae": metrics.relative_mae(actual, forecast, naive),
        "directional_accuracy": metrics.directional_accuracy(
            actual, forecast, last, reporting["confidence"]
        ),
        "diebold_mariano": metrics.diebold_mariano(
            forecast - actual, naive - actual, reporting["dm_loss"], reporting["dm_horizon"]
        ),
    }


def _check_aligned(predictions: dict[str, pd.DataFrame]) -> pd.DataFrame:
    if not predictions:
        raise ValueError("compute_forecast_metrics needs at least one model's test predictions.")
    names = list(predictions)
    reference = predictions[names[0]]
    for name in names[1:]:
        frame = predictions[name]
        same = len(frame) == len(reference) and all(
            np.array_equal(frame[column].to_numpy(), reference[column].to_numpy())
            for column in ("target_time", "actual_close", "last_close")
        )
        if not same:
            raise ValueError(
                f"Test predictions of {name!r} and {names[0]!r} are not on the same windows; "
                "rerun the validation stage for both models."
            )
    return reference


def _verdict(relative: float, dm: dict[str, Any], alpha: float) -> str:
    if dm["p_value"] is None or dm["p_value"] >= alpha:
        side = "better" if relative < 1 else "worse" if relative > 1 else "level"
        return f"not significantly different from naive at {alpha:g} (point estimate {side})"
    side = "lower" if dm["statistic"] < 0 else "higher"
    return f"significantly {side} {dm['loss']} loss than naive at {alpha:g}"


def _fmt(value: float | None, spec: str) -> str:
    return "n/a" if value is None else format(value, spec)
