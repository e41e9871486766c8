"""The forecaster's feature graph: raw candles -> the scaled window, in float64 as numpy does.

Every feature of ``timeseries.feature_sets.FEATURE_FORMULAS`` is computed here over the
forecaster's whole input (``context_length + 1`` bars) and the last ``window_length`` rows
go to the network. Trailing means are differences of a cumulative sum over the input (a
float64 ``CumSum`` in ONNX); numpy averages a sliding window, and validation compares the two
on every test window.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import torch
from torch import nn

from lstm_forecast.onnx.contract import OnnxContract
from lstm_forecast.timeseries.features import VOLUME_CHANGE_CLIP, extrapolation_bounds
from lstm_forecast.timeseries.volatility_features import (
    EPOCH_WEEKDAY,
    GARMAN_KLASS_CLOSE,
    PARKINSON_DENOMINATOR,
    RELATIVE_VOLUME_CLIP,
    RELATIVE_VOLUME_SPAN,
    VARIANCE_FLOOR,
    VARIANCE_SPANS,
)


class CandleFeatures(nn.Module):
    """``candles [b, C+1, 5]`` f64 + ``open_time [b, C+1]`` i64 -> scaled ``window [b, L, F]`` f32.

    ``C`` is the contract's ``context_length`` and ``L`` its ``window_length``. Also returns
    the last close and ``window_ok``: false where consecutive open times are not exactly one
    interval apart (a gap, a wrong order) or a price is not positive, and ``extrapolating``:
    true where a feature of the window lies beyond the contract's ``feature_range``.
    """

    def __init__(self, contract: OnnxContract, interval_seconds: int) -> None:
        super().__init__()
        self.names = list(contract.feature_names)
        self.window_length = contract.window_length
        self.interval_seconds = interval_seconds
        self.register_buffer(
            "mean", torch.tensor(contract.scaler.feature_mean, dtype=torch.float64)
        )
        self.register_buffer(
            "scale", torch.tensor(contract.scaler.feature_scale, dtype=torch.float64)
        )
        # Without a recorded range (an older scaler) no window is flagged.
        wide = (np.full(len(self.names), -np.inf), np.full(len(self.names), np.inf))
        low, high = extrapolation_bounds(contract.feature_range) if contract.feature_range else wide
        self.register_buffer("low", torch.tensor(low, dtype=torch.float64))
        self.register_buffer("high", torch.tensor(high, dtype=torch.float64))

    def forward(
        self, candles: torch.Tensor, open_time: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        close = candles[..., 3]
        formulas = bar_features(candles, open_time, self.window_length)
        values = torch.stack([formulas[name]() for name in self.names], dim=-1)
        window = ((values - self.mean) / self.scale).to(torch.float32)
        steps = open_time[:, 1:] - open_time[:, :-1]
        ok = (steps == self.interval_seconds).all(dim=1) & (candles[..., :4] > 0).flatten(1).all(
            dim=1
        )
        outside = (values < self.low) | (values > self.high)
        return window, close[:, -1], ok, outside.flatten(1).any(dim=1)


def bar_features(
    candles: torch.Tensor, open_time: torch.Tensor, length: int
) -> dict[str, Callable[[], torch.Tensor]]:
    """Each feature of the last ``length`` bars, ``[b, length]`` f64, built only when called."""
    open_, high, low, close, volume = candles.unbind(-1)
    log_close = torch.log(close)
    # The input's first bar has no return; it is never read (the lookback rule).
    step = log_close[:, 1:] - log_close[:, :-1]
    log_return = torch.cat([torch.zeros_like(log_close[:, :1]), step], 1)
    seconds = open_time.to(torch.float64)  # exact for epoch seconds, as the int64 ops were not
    hour = torch.floor(torch.remainder(seconds, 86400.0) / 3600.0)
    weekday = torch.remainder(torch.floor(seconds / 86400.0) + EPOCH_WEEKDAY, 7.0)

    def last(values: torch.Tensor) -> torch.Tensor:
        return values[:, -length:]

    def parkinson() -> torch.Tensor:
        return torch.log(high / low) ** 2 / PARKINSON_DENOMINATOR

    def garman_klass() -> torch.Tensor:
        return 0.5 * torch.log(high / low) ** 2 - GARMAN_KLASS_CLOSE * torch.log(close / open_) ** 2

    formulas: dict[str, Callable[[], torch.Tensor]] = {
        "log_return": lambda: last(log_return),
        "log_high_low": lambda: last(torch.log(high / low)),
        "log_close_open": lambda: last(torch.log(close / open_)),
        "log_volume_change": lambda: last(_volume_change(volume)),
        "hour_sin": lambda: last(torch.sin(2.0 * math.pi * hour / 24.0)),
        "hour_cos": lambda: last(torch.cos(2.0 * math.pi * hour / 24.0)),
        "log_range_var": lambda: last(_log_variance(parkinson())),
        "log_gk_var": lambda: last(_log_variance(garman_klass())),
        "dow_sin": lambda: last(torch.sin(2.0 * math.pi * weekday / 7.0)),
        "dow_cos": lambda: last(torch.cos(2.0 * math.pi * weekday / 7.0)),
        "log_relative_volume": lambda: _relative_volume(volume, length),
    }
    for span in VARIANCE_SPANS:
        formulas[f"log_range_rv_{span}"] = _trailing_log_variance(parkinson, span, length)
        formulas[f"log_rv_{span}"] = _trailing_log_variance(lambda: log_return**2, span, length)
    return formulas


def trailing_mean(values: torch.Tensor, span: int, length: int) -> torch.Tensor:
    """Mean of ``values[..., t - span + 1 .. t]`` for each of the last ``length`` positions."""
    total = torch.cat([torch.zeros_like(values[:, :1]), torch.cumsum(values, dim=1)], 1)
    end = total.shape[1]
    return (total[:, end - length :] - total[:, end - length - span : end - span]) / span


def _trailing_log_variance(
    source: Callable[[], torch.Tensor], span: int, length: int
) -> Callable[[], torch.Tensor]:
    return lambda: _log_variance(trailing_mean(source(), span, length))


def _log_variance(variance: torch.Tensor) -> torch.Tensor:
    """``volatility_features.log_variance``: the log of the variance floored at VARIANCE_FLOOR."""
    return torch.log(torch.clamp(variance, min=VARIANCE_FLOOR))


def _relative_volume(volume: torch.Tensor, length: int) -> torch.Tensor:
    """``volatility_features.relative_volume`` for the last ``length`` bars."""
    mean = trailing_mean(volume, RELATIVE_VOLUME_SPAN, length)
    ratio = torch.log(volume[:, -length:] / mean)
    ratio = torch.where(torch.isnan(ratio), torch.zeros_like(ratio), ratio)  # 0 / 0
    return torch.clamp(ratio, -RELATIVE_VOLUME_CLIP, RELATIVE_VOLUME_CLIP)


def _volume_change(volume: torch.Tensor) -> torch.Tensor:
    """``features.volume_change`` in the graph: clipped log ratio, 0 for 0 / 0 (input's first
    bar: 0, never read)."""
    step = torch.log(volume[:, 1:] / volume[:, :-1])
    step = torch.where(torch.isnan(step), torch.zeros_like(step), step)
    step = torch.clamp(step, -VOLUME_CHANGE_CLIP, VOLUME_CHANGE_CLIP)
    return torch.cat([torch.zeros_like(step[:, :1]), step], 1)
