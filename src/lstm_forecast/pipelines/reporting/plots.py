"""Report figures, drawn with matplotlib's object API (no pyplot state, no display needed)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from lstm_forecast.timeseries import forecasts

from .params import ReportingParams

_COLOURS = {
    "actual": "black",
    "random_walk": "tab:gray",
    "ewma": "tab:olive",
    "garch": "tab:purple",
    "har": "tab:cyan",
    "lstm": "tab:blue",
    "ridge": "tab:orange",
}
_FALLBACK = ("tab:green", "tab:red", "tab:brown", "tab:pink")


def plot_fan_chart(
    baseline_forecasts: pd.DataFrame, reporting: ReportingParams, **test_predictions: pd.DataFrame
) -> Figure:
    """Quantile bands over the last ``zoom_bars`` test bars, and the last full fan.

    Top: each model's one-step-ahead 50% and 90% bands against the actual close. Bottom:
    the fan of the last test origin over every horizon step, with the baselines' 90% bands.
    """
    figure = Figure(figsize=(12, 9), layout="constrained")
    rolling, fan = figure.subplots(2, 1)
    models = {name: forecasts.from_frame(frame) for name, frame in test_predictions.items()}
    reference = next(iter(test_predictions.values()))
    one_step = reference[reference["h"] == 1].tail(reporting.zoom_bars)
    rolling.plot(
        one_step["forecast_time"],
        one_step["actual_close"],
        color="black",
        lw=1.2,
        label="actual close",
    )
    for index, (name, frame) in enumerate(test_predictions.items()):
        step = frame[frame["h"] == 1].tail(reporting.zoom_bars)
        colour = _colour(name, index)
        for low, high, alpha in (("q0.05", "q0.95", 0.15), ("q0.25", "q0.75", 0.3)):
            if low in step and high in step:
                rolling.fill_between(
                    step["forecast_time"], step[low], step[high], color=colour, alpha=alpha, lw=0
                )
        rolling.plot(
            step["forecast_time"],
            step["q0.5"],
            color=colour,
            lw=1,
            label=f"{name} median (bands: 50%, 90%)",
        )
    rolling.set_title(
        f"One bar ({forecasts.interval_of(reference)}) ahead, last {len(one_step)} test bars"
    )
    rolling.set_ylabel("close")
    rolling.legend(loc="best", fontsize="small")
    rolling.grid(alpha=0.3)

    last_origin = reference["origin_time"].max()
    last = reference[reference["origin_time"] == last_origin]
    fan.plot(last["forecast_time"], last["actual_close"], color="black", lw=1.4, label="actual")
    for index, (name, values) in enumerate(models.items()):
        frame = test_predictions[name]
        rows = frame[frame["origin_time"] == last_origin]
        colour = _colour(name, index)
        for level_low, level_high in ((0.05, 0.95), (0.25, 0.75)):
            low, high = forecasts.level_column(level_low), forecasts.level_column(level_high)
            if low in rows and high in rows:
                fan.fill_between(
                    rows["forecast_time"], rows[low], rows[high], color=colour, alpha=0.2, lw=0
                )
        fan.plot(rows["forecast_time"], rows["q0.5"], color=colour, label=f"{name} median")
        del values
    for name, frame in baseline_forecasts.groupby("model", sort=False):
        rows = frame[frame["origin_time"] == last_origin]
        if "q0.05" in rows:
            for column in ("q0.05", "q0.95"):
                fan.plot(
                    rows["forecast_time"],
                    rows[column],
                    color=_colour(str(name), 0),
                    ls="--",
                    lw=1,
                    label=f"{name} 90% band" if column == "q0.05" else None,
                )
    fan.set_title(f"Fan from the last test origin ({pd.Timestamp(last_origin).isoformat()})")
    fan.set_ylabel("close")
    fan.legend(loc="best", fontsize="small")
    fan.grid(alpha=0.3)
    return figure


def plot_calibration(forecast_metrics: dict[str, Any]) -> Figure:
    """Share of actuals below each quantile forecast against its level (ideal: diagonal)."""
    figure = Figure(figsize=(7, 6), layout="constrained")
    axis = figure.subplots()
    levels = np.asarray(forecast_metrics["quantiles"])
    axis.plot([0, 1], [0, 1], color="black", lw=1, ls=":", label="perfect calibration")
    everything = forecast_metrics["models"] | forecast_metrics["baselines"]
    for index, (name, scores) in enumerate(everything.items()):
        hits = np.mean(
            [
                [entry["quantile_hit_rate"][f"{level:g}"] for level in levels]
                for entry in scores["by_horizon"].values()
            ],
            axis=0,
        )
        axis.plot(levels, hits, marker="o", color=_colour(name, index), label=name)
    axis.set_xlabel("quantile level")
    axis.set_ylabel("share of actual closes at or below the forecast quantile")
    axis.set_title("Calibration, averaged over horizon steps")
    axis.legend(loc="best", fontsize="small")
    axis.grid(alpha=0.3)
    return figure


def plot_skill_by_horizon(forecast_metrics: dict[str, Any], reporting: ReportingParams) -> Figure:
    """CRPS skill of each model against each baseline by horizon; filled = DM-significant."""
    baselines = list(forecast_metrics["baselines"])
    figure = Figure(figsize=(3.5 * len(baselines) + 1, 4.5), layout="constrained")
    axes = figure.subplots(1, len(baselines), sharey=True, squeeze=False)[0]
    for axis, base in zip(axes, baselines, strict=True):
        for index, (name, scores) in enumerate(forecast_metrics["models"].items()):
            steps = sorted(int(h) for h in scores["by_horizon"])
            skill = [scores["by_horizon"][str(h)]["crps_skill"][base] for h in steps]
            p_values = [
                scores["by_horizon"][str(h)]["diebold_mariano"][base]["p_value"] for h in steps
            ]
            colour = _colour(name, index)
            axis.plot(steps, skill, color=colour, lw=1, label=name)
            significant = [p is not None and p < reporting.alpha for p in p_values]
            axis.scatter(
                steps,
                skill,
                color=colour,
                s=18,
                facecolors=[colour if s else "none" for s in significant],
            )
        axis.axhline(0.0, color="black", lw=1, ls=":")
        axis.set_title(f"vs {base}")
        axis.set_xlabel(f"horizon (bars of {forecast_metrics.get('interval', '?')})")
        axis.grid(alpha=0.3)
    axes[0].set_ylabel("CRPS skill (1 - CRPS / CRPS_baseline)")
    axes[0].legend(loc="best", fontsize="small")
    figure.suptitle(f"CRPS skill by horizon; filled markers: DM p < {reporting.alpha:g}")
    return figure


def plot_loss_curves(training_history: pd.DataFrame) -> Figure:
    """Training and validation pinball loss per epoch."""
    figure = Figure(figsize=(8, 4.5), layout="constrained")
    axis = figure.subplots()
    if len(training_history):
        axis.plot(
            training_history["epoch"], training_history["train_loss"], marker="o", label="train"
        )
        axis.plot(
            training_history["epoch"], training_history["val_loss"], marker="o", label="validation"
        )
        best = training_history["val_loss"].idxmin()
        axis.axvline(
            training_history.loc[best, "epoch"], color="gray", ls="--", label="best epoch (kept)"
        )
    axis.set_xlabel("epoch")
    axis.set_ylabel("mean pinball loss (scaled targets)")
    axis.set_title("LSTM loss curves")
    axis.legend(loc="best")
    axis.grid(alpha=0.3)
    return figure


def _colour(name: str, index: int) -> str:
    return _COLOURS.get(name, _FALLBACK[index % len(_FALLBACK)])
