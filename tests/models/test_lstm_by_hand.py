"""The LSTM network and kind on tiny modules, with answers worked out by hand.

The monotone head: with the LSTM's weights at zero its state is zero, so the head returns
its biases b, and the quantiles are b0, b0 + softplus(b1), b0 + softplus(b1) + softplus(b2).
Biases 1, 0, ln(e - 1) give 1, 1 + ln 2, 2 + ln 2 (softplus 0 = ln 2, softplus ln(e-1) = 1).
"""

from __future__ import annotations

import logging
import math
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
import torch
from torch.utils.data import RandomSampler, SequentialSampler

from lstm_forecast.models import lstm_distributed, lstm_export
from lstm_forecast.models import lstm_network as network
from lstm_forecast.models.base import TrainedModel
from lstm_forecast.models.lstm import KIND, _onnx_gates
from lstm_forecast.models.lstm_network import (
    LSTMForecaster,
    WindowDataModule,
    WindowDataset,
    model_from_checkpoint,
)
from tests.models._data import training_data

LN2 = math.log(2.0)


def _zero_lstm(model: LSTMForecaster) -> LSTMForecaster:
    with torch.no_grad():
        for parameter in model.lstm.parameters():
            parameter.zero_()
    return model


def test_the_layers_follow_the_arguments():
    model = LSTMForecaster(n_features=3, horizon=2, quantiles=(0.1, 0.5, 0.9), hidden_size=5)
    assert (model.n_quantiles, model.horizon) == (3, 2)
    assert (model.lstm.input_size, model.lstm.hidden_size, model.lstm.num_layers) == (3, 5, 1)
    assert model.lstm.batch_first
    assert (model.head.in_features, model.head.out_features) == (5, 6)
    assert model.levels.dtype == torch.float32
    torch.testing.assert_close(model.levels, torch.tensor([0.1, 0.5, 0.9]))
    assert model._loss_windows == 0 and model._epoch_loss is None
    assert float(model._loss_sum) == 0.0
    # Dropout between LSTM layers only when there are several; always before the head.
    stacked = LSTMForecaster(n_features=3, hidden_size=4, num_layers=2, dropout=0.25)
    assert (stacked.lstm.num_layers, stacked.lstm.dropout, stacked.dropout.p) == (2, 0.25, 0.25)
    assert LSTMForecaster(n_features=3, hidden_size=4, dropout=0.25).lstm.dropout == 0.0


def test_the_monotone_head_by_hand():
    model = _zero_lstm(LSTMForecaster(n_features=2, horizon=2, quantiles=(0.1, 0.5, 0.9)))
    with torch.no_grad():
        model.head.weight.zero_()
        model.head.bias.copy_(torch.tensor([1.0, 0.0, math.log(math.e - 1), -2.0, 3.0, -40.0]))
    out = model.eval()(torch.randn(4, 7, 2))
    assert out.shape == (4, 2, 3)
    step1 = torch.tensor([1.0, 1.0 + LN2, 2.0 + LN2])
    step2 = torch.tensor([-2.0, -2.0 + math.log1p(math.e**3), -2.0 + math.log1p(math.e**3)])
    torch.testing.assert_close(out[0], torch.stack([step1, step2]), atol=1e-6, rtol=1e-6)
    torch.testing.assert_close(out[3], out[0])


def test_one_or_two_quantiles():
    single = _zero_lstm(LSTMForecaster(n_features=2, horizon=1, quantiles=(0.5,)))
    pair = _zero_lstm(LSTMForecaster(n_features=2, horizon=1, quantiles=(0.25, 0.75)))
    with torch.no_grad():
        single.head.bias.fill_(-3.0)
        pair.head.bias.copy_(torch.tensor([-3.0, 0.0]))
    window = torch.zeros(1, 3, 2)
    assert single.eval()(window).flatten().tolist() == [-3.0]  # one level: no increments
    torch.testing.assert_close(pair.eval()(window).flatten(), torch.tensor([-3.0, -3.0 + LN2]))


