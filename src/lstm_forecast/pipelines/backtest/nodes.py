"""Nodes of the backtest pipeline: rolling origin, expanding training window, small LSTM."""

from __future__ import annotations

import copy
import logging
from typing import Any

import numpy as np
import pandas as pd
import torch

from lstm_forecast.errors import CandleDataError
from lstm_forecast.timeseries import metrics
from lstm_forecast.timeseries.features import forecast_to_price
from lstm_forecast.timeseries.windows import gather_windows

from ..features.nodes import fit_scaler, make_windows
from ..training.model import model_from_checkpoint
from ..training.nodes import train_lstm

logger = logging.getLogger(__name__)


def plan_folds(features: pd.DataFrame, backtest: dict[str, Any]) -> dict[str, Any]:
    """Place the folds: the last ``folds * test_bars`` bars, cut into consecutive test blocks.

    Fold ``k`` trains on every bar before its validation block (the training window
    expands fold by fold), early-stops on the ``val_bars`` bars just before its test
    block, and is scored on its ``test_bars`` bars.

    Args:
        features: Feature table from the features stage (``timestamp`` used).
        backtest: ``params:backtest`` (``folds``, ``test_bars``, ``val_bars``).

    Returns:
        ``folds``: a list of ``{fold, train_start, val_start, test_start, test_end}``
        (ISO timestamps; ``test_end`` is exclusive, null for the last fold).
    """
    folds, test_bars, val_bars = backtest["folds"], backtest["test_bars"], backtest["val_bars"]
    timestamps = features["timestamp"]
    rows = len(timestamps)
    first_test = rows - folds * test_bars
    if folds < 1 or test_bars < 1 or val_bars < 1 or first_test - val_bars < 2 * val_bars:
        raise CandleDataError(
            f"A backtest of {folds} folds x {test_bars} test bars with {val_bars} validation "
            f"bars does not fit in {rows} bars with a training window left; lower "
            "backtest.folds, backtest.test_bars or backtest.val_bars."
        )
    plan = []
    for fold in range(folds):
        test_row = first_test + fold * test_bars
        end_row = test_row + test_bars
        plan.append(
            {
                "fold": fold,
                "train_start": timestamps.iloc[0].isoformat(),
                "val_start": timestamps.iloc[test_row - val_bars].isoformat(),
                "test_start": timestamps.iloc[test_row].isoformat(),
                "test_end": timestamps.iloc[end_row].isoformat() if end_row < rows else None,
            }
        )
    return {"folds": plan, "test_bars": test_bars, "val_bars": val_bars}


def run_backtest(
    features: pd.DataFrame,
    backtest_folds: dict[str, Any],
    feature_params: dict[str, Any],
    training: dict[str, Any],
    backtest: dict[str, Any],
) -> dict[str, Any]:
    """Refit scaler and LSTM on each fold's past, forecast its test block, score vs persistence.

    The scaler and the model see only bars before the fold's validation/test blocks, via
    the features stage's ``fit_scaler``/``make_windows`` and the training stage's
    ``train_lstm`` (with ``backtest.training`` merged over ``params:training``).

    Args:
        features: Unscaled feature table.
        backtest_folds: Output of ``plan_folds``.
        feature_params: ``params:features`` (``window_length``, ``target``).
        training: ``params:training``.
        backtest: ``params:backtest`` (``training`` overrides).

    Returns:
        Per-fold and mean relative MAE (and the MAEs and DM test behind them).
    """
    settings = _merge(training, backtest.get("training") or {})
    window_length = feature_params["window_length"]
    close = features["close"].to_numpy()
    folds = []
    for fold in backtest_folds["folds"]:
        scaler = fit_scaler(features, fold, feature_params)
        scaled, train_windows, val_windows, test_windows = make_windows(
            features, scaler, fold, window_length
        )
        if fold["test_end"] is not None:
            test_end = pd.Timestamp(fold["test_end"])
            test_windows = test_windows[pd.to_datetime(test_windows["target_time"]) < test_end]
        checkpoint, _, summary = train_lstm(
            scaled, train_windows, val_windows, settings, window_length
        )
        ends = test_windows["end_row"].to_numpy()
        actual, last = close[ends + 1], close[ends]
        forecast = _forecast_prices(
            checkpoint,
            scaled,
            scaler=scaler,
            ends=ends,
            last_close=last,
            window_length=window_length,
        )
        dm = metrics.diebold_mariano(
            forecast - actual, last - actual, backtest["dm_loss"], horizon=1
        )
        folds.append(
            {
                **fold,
                "train_windows": len(train_windows),
                "val_windows": len(val_windows),
                "test_windows": len(test_windows),
                "epochs_run": summary["epochs_run"],
                "mae": metrics.mae(actual, forecast),
                "persistence_mae": metrics.mae(actual, last),
                "relative_mae": metrics.relative_mae(actual, forecast, last),
                "dm_statistic": dm["statistic"],
                "dm_p_value": dm["p_value"],
            }
        )
        logger.info(
            "Backtest fold %d (test from %s, %d windows): relative MAE %.4f.",
            fold["fold"],
            fold["test_start"],
            len(test_windows),
            folds[-1]["relative_mae"],
        )
    relative = [fold["relative_mae"] for fold in folds]
    report = {
        "model": "lstm",
        "baseline": "persistence",
        "mean_relative_mae": float(np.mean(relative)),
        "pooled_relative_mae": float(
            sum(f["mae"] * f["test_windows"] for f in folds)
            / sum(f["persistence_mae"] * f["test_windows"] for f in folds)
        ),
        "folds": folds,
        "training": {key: settings[key] for key in ("model", "batch_size", "seed")}
        | {"max_epochs": settings["trainer"]["max_epochs"]},
        "window_length": window_length,
        "dm_loss": backtest["dm_loss"],
    }
    logger.info(
        "Backtest over %d folds: relative MAE per fold %s, mean %.4f (below 1 beats naive).",
        len(folds),
        ", ".join(f"{value:.4f}" for value in relative),
        report["mean_relative_mae"],
    )
    return report


def _forecast_prices(
    checkpoint: dict[str, Any],
    scaled: pd.DataFrame,
    *,
    scaler: dict[str, Any],
    ends: np.ndarray,
    last_close: np.ndarray,
    window_length: int,
) -> np.ndarray:
    """Forecast the next close of each window with the trained model (torch, in process)."""
    model = model_from_checkpoint(checkpoint)
    matrix = scaled[scaler["feature_names"]].to_numpy(np.float32)
    windows = np.ascontiguousarray(gather_windows(matrix, ends, window_length))
    with torch.inference_mode():
        output = model(torch.from_numpy(windows)).numpy()
    return forecast_to_price(
        output,
        last_close,
        target_mean=scaler["target_mean"],
        target_scale=scaler["target_scale"],
        kind=scaler["target_kind"],
    )


def _merge(base: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    merged = copy.deepcopy(base)
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged
