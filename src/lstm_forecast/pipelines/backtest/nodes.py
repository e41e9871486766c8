"""Nodes of the backtest pipeline: plan the folds, run each in its own namespace, gather.

Each fold refits the scaler and the model on its own past only (the shared code in
``timeseries.preparation`` and the model registry), forecasts its test block with the
trained model, and scores it against the same naive baselines as the reporting stage.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pandas as pd

from lstm_forecast import models
from lstm_forecast.errors import CandleDataError
from lstm_forecast.timeseries import baselines
from lstm_forecast.timeseries.assets import asset_blocks
from lstm_forecast.timeseries.evaluation import score_all
from lstm_forecast.timeseries.features import compute_features, feature_set
from lstm_forecast.timeseries.preparation import fit_scaler, scaled_arrays, split_windows
from lstm_forecast.timeseries.targets import compute_targets, forecast_to_price, target_columns

from .params import BacktestParams

logger = logging.getLogger(__name__)


def plan_folds(features: pd.DataFrame, backtest: BacktestParams, *, folds: int) -> dict[str, Any]:
    """Place ``folds`` consecutive test blocks at the end of the data.

    Fold ``k`` trains on every bar before its validation block (the training window expands
    fold by fold), early-stops on the ``val_bars`` bars just before its test block, and is
    scored on the windows whose every target bar lies in its ``test_bars`` bars.

    Returns:
        ``folds``: ``{fold, train_start, val_start, test_start, test_end}`` (ISO timestamps;
        ``test_end`` is exclusive, null for the last fold).
    """
    # Bars of the time axis shared by every asset: each fold splits all assets at one date.
    stamps = features["timestamp"].drop_duplicates().sort_values(ignore_index=True)
    rows = len(stamps)
    first_test = rows - folds * backtest.test_bars
    if first_test - backtest.val_bars < 2 * backtest.val_bars:
        raise CandleDataError(
            f"A backtest of {folds} folds x {backtest.test_bars} test bars with "
            f"{backtest.val_bars} validation bars does not fit in {rows} bars with a training "
            "window left; lower backtest.test_bars or backtest.val_bars."
        )
    plan = []
    for fold in range(folds):
        test_row = first_test + fold * backtest.test_bars
        end_row = test_row + backtest.test_bars
        plan.append(
            {
                "fold": fold,
                "train_start": stamps.iloc[0].isoformat(),
                "val_start": stamps.iloc[test_row - backtest.val_bars].isoformat(),
                "test_start": stamps.iloc[test_row].isoformat(),
                "test_end": stamps.iloc[end_row].isoformat() if end_row < rows else None,
            }
        )
    return {"folds": plan, "test_bars": backtest.test_bars, "val_bars": backtest.val_bars}


def run_fold(
    candles: pd.DataFrame,
    backtest_folds: dict[str, Any],
    backtest: BacktestParams,
    *,
    fold: int,
) -> dict[str, Any]:
    """Fit, forecast and score one fold.

    Returns:
        The fold's boundaries, window counts, training summary, and per-horizon CRPS, CRPS
        skill and 90% coverage of the model and each baseline.
    """
    plan = backtest_folds["folds"][fold]
    table, scaler, data, test_ends = _fold_data(candles, plan, backtest)
    trained = models.get(backtest.model).fit(data, backtest.training.for_kind(backtest.model))
    prices = _forecast(trained.artifact, table, scaler, data, test_ends, backtest)
    return _score_fold(plan, table, data, test_ends, prices, trained.summary, backtest)


def gather_folds(backtest_folds: dict[str, Any], **fold_reports: dict[str, Any]) -> dict[str, Any]:
    """Average the folds' per-horizon CRPS skill and coverage.

    Returns:
        ``folds`` (each fold's report), ``mean`` skill and coverage per horizon and baseline.
    """
    reports = [fold_reports[key] for key in sorted(fold_reports)]
    horizons = list(reports[0]["by_horizon"])
    bases = list(reports[0]["by_horizon"][horizons[0]]["crps_skill"])
    mean = {
        h: {
            "crps_skill": {
                b: float(np.mean([r["by_horizon"][h]["crps_skill"][b] for r in reports]))
                for b in bases
            },
            "coverage_90": float(np.mean([r["by_horizon"][h]["coverage_90"] for r in reports])),
        }
        for h in horizons
    }
    last = horizons[-1]
    logger.info(
        "Backtest over %d folds: CRPS skill at h=1 %s, at h=%s %s; 90%% coverage h=1 %.3f.",
        len(reports),
        {b: round(mean["1"]["crps_skill"][b], 4) for b in bases},
        last,
        {b: round(mean[last]["crps_skill"][b], 4) for b in bases},
        mean["1"]["coverage_90"],
    )
    return {
        "model": reports[0]["model"],
        "mean": mean,
        "folds": reports,
        "plan": backtest_folds["folds"],
    }


def _fold_data(
    candles: pd.DataFrame, plan: dict[str, Any], backtest: BacktestParams
) -> tuple[pd.DataFrame, dict[str, Any], models.TrainingData, np.ndarray]:
    kept = ["timestamp", "close", "segment", *(["asset"] if "asset" in candles else [])]
    table = candles[kept].copy()
    names = feature_set(backtest.feature_set)
    computed = compute_features(candles, names)
    table[list(computed.columns)] = computed
    table[target_columns(backtest.horizon)] = compute_targets(
        candles, backtest.target, backtest.horizon
    )
    val_start, test_start = pd.Timestamp(plan["val_start"]), pd.Timestamp(plan["test_start"])
    scaler = fit_scaler(table, val_start, backtest.target, backtest.horizon, names)
    matrix, targets = scaled_arrays(table, scaler)
    test_end = pd.Timestamp(plan["test_end"]) if plan["test_end"] else None
    windows = split_windows(
        table, matrix, targets, backtest.window_length, val_start, test_start, test_end
    )
    data = models.TrainingData(
        matrix=matrix,
        targets=targets,
        train_ends=windows["train"]["end_row"].to_numpy(),
        val_ends=windows["val"]["end_row"].to_numpy(),
        window_length=backtest.window_length,
        feature_names=tuple(scaler["feature_names"]),
        quantiles=tuple(backtest.training.quantiles),
        seed=backtest.training.seed,
        scaler=scaler,
    )
    return table, scaler, data, windows["test"]["end_row"].to_numpy()


def _forecast(
    artifact: dict[str, Any],
    table: pd.DataFrame,
    scaler: dict[str, Any],
    data: models.TrainingData,
    test_ends: np.ndarray,
    backtest: BacktestParams,
) -> np.ndarray:
    scaled = models.get(backtest.model).predictor(artifact)(data.windows(test_ends))
    return forecast_to_price(
        scaled,
        table["close"].to_numpy()[test_ends],
        target_mean=scaler["target_mean"],
        target_scale=scaler["target_scale"],
        kind=backtest.target,
    )


def _score_fold(
    plan: dict[str, Any],
    table: pd.DataFrame,
    data: models.TrainingData,
    test_ends: np.ndarray,
    prices: np.ndarray,
    training_summary: dict[str, Any],
    backtest: BacktestParams,
) -> dict[str, Any]:
    levels = np.asarray(data.quantiles)
    close = table["close"].to_numpy(dtype=np.float64)
    actual = close[test_ends[:, None] + np.arange(1, data.horizon + 1)[None, :]]
    forecasts = {backtest.model: prices} | _baselines(table, test_ends, plan, data, backtest)
    last = close[test_ends]
    # Several assets are pooled in fractions of each window's last close, not in USD.
    unit = last if len(asset_blocks(table)) > 1 else np.ones_like(last)
    scores = score_all(
        actual / unit[:, None],
        last / unit,
        {name: values / unit[:, None, None] for name, values in forecasts.items()},
        baselines.BASELINES,
        levels,
    )
    model_scores = scores[backtest.model]["by_horizon"]
    by_horizon = {
        h: {
            "crps": entry["crps"],
            "crps_skill": entry["crps_skill"],
            "coverage_90": (entry["coverage"]["0.9"] or {}).get("coverage"),
            "relative_mae": entry["relative_mae"],
        }
        for h, entry in model_scores.items()
    }
    logger.info(
        "Backtest fold %d (test from %s, %d windows): CRPS skill at h=1 %s.",
        plan["fold"],
        plan["test_start"],
        len(test_ends),
        {b: round(v, 4) for b, v in by_horizon["1"]["crps_skill"].items()},
    )
    stamps = table["timestamp"]
    return {
        "fold": plan["fold"],
        "model": backtest.model,
        "test_windows": len(test_ends),
        "first_target": stamps.iloc[test_ends + 1].min().isoformat(),
        "last_target": stamps.iloc[test_ends + data.horizon].max().isoformat(),
        "train_windows": len(data.train_ends),
        "training": training_summary,
        "by_horizon": by_horizon,
    }


def _baselines(
    table: pd.DataFrame,
    test_ends: np.ndarray,
    plan: dict[str, Any],
    data: models.TrainingData,
    backtest: BacktestParams,
) -> dict[str, np.ndarray]:
    """Each baseline's prices at ``test_ends``, fit per asset on that asset's training bars."""
    parts: dict[str, list[np.ndarray]] = {name: [] for name in baselines.BASELINES}
    for block in asset_blocks(table).values():  # test_ends are sorted: assets in block order
        mine = (test_ends >= block.start) & (test_ends < block.stop)
        if not mine.any():
            continue
        prices = baselines.forecast_all(
            table.iloc[block].reset_index(drop=True),
            test_ends[mine] - block.start,
            pd.Timestamp(plan["val_start"]),
            horizon=data.horizon,
            levels=np.asarray(data.quantiles),
            window_length=data.window_length,
            decay=backtest.ewma_decay,
        )
        for name, values in prices.items():
            parts[name].append(values)
    return {name: np.concatenate(values) for name, values in parts.items()}