def test_the_forecast_reads_the_state_after_the_last_bar_of_each_window():
    torch.manual_seed(1)
    model = LSTMForecaster(n_features=2, horizon=1, quantiles=(0.5,), hidden_size=3).eval()
    window = torch.randn(2, 5, 2)
    sequence, _ = model.lstm(window)
    expected = model.head(sequence[:, -1, :]).reshape(2, 1, 1)
    torch.testing.assert_close(model(window), expected)
    # Batch-first: each row's forecast depends on that row alone.
    torch.testing.assert_close(model(window[1:]), expected[1:])


def test_pinball_loss_by_hand():
    model = LSTMForecaster(n_features=1, horizon=2, quantiles=(0.1, 0.5, 0.9))
    forecast = torch.tensor([[[0.0, 1.0, 2.0], [0.0, 0.0, 0.0]]])
    targets = torch.tensor([[1.5, -2.0]])
    # step 1, y = 1.5: errors 1.5, 0.5, -0.5 -> 0.1*1.5, 0.5*0.5, (1-0.9)*0.5 = .15 .25 .05
    # step 2, y = -2: errors -2 each -> 0.9*2, 0.5*2, 0.1*2 = 1.8 1.0 0.2
    expected = (0.15 + 0.25 + 0.05 + 1.8 + 1.0 + 0.2) / 6
    assert model.pinball_loss(forecast, targets).item() == pytest.approx(expected)
    assert model._step_loss((torch.zeros(1, 3, 1), targets)).item() == pytest.approx(
        model.pinball_loss(model(torch.zeros(1, 3, 1)), targets).item()
    )


def test_training_steps_sum_the_loss_by_window_and_log_once_an_epoch():
    torch.manual_seed(0)
    model = LSTMForecaster(n_features=2, horizon=1, quantiles=(0.5,), hidden_size=3)
    logged = []
    model.log = lambda name, value, **kwargs: logged.append((name, value, kwargs))
    first = (torch.randn(2, 4, 2), torch.randn(2, 1))
    second = (torch.randn(3, 4, 2), torch.randn(3, 1))
    losses = [model.training_step(batch, i) for i, batch in enumerate((first, second))]
    assert losses[1].item() == pytest.approx(model._step_loss(second).item())
    assert model._loss_windows == 5
    expected = (2 * losses[0].item() + 3 * losses[1].item()) / 5
    assert model.epoch_train_loss == pytest.approx(expected, rel=1e-6)
    model.on_train_epoch_end()
    assert logged == [
        ("train_loss", pytest.approx(expected, rel=1e-6), {"prog_bar": True, "sync_dist": True})
    ]
    model.training_step(first, 2)  # a new step: the cached mean is recomputed
    assert model.epoch_train_loss == pytest.approx((5 * expected + 2 * losses[0].item()) / 7)
    model.on_train_epoch_start()
    assert model._loss_windows == 0 and float(model._loss_sum) == 0.0
    assert model.epoch_train_loss == 0.0
    model.validation_step(first, 0)
    name, value, kwargs = logged[-1]
    assert name == "val_loss" and value.item() == pytest.approx(model._step_loss(first).item())
    assert kwargs == {"on_step": False, "on_epoch": True, "prog_bar": True, "sync_dist": True}


def test_adam_gets_the_learning_rate_and_weight_decay():
    model = LSTMForecaster(n_features=1, learning_rate=0.02, weight_decay=0.003)
    optimizer = model.configure_optimizers()
    assert isinstance(optimizer, torch.optim.Adam)
    assert optimizer.defaults["lr"] == 0.02 and optimizer.defaults["weight_decay"] == 0.003
    assert len(optimizer.param_groups[0]["params"]) == len(list(model.parameters()))


def _checkpoint(**overrides) -> dict:
    torch.manual_seed(2)
    model = LSTMForecaster(
        n_features=2, horizon=2, quantiles=(0.1, 0.5, 0.9), hidden_size=3, dropout=0.5,
        window_length=4, **overrides,
    )  # fmt: skip
    return {"state_dict": model.state_dict(), "hyper_parameters": dict(model.hparams)}


