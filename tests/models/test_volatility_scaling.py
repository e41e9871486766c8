"""The volatility-scaled LSTM head: hand-computed outputs, checkpoint round trip, ONNX parity."""

from __future__ import annotations

import io
import math

import numpy as np
import onnxruntime as ort
import pytest
import torch

from lstm_forecast import models
from lstm_forecast.models.lstm_export import export_checkpoint
from lstm_forecast.models.lstm_network import LSTMForecaster, model_from_checkpoint
from lstm_forecast.models.lstm_params import LstmParams
from lstm_forecast.models.volatility_scaling import harmonics
from lstm_forecast.onnx.contract import INPUT_NAME, OUTPUT_NAME
from lstm_forecast.pipelines.validation.checks import weight_check
from tests.models._data import training_data
from tests.models.conftest import DYNAMO
from tests.models.test_lstm import QUICK

LN2 = math.log(2.0)


def _settings(**values) -> dict:
    """One scaling feature (column 1), one horizon step unless told otherwise."""
    return {
        "features": ["v"],
        "index": [1],
        "feature_mean": [0.5],
        "feature_scale": [2.0],
        "target_scale": [1.0],
        "target_offset": [0.0],
        "intercept": [0.0],
        "slope": [[1.0]],
    } | values


def _model(settings: dict) -> LSTMForecaster:
    horizon = len(settings["intercept"])
    model = LSTMForecaster(
        n_features=3, horizon=horizon, quantiles=(0.1, 0.5, 0.9), volatility_scaling=settings
    )
    with torch.no_grad():  # z = [-1, -1 + ln 2, -1 + 2 ln 2] whatever the window
        model.head.weight.zero_()
        model.head.bias.copy_(torch.tensor([-1.0, 0.0, 0.0] * horizon))
    return model.eval()


def _window(scaled_feature: float) -> torch.Tensor:
    window = torch.randn(1, 5, 3)
    window[0, -1, 1] = scaled_feature
    return window


def test_a_neutral_correction_scales_the_standard_quantiles_by_exp_half_v():
    model = _model(_settings())
    z = torch.tensor([-1.0, -1.0 + LN2, -1.0 + 2 * LN2])
    # scaled 1.0 -> v - mean v = 1.0 * 2 = 2 -> sigma = exp(0.5 * 2) = e
    torch.testing.assert_close(model(_window(1.0))[0, 0], math.e * z)
    # scaled 0 -> v at its mean -> sigma = exp(0) = 1: the ratio is exp(0.5 * (2 - 0))
    torch.testing.assert_close(model(_window(0.0))[0, 0], z)


def test_an_untrained_scaled_model_is_the_regressions_gaussian_forecast():
    model = LSTMForecaster(
        n_features=3, horizon=1, quantiles=(0.1, 0.5, 0.9), volatility_scaling=_settings()
    ).eval()
    # Other histories, the same last bar's v (scaled 1.0 -> sigma = e): the same forecast,
    # e times the standard normal quantiles.
    out = model(torch.cat([_window(1.0), _window(1.0)]))
    normal = torch.distributions.Normal(0.0, 1.0).icdf(torch.tensor([0.1, 0.5, 0.9]))
    torch.testing.assert_close(out[0, 0], math.e * normal)
    torch.testing.assert_close(out[1, 0], math.e * normal)


def test_intercept_slope_and_the_target_scaler_enter_as_written():
    settings = _settings(
        intercept=[math.log(4.0)], slope=[[0.5]], target_scale=[2.0], target_offset=[0.25]
    )
    model = _model(settings)
    z = torch.tensor([-1.0, -1.0 + LN2, -1.0 + 2 * LN2])
    # v - mean = 2 -> log var = ln 4 + 0.5 * 2 -> sigma = 2 e^0.5, / target_scale 2 -> e^0.5
    torch.testing.assert_close(model(_window(1.0))[0, 0], math.exp(0.5) * z - 0.25)


