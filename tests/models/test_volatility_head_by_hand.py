"""The volatility-scaled head's forward pass, alone and inside the network, computed by hand
with numpy: sigma = exp(0.5 * (a + b (v - mean v) + seasonal terms + 2 c(state))) / target
scale, output = sigma * z - target offset.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from lstm_forecast.models.lstm_network import LSTMForecaster
from lstm_forecast.models.volatility_scaling import (
    VolatilityScale,
    standard_start,
)


def _module_settings(**values) -> dict:
    return {
        "index": [2, 0],
        "feature_scale": [2.0, 0.5],
        "target_scale": [0.5, 0.25],
        "target_offset": [0.1, -0.2],
        "intercept": [0.2, -0.4],
        "slope": [[0.5, 1.0], [-0.5, 0.25]],
    } | values


def test_the_scaled_output_by_hand():
    module = VolatilityScale(3, 2, _module_settings())
    assert [name for name, _ in module.named_buffers()] == [
        "feature_scale",
        "target_scale",
        "target_offset",
    ]
    assert module.target_offset.shape == (2, 1)
    assert module.correction.weight.abs().sum().item() == 0.0
    assert module.correction.bias.abs().sum().item() == 0.0
    with torch.no_grad():
        module.correction.bias.copy_(torch.tensor([0.1, -0.05]))
    window = torch.randn(2, 4, 3)
    z = torch.tensor([[[-1.0, 0.0, 2.0], [-0.5, 0.5, 1.0]]]).repeat(2, 1, 1)
    out = module(window, torch.zeros(2, 3), z)
    last = window[:, -1, :].double().numpy()
    centred = np.column_stack([last[:, 2] * 2.0, last[:, 0] * 0.5])
    slope = np.array([[0.5, 1.0], [-0.5, 0.25]])
    log_var = np.array([0.2, -0.4]) + centred @ slope.T + 2 * np.array([0.1, -0.05])
    sigma = np.exp(0.5 * log_var) / np.array([0.5, 0.25])
    expected = sigma[:, :, None] * z.double().numpy() - np.array([0.1, -0.2])[None, :, None]
    np.testing.assert_allclose(out.detach().numpy(), expected, rtol=1e-5)


def test_the_seasonal_terms_by_hand():
    settings = _module_settings(
        index=[0],
        feature_scale=[1.0],
        slope=[[0.0], [0.0]],
        seasonal_index=[1, 2],
        seasonal_harmonics=[2],
        seasonal_mean=[0.1, -0.1],
        seasonal_scale=[0.5, 2.0],
        seasonal=[[0.3, -0.2, 0.1, 0.05], [-0.1, 0.4, 0.0, -0.2]],
    )
    module = VolatilityScale(3, 2, settings)
    assert {"seasonal_mean", "seasonal_scale"} <= {name for name, _ in module.named_buffers()}
    window = torch.randn(5, 4, 3)
    z = torch.ones(5, 2, 1)
    out = module(window, torch.zeros(5, 3), z).detach().double().numpy()
    last = window[:, -1, :].double().numpy()
    sin, cos = last[:, 1] * 0.5 + 0.1, last[:, 2] * 2.0 - 0.1
    terms = np.column_stack([cos, sin, cos * cos - sin * sin, 2 * sin * cos])
    log_var = np.array([0.2, -0.4]) + terms @ np.array(settings["seasonal"]).T
    expected = np.exp(0.5 * log_var) / np.array([0.5, 0.25]) - np.array([0.1, -0.2])
    np.testing.assert_allclose(out[..., 0], expected, rtol=1e-5)


def test_a_scaled_network_starts_from_the_gaussian_forecast_only_with_several_quantiles():
    settings = _module_settings(index=[0, 1], horizon=None)
    torch.manual_seed(0)
    model = LSTMForecaster(
        n_features=3, horizon=2, quantiles=(0.1, 0.5, 0.9), hidden_size=4,
        volatility_scaling=settings,
    )  # fmt: skip
    assert isinstance(model.volatility, VolatilityScale)
    assert model.head.weight.abs().sum().item() == 0.0
    torch.testing.assert_close(model.head.bias, standard_start(model.levels).repeat(2))
    pair = LSTMForecaster(
        n_features=3, horizon=2, quantiles=(0.25, 0.75), hidden_size=4,
        volatility_scaling=settings,
    )  # fmt: skip
    assert pair.head.weight.abs().sum().item() == 0.0
    torch.testing.assert_close(pair.head.bias, standard_start(pair.levels).repeat(2))
    single = LSTMForecaster(
        n_features=3, horizon=2, quantiles=(0.5,), hidden_size=4, volatility_scaling=settings
    )
    assert single.head.weight.abs().sum().item() > 0.0  # one quantile: the default init
    assert LSTMForecaster(n_features=3).volatility is None


def test_the_hour_and_weekday_harmonics_each_read_their_own_pair():
    # Features: x, hour_sin, hour_cos, dow_sin, dow_cos; 2 hour harmonics, 1 weekday one.
    settings = _module_settings(
        index=[0],
        feature_scale=[1.0],
        slope=[[0.0], [0.0]],
        seasonal_index=[1, 2, 3, 4],
        seasonal_harmonics=[2, 1],
        seasonal_mean=[0.0, 0.1, 0.2, 0.3],
        seasonal_scale=[1.0, 0.5, 2.0, 0.25],
        seasonal=[[0.3, -0.2, 0.1, 0.05, 0.2, -0.3], [-0.1, 0.4, 0.0, -0.2, 0.1, 0.1]],
    )
    module = VolatilityScale(3, 2, settings)
    window = torch.randn(6, 3, 5)
    out = module(window, torch.zeros(6, 3), torch.ones(6, 2, 1)).detach().double().numpy()
    last = window[:, -1, :].double().numpy()
    raw = last[:, 1:] * np.array([1.0, 0.5, 2.0, 0.25]) + np.array([0.0, 0.1, 0.2, 0.3])
    hs, hc, ds, dc = raw.T
    terms = np.column_stack([hc, hs, hc * hc - hs * hs, 2 * hs * hc, dc, ds])
    log_var = np.array([0.2, -0.4]) + terms @ np.array(settings["seasonal"]).T
    expected = np.exp(0.5 * log_var) / np.array([0.5, 0.25]) - np.array([0.1, -0.2])
    np.testing.assert_allclose(out[..., 0], expected, rtol=1e-5)


def test_the_network_scales_its_monotone_quantiles_by_the_regression_and_its_state():
    # Head: weights 0, biases 1, 0, ln(e - 1) -> z = 1, 1 + ln 2, 2 + ln 2 at each step.
    torch.manual_seed(5)
    model = LSTMForecaster(
        n_features=3, horizon=2, quantiles=(0.1, 0.5, 0.9), hidden_size=4,
        volatility_scaling=_module_settings(),
    ).eval()  # fmt: skip
    with torch.no_grad():
        model.head.weight.zero_()
        model.head.bias.copy_(torch.tensor([1.0, 0.0, math.log(math.e - 1)] * 2))
        model.volatility.correction.weight.fill_(0.1)  # the state enters log sigma^2
    window = torch.randn(2, 5, 3)
    out = model(window)
    state = model.lstm(window)[0][:, -1, :]
    last = window[:, -1, :]
    centred = torch.stack([last[:, 2] * 2.0, last[:, 0] * 0.5], dim=-1)
    slope = torch.tensor([[0.5, 1.0], [-0.5, 0.25]])
    correction = 0.1 * state.sum(dim=-1, keepdim=True)  # the same for both steps
    log_var = torch.tensor([0.2, -0.4]) + centred @ slope.T + 2 * correction
    sigma = torch.exp(0.5 * log_var) / torch.tensor([0.5, 0.25])
    z = torch.tensor([1.0, 1.0 + math.log(2.0), 2.0 + math.log(2.0)])
    expected = sigma[:, :, None] * z - torch.tensor([0.1, -0.2])[None, :, None]
    torch.testing.assert_close(out, expected, rtol=1e-5, atol=1e-6)