def test_a_checkpoint_rebuilds_the_model_in_eval_mode():
    checkpoint = _checkpoint()
    model = model_from_checkpoint(checkpoint)
    assert not model.training  # dropout 0.5 would make two calls differ
    window = torch.randn(3, 4, 2)
    torch.testing.assert_close(model(window), model(window))
    for name, tensor in checkpoint["state_dict"].items():
        torch.testing.assert_close(model.state_dict()[name], tensor)


def test_a_dataset_gathers_windows_by_end_row():
    matrix = np.arange(20, dtype=np.float32).reshape(10, 2)
    targets = np.arange(10, dtype=np.float32).reshape(10, 1) * 10
    dataset = WindowDataset(matrix, targets, np.array([3, 9, 5], np.int32), window_length=3)
    assert len(dataset) == 3
    assert dataset.end_rows.dtype == np.int64
    window, target = dataset[1]
    np.testing.assert_array_equal(window.numpy(), matrix[7:10])
    np.testing.assert_array_equal(target.numpy(), [90.0])
    windows, batch_targets = dataset.__getitems__([2, 0])
    np.testing.assert_array_equal(windows.numpy(), np.stack([matrix[3:6], matrix[1:4]]))
    np.testing.assert_array_equal(batch_targets.numpy(), [[50.0], [30.0]])
    batch = (windows, batch_targets)
    assert network._keep_batch(batch) is batch


def test_the_data_module_shuffles_training_windows_only():
    matrix = np.arange(40, dtype=np.float64).reshape(20, 2)
    targets = np.ones((20, 1))
    module = WindowDataModule(matrix, targets, np.arange(2, 12), np.arange(12, 20), 3, 4)
    assert module.matrix.dtype == np.float32 and module.matrix.flags["C_CONTIGUOUS"]
    assert module.targets.dtype == np.float32
    train, val = module.train_dataloader(), module.val_dataloader()
    assert isinstance(train.sampler, RandomSampler)
    assert isinstance(val.sampler, SequentialSampler)
    assert train.batch_size == val.batch_size == 4
    assert train.collate_fn is network._keep_batch
    assert train.dataset.window_length == 3
    np.testing.assert_array_equal(train.dataset.end_rows, np.arange(2, 12))
    np.testing.assert_array_equal(val.dataset.end_rows, np.arange(12, 20))
    windows, batch_targets = next(iter(val))
    assert windows.shape == (4, 3, 2) and batch_targets.shape == (4, 1)
    np.testing.assert_array_equal(windows[0].numpy(), matrix[10:13])


def test_the_kind_refuses_to_be_a_rank_other_than_zero(monkeypatch):
    monkeypatch.setattr(lstm_distributed, "fit_distributed", lambda data, params: None)
    assert KIND.fit_rank(None, None) is None
    with pytest.raises(RuntimeError) as err:
        KIND.fit(None, None)
    assert str(err.value) == (
        "This process is a rank other than 0 of a launched job: under torchrun run "
        "`-m lstm_forecast.models.train_distributed`, not `kedro run`, so that only "
        "rank 0 writes outputs."
    )


def test_the_kind_adds_the_meta_block_and_logs_the_fit(monkeypatch, caplog):
    data, _, _ = training_data(rows=60)
    summary = {
        "epochs_run": 3,
        "train_seconds": 1.25,
        "world_size": 2,
        "best_val_loss": 0.123456,
        "best_epoch": 1,
    }
    history = pd.DataFrame({"epoch": [0, 1, 2]})
    fitted = TrainedModel({"state_dict": {}, "meta": "old"}, history, summary)
    seen = []
    monkeypatch.setattr(
        lstm_distributed, "fit_distributed", lambda *args: seen.append(args) or fitted
    )
    with caplog.at_level(logging.INFO, logger="lstm_forecast.models.lstm"):
        trained = KIND.fit(data, "params")
    assert seen == [(data, "params")]
    assert trained.artifact == {"state_dict": {}, "meta": data.describe("lstm")}
    assert trained.history is history and trained.summary is summary
    assert caplog.messages == [
        "Trained the LSTM for 3 epochs in 1.2 s on 2 process(es); best val_loss 0.12346 at epoch 1."
    ]


