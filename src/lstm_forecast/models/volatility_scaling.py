"""A volatility-scaled output for the LSTM: quantiles = sigma_t,h * z_q,h inside the network.

The network learns standardised quantile shapes ``z`` (the monotone head) and a correction
of a log-variance regression on the window's last bar, instead of the level of volatility:

    log sigma^2_t,h = a_h + sum_k b_h,k * (v_k,t - mean v_k) + 2 * c_h(state)
    y_q,h (target units) = sigma_t,h * z_q,h

``v_k`` are unscaled log-variance features (e.g. ``log_range_rv_24``), centred on their
training mean (the scaler's): recovered from the scaled window with the scaler's scale, kept
as a buffer; ``a, b`` are learnable and
start from an OLS of log squared h-step targets on ``v`` over the training windows (intercept
moved so the mean fitted variance equals the mean squared target); ``c`` is a linear layer on
the LSTM state, zero at start (a neutral correction). The module returns scaled targets, as
the plain head does, so the ONNX contract, the forecaster graph and serving do not change.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn

# Squared targets below this share of their mean are floored before the log (a zero return
# would give -inf and dominate the OLS).
_SQUARE_FLOOR = 1e-4
# Seasonal (sin, cos) feature pairs of the last bar whose harmonics may enter the regression,
# with the most harmonics each can carry (a weekday has 7 values: 3; None: as asked).
SEASONAL_PAIRS = (("hour_sin", "hour_cos", None), ("dow_sin", "dow_cos", 3))


def harmonics(sin: Any, cos: Any, count: int) -> list[Any]:
    """cos k theta and sin k theta for k = 1..count from sin theta and cos theta (numpy
    arrays or torch tensors alike), by the angle-sum recursion: products only, no atan2."""
    terms, c, s = [], cos, sin
    for _ in range(count):
        terms += [c, s]
        c, s = c * cos - s * sin, s * cos + c * sin
    return terms


def _seasonal(
    feature_names: tuple[str, ...], scaler: dict[str, Any], count: int
) -> dict[str, list]:
    """Which seasonal pairs enter (their columns, unscaling and harmonics)."""
    index, counts = [], []
    for sin, cos, most in SEASONAL_PAIRS:
        if count and sin in feature_names and cos in feature_names:
            index += [feature_names.index(sin), feature_names.index(cos)]
            counts.append(count if most is None else min(count, most))
    if count and not counts:
        raise ValueError(
            "training.lstm.volatility_harmonics needs hour_sin/hour_cos or dow_sin/dow_cos "
            "among the features."
        )
    mean = np.asarray(scaler["feature_mean"], dtype=np.float64)[index]
    scale = np.asarray(scaler["feature_scale"], dtype=np.float64)[index]
    return {
        "seasonal_index": index,
        "seasonal_harmonics": counts,
        "seasonal_mean": mean.tolist(),
        "seasonal_scale": scale.tolist(),
    }


def _seasonal_design(last: Any, settings: dict[str, Any], mean: Any, scale: Any) -> list[Any]:
    """The harmonics columns from the last bar's scaled seasonal features ``last`` [b, 2P]."""
    raw = last * scale + mean
    terms: list[Any] = []
    for pair, count in enumerate(settings["seasonal_harmonics"]):
        terms += harmonics(raw[:, 2 * pair], raw[:, 2 * pair + 1], count)
    return terms


def scaling_settings(
    names: list[str],
    feature_names: tuple[str, ...],
    scaler: dict[str, Any] | None,
    matrix: np.ndarray,
    targets: np.ndarray,
    train_ends: np.ndarray,
    seasonal_harmonics: int = 0,
) -> dict[str, Any]:
    """The plain-typed settings ``VolatilityScale`` is built from (they travel in the
    checkpoint's hyperparameters), fit on the training windows' last bars.

    Raises:
        ValueError: When a named feature is not among the model's features, or the
            scaler is unknown.
    """
    missing = [name for name in names if name not in feature_names]
    if missing:
        raise ValueError(
            f"training.lstm.volatility_scaling names {missing}, which this run's features "
            f"do not include ({list(feature_names)}). Choose a log-variance feature of the "
            "feature set, e.g. features.feature_set=volatility with log_range_rv_24, or set "
            "training.lstm.volatility_scaling=null."
        )
    if scaler is None:
        raise ValueError("volatility_scaling needs the feature scaler in the training data.")
    index = [feature_names.index(name) for name in names]
    feature_mean = np.asarray(scaler["feature_mean"], dtype=np.float64)[index]
    feature_scale = np.asarray(scaler["feature_scale"], dtype=np.float64)[index]
    target_mean = np.asarray(scaler["target_mean"], dtype=np.float64)
    target_scale = np.asarray(scaler["target_scale"], dtype=np.float64)
    centred = matrix[train_ends][:, index].astype(np.float64) * feature_scale
    y = targets[train_ends].astype(np.float64) * target_scale + target_mean
    seasonal = _seasonal(feature_names, scaler, seasonal_harmonics)
    last = matrix[train_ends][:, seasonal["seasonal_index"]].astype(np.float64)
    terms = _seasonal_design(last, seasonal, seasonal["seasonal_mean"], seasonal["seasonal_scale"])
    intercept, coef = _log_variance_ols(np.column_stack([centred, *terms]), y)
    return seasonal | {
        "seasonal": coef[:, len(index) :].tolist(),
        "slope": coef[:, : len(index)].tolist(),
        "features": list(names),
        "index": index,
        "feature_mean": feature_mean.tolist(),
        "feature_scale": feature_scale.tolist(),
        "target_scale": target_scale.tolist(),
        "target_offset": (target_mean / target_scale).tolist(),
        "intercept": intercept.tolist(),
    }