def test_a_feature_outside_the_feature_set_is_refused_by_name():
    data, _, _ = training_data()
    params = LstmParams.model_validate(QUICK | {"volatility_scaling": "log_range_rv_24"})
    with pytest.raises(ValueError, match=r"log_range_rv_24.*feature_set=volatility"):
        models.get("lstm").fit(data, params)


def test_harmonics_are_the_multiple_angles():
    theta = np.linspace(0, 2 * np.pi, 25)
    terms = harmonics(np.sin(theta), np.cos(theta), 4)
    for k in range(1, 5):
        np.testing.assert_allclose(terms[2 * k - 2], np.cos(k * theta), atol=1e-12)
        np.testing.assert_allclose(terms[2 * k - 1], np.sin(k * theta), atol=1e-12)


@pytest.fixture(scope="module")
def trained():
    data, _, _ = training_data()
    params = LstmParams.model_validate(
        QUICK | {"volatility_scaling": ["log_high_low"], "volatility_harmonics": 2}
    )
    return data, models.get("lstm").fit(data, params).artifact


def test_the_checkpoint_reloads_with_its_buffers_and_gives_the_same_forecasts(trained):
    data, artifact = trained
    state = artifact["state_dict"]
    for name in ("feature_scale", "target_scale", "target_offset"):
        assert f"volatility.{name}" in state
    settings = artifact["hyper_parameters"]["volatility_scaling"]
    assert settings["features"] == ["log_high_low"]
    assert settings["seasonal_harmonics"] == [2]  # hour of day; basic has no weekday
    assert "volatility.seasonal_mean" in state
    buffer = io.BytesIO()
    torch.save(artifact, buffer)
    buffer.seek(0)
    reloaded = torch.load(buffer, weights_only=True)
    windows = data.windows(data.val_ends[:16])
    first = models.get("lstm").predictor(artifact)(windows)
    np.testing.assert_array_equal(models.get("lstm").predictor(reloaded)(windows), first)
    assert bool((np.diff(first, axis=-1) >= 0).all())  # still non-crossing


def test_the_onnx_export_agrees_and_holds_every_weight_bit_for_bit():
    torch.manual_seed(3)
    settings = _settings(
        index=[0, 2],
        features=["a", "b"],
        feature_mean=[-9.0, -8.0],
        feature_scale=[1.5, 0.5],
        intercept=[-17.0, -16.5],
        slope=[[0.6, 0.3], [0.5, 0.4]],
        target_scale=[0.01, 0.02],
        target_offset=[0.01, -0.02],
        seasonal_index=[0, 2],
        seasonal_harmonics=[2],
        seasonal_mean=[0.1, -0.1],
        seasonal_scale=[0.7, 0.7],
        seasonal=[[0.1, -0.2, 0.05, 0.3], [0.2, 0.1, -0.1, 0.0]],
    )
    model = LSTMForecaster(
        n_features=3,
        horizon=2,
        quantiles=(0.1, 0.5, 0.9),
        window_length=6,
        volatility_scaling=settings,
    )
    with torch.no_grad():
        model.volatility.correction.weight.normal_(0, 0.3)  # a non-neutral correction
        model.volatility.correction.bias.normal_(0, 0.3)
    checkpoint = {"state_dict": model.state_dict(), "hyper_parameters": dict(model.hparams)}
    exported = export_checkpoint(checkpoint, DYNAMO)
    windows = np.random.default_rng(0).normal(size=(7, 6, 3)).astype(np.float32)
    session = ort.InferenceSession(exported.SerializeToString(), providers=["CPUExecutionProvider"])
    onnx_out = session.run([OUTPUT_NAME], {INPUT_NAME: windows})[0]
    with torch.inference_mode():
        torch_out = model_from_checkpoint(checkpoint)(torch.from_numpy(windows)).numpy()
    np.testing.assert_allclose(onnx_out, torch_out, rtol=1e-4, atol=1e-6)
    kind = models.get("lstm")
    report = weight_check(exported, kind.graph_layouts(checkpoint))
    assert report["passed"], report["not_in_graph"]