def test_the_predictor_is_the_eval_model_on_any_window_layout():
    checkpoint = _checkpoint()
    windows = np.random.default_rng(0).normal(size=(5, 4, 2)).astype(np.float32)
    reversed_view = windows[::-1]  # negative strides: torch needs a contiguous copy
    predict = KIND.predictor(checkpoint)
    with torch.inference_mode():
        expected = model_from_checkpoint(checkpoint)(torch.from_numpy(windows[::-1].copy()))
    np.testing.assert_array_equal(predict(reversed_view), expected.numpy())
    assert predict(windows).dtype == np.float32


def test_the_kind_exports_through_the_guarded_exporter(monkeypatch):
    calls = []
    monkeypatch.setattr(
        lstm_export, "export_checkpoint", lambda *args: calls.append(args) or "model"
    )
    export = SimpleNamespace(exporter="dynamo", model_dump=lambda: {"opset": 18})
    assert KIND.to_onnx({"a": 1}, export) == "model"
    assert calls == [({"a": 1}, {"opset": 18})]
    assert KIND.exporter(export) == "torch.onnx dynamo"
    assert (KIND.name, KIND.dynamic_window) == ("lstm", True)


def test_weights_leave_out_the_levels_and_are_float32():
    checkpoint = _checkpoint()
    weights = KIND.weights(checkpoint)
    assert "levels" not in weights
    assert set(weights) == set(checkpoint["state_dict"]) - {"levels"}
    for name, value in weights.items():
        assert isinstance(value, np.ndarray) and value.dtype == np.float32
        np.testing.assert_array_equal(value, checkpoint["state_dict"][name].numpy())


def test_onnx_gate_order_by_hand():
    # torch's blocks i, f, g, o (2 rows each) -> ONNX's i, o, f, c.
    tensor = np.arange(16, dtype=np.float32).reshape(8, 2)
    gates = _onnx_gates(tensor)
    assert gates.shape == (8, 2) and gates.flags["C_CONTIGUOUS"]
    assert gates[:, 0].tolist() == [0, 2, 12, 14, 4, 6, 8, 10]
    np.testing.assert_array_equal(gates[:, 1], gates[:, 0] + 1)


def test_the_folded_layout_holds_each_layers_gates_in_onnx_order():
    torch.manual_seed(4)
    model = LSTMForecaster(n_features=2, horizon=1, quantiles=(0.5,), hidden_size=2, num_layers=2)
    checkpoint = {"state_dict": model.state_dict(), "hyper_parameters": dict(model.hparams)}
    plain, folded = KIND.graph_layouts(checkpoint)
    assert set(plain) == set(KIND.weights(checkpoint))
    assert set(folded) == {
        "head.weight",
        "head.bias",
        *(f"lstm.{name}_l{layer}" for name in "WRB" for layer in (0, 1)),
    }
    for layer in (0, 1):
        w, r = plain[f"lstm.weight_ih_l{layer}"], plain[f"lstm.weight_hh_l{layer}"]
        b_ih, b_hh = plain[f"lstm.bias_ih_l{layer}"], plain[f"lstm.bias_hh_l{layer}"]
        np.testing.assert_array_equal(folded[f"lstm.W_l{layer}"], _onnx_gates(w)[None])
        np.testing.assert_array_equal(folded[f"lstm.R_l{layer}"], _onnx_gates(r)[None])
        assert folded[f"lstm.B_l{layer}"].shape == (1, 16)
        np.testing.assert_array_equal(folded[f"lstm.B_l{layer}"][0, :8], _onnx_gates(b_ih))
        np.testing.assert_array_equal(folded[f"lstm.B_l{layer}"][0, 8:], _onnx_gates(b_hh))
    np.testing.assert_array_equal(folded["head.bias"], plain["head.bias"])