def standard_start(levels: torch.Tensor) -> torch.Tensor:
    """Head biases that make the monotone head's z the standard normal quantiles at
    ``levels`` (the lowest free, then inverse-softplus increments); with the head's weights
    at zero the untrained model is the regression's Gaussian forecast."""
    normal = torch.distributions.Normal(0.0, 1.0).icdf(levels.double())
    steps = normal.diff()
    return torch.cat([normal[:1], steps + torch.log(-torch.expm1(-steps))]).float()


def _log_variance_ols(v: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per horizon step: OLS of ln y^2 on [1, v]; intercept shifted so that the mean of
    exp(fit) equals the mean of y^2 (ln of a squared Gaussian is biased by about -1.27)."""
    horizon = y.shape[1]
    intercept, slope = np.zeros(horizon), np.zeros((horizon, v.shape[1]))
    for h in range(horizon):
        ok = np.isfinite(y[:, h]) & np.isfinite(v).all(axis=1)
        square = y[ok, h] ** 2
        log_square = np.log(np.maximum(square, _SQUARE_FLOOR * square.mean()))
        design = np.column_stack([np.ones(ok.sum()), v[ok]])
        coef, *_ = np.linalg.lstsq(design, log_square, rcond=None)
        fitted = design @ coef
        shift = np.log(square.mean()) - np.log(np.exp(fitted).mean())
        intercept[h], slope[h] = coef[0] + shift, coef[1:]
    return intercept, slope


class VolatilityScale(nn.Module):
    """Turns the head's standardised quantiles ``z`` into scaled targets ``sigma * z``."""

    def __init__(self, hidden_size: int, horizon: int, settings: dict[str, Any]) -> None:
        super().__init__()
        self.index = [int(i) for i in settings["index"]]

        def buffer(name: str) -> None:
            self.register_buffer(name, torch.tensor(settings[name], dtype=torch.float32))

        for name in ("feature_scale", "target_scale"):
            buffer(name)
        # Kept as [h, 1], the shape it is used in: an unsqueeze would be folded by the
        # exporter into a new constant, and validation looks for the buffer bit for bit.
        offset = torch.tensor(settings["target_offset"], dtype=torch.float32).unsqueeze(-1)
        self.register_buffer("target_offset", offset)
        self.intercept = nn.Parameter(torch.tensor(settings["intercept"], dtype=torch.float32))
        self.slope = nn.Parameter(torch.tensor(settings["slope"], dtype=torch.float32))
        self.seasonal_harmonics = list(settings.get("seasonal_harmonics", []))
        self.seasonal_index = [int(i) for i in settings.get("seasonal_index", [])]
        if self.seasonal_harmonics:
            buffer("seasonal_mean")
            buffer("seasonal_scale")
            self.seasonal = nn.Parameter(torch.tensor(settings["seasonal"], dtype=torch.float32))
        # Zero at start: sigma is the regression's alone until training moves it.
        self.correction = nn.Linear(hidden_size, horizon)
        nn.init.zeros_(self.correction.weight)
        nn.init.zeros_(self.correction.bias)

    def forward(self, window: torch.Tensor, state: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        """``window`` [b, L, F] scaled, ``state`` [b, hidden], ``z`` [b, h, q] -> [b, h, q]."""
        last = torch.stack([window[:, -1, i] for i in self.index], dim=-1)
        # v - feature_mean: centred on the training mean (the scaler's), so that Adam's steps
        # on the slope do not move the level (uncentred, v is about -10 for every bar).
        centred = last * self.feature_scale  # [b, k], unscaled log-variance minus its mean
        # A broadcast sum, not a matmul with slope.T: the exporter would fold the transpose into
        # a new initializer, and validation looks for every trained weight bit for bit.
        trend = (centred.unsqueeze(1) * self.slope).sum(dim=-1)  # [b, h]
        log_var = self.intercept + trend + 2.0 * self.correction(state)
        if self.seasonal_harmonics:
            last = torch.stack([window[:, -1, i] for i in self.seasonal_index], dim=-1)
            settings = {"seasonal_harmonics": self.seasonal_harmonics}
            terms = _seasonal_design(last, settings, self.seasonal_mean, self.seasonal_scale)
            design = torch.stack(terms, dim=-1)  # [b, M]
            log_var = log_var + (design.unsqueeze(1) * self.seasonal).sum(dim=-1)
        sigma = torch.exp(0.5 * log_var) / self.target_scale  # [b, h], scaled target units
        return sigma.unsqueeze(-1) * z - self.target_offset
