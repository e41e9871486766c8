"""Report figures, drawn with matplotlib's object API (no pyplot state, no display needed)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

# One colour per series, the same in every figure.
_COLOURS = {"actual": "black", "persistence": "tab:gray", "lstm": "tab:blue", "ridge": "tab:orange"}
_FALLBACK = ("tab:green", "tab:red", "tab:purple", "tab:brown")


def plot_forecast_vs_actual(reporting: dict[str, Any], **predictions: pd.DataFrame) -> Figure:
    """Forecast vs actual close on the test split, with persistence, and the running gain.

    Three panels: the whole test period; the last ``zoom_hours`` hours, where the lines
    can be told apart; and the cumulative absolute-error advantage over persistence
    (rising = the model is beating naive in that stretch).

    Args:
        reporting: ``params:reporting`` (``zoom_hours``).
        **predictions: One ``test_predictions`` frame per model name, on the same windows.

    Returns:
        The figure (saved by a ``MatplotlibDataset``).
    """
    reference = next(iter(predictions.values()))
    time = pd.to_datetime(reference["target_time"])
    actual = reference["actual_close"].to_numpy()
    naive = reference["naive_close"].to_numpy()
    zoom = time >= time.max() - pd.Timedelta(hours=reporting["zoom_hours"])

    figure = Figure(figsize=(12, 11), layout="constrained")
    full, close_up, gain = figure.subplots(3, 1)
    for axis, mask in ((full, np.ones(len(time), dtype=bool)), (close_up, zoom)):
        axis.plot(time[mask], actual[mask], color=_COLOURS["actual"], lw=1.4, label="actual close")
        axis.plot(
            time[mask],
            naive[mask],
            color=_COLOURS["persistence"],
            lw=1,
            ls="--",
            label="persistence (last close)",
        )
        for index, (name, frame) in enumerate(predictions.items()):
            axis.plot(
                time[mask],
                frame["forecast_close"].to_numpy()[mask],
                color=_colour(name, index),
                lw=1,
                label=f"{name} forecast",
            )
        axis.set_ylabel("BTCUSDT close (USD)")
        axis.grid(alpha=0.3)
    full.set_title(f"Next-hour close on the test split ({len(time)} forecasts)")
    full.legend(loc="best", fontsize="small")
    close_up.set_title(f"Last {reporting['zoom_hours']} hours, zoomed")

    naive_error = np.abs(naive - actual)
    for index, (name, frame) in enumerate(predictions.items()):
        advantage = np.cumsum(naive_error - np.abs(frame["forecast_close"].to_numpy() - actual))
        gain.plot(time, advantage, color=_colour(name, index), lw=1.2, label=name)
    gain.axhline(0.0, color=_COLOURS["persistence"], lw=1, ls="--", label="persistence")
    gain.set_title("Cumulative |error| saved against persistence (above 0 = ahead of naive)")
    gain.set_ylabel("USD")
    gain.grid(alpha=0.3)
    gain.legend(loc="best", fontsize="small")
    return figure


def plot_error_distribution(reporting: dict[str, Any], **predictions: pd.DataFrame) -> Figure:
    """Histogram of forecast errors (forecast - actual, USD) of every model and persistence.

    Args:
        reporting: ``params:reporting`` (``histogram_bins``).
        **predictions: One ``test_predictions`` frame per model name, on the same windows.

    Returns:
        The figure.
    """
    reference = next(iter(predictions.values()))
    actual = reference["actual_close"].to_numpy()
    errors = {
        name: frame["forecast_close"].to_numpy() - actual for name, frame in predictions.items()
    }
    errors["persistence"] = reference["naive_close"].to_numpy() - actual
    everything = np.concatenate(list(errors.values()))
    low, high = np.percentile(everything, [0.5, 99.5])
    bins = np.linspace(low, high, reporting["histogram_bins"] + 1)

    figure = Figure(figsize=(10, 5.5), layout="constrained")
    axis = figure.subplots()
    for index, (name, error) in enumerate(errors.items()):
        axis.hist(
            np.clip(error, low, high),
            bins=bins,
            histtype="step",
            lw=1.5,
            color=_colour(name, index),
            label=f"{name}: MAE {np.mean(np.abs(error)):,.1f}, bias {np.mean(error):+,.1f}",
        )
    axis.axvline(0.0, color="black", lw=0.8)
    axis.set_title("Forecast error on the test split (tails clipped at the 0.5/99.5 percentiles)")
    axis.set_xlabel("forecast - actual close (USD)")
    axis.set_ylabel("test windows")
    axis.grid(alpha=0.3)
    axis.legend(loc="upper left", fontsize="small")
    return figure


def plot_loss_curves(training_history: pd.DataFrame) -> Figure:
    """Training and validation loss per epoch, with the best (checkpointed) epoch marked.

    Args:
        training_history: ``epoch, train_loss, val_loss`` from the training stage.

    Returns:
        The figure.
    """
    figure = Figure(figsize=(8, 5), layout="constrained")
    axis = figure.subplots()
    if len(training_history):
        epoch = training_history["epoch"].to_numpy()
        axis.plot(epoch, training_history["train_loss"], marker="o", label="train loss")
        axis.plot(epoch, training_history["val_loss"], marker="o", label="validation loss")
        val_loss = training_history["val_loss"].to_numpy(dtype=np.float64)
        if np.isfinite(val_loss).any():
            best = int(np.nanargmin(val_loss))
            axis.axvline(
                epoch[best],
                color="tab:green",
                ls=":",
                label=f"best epoch {epoch[best]} (val {val_loss[best]:.4f})",
            )
    axis.axhline(
        1.0, color="tab:gray", ls="--", lw=1, label="1.0 = variance of the scaled training target"
    )
    axis.set_title("LSTM loss curves (MSE of the scaled target)")
    axis.set_xlabel("epoch")
    axis.set_ylabel("MSE")
    axis.grid(alpha=0.3)
    axis.legend(loc="best", fontsize="small")
    return figure


def _colour(name: str, index: int) -> str:
    return _COLOURS.get(name, _FALLBACK[index % len(_FALLBACK)])
