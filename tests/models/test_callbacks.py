"""Extra Lightning callbacks for a fit, and Optuna's pruning callback on this project's
Trainer (``pytorch_lightning``, not ``lightning``): it must stop the fit, not just warn."""

from __future__ import annotations

import optuna
import pytest
from pytorch_lightning import Callback

from lstm_forecast import models
from lstm_forecast.models.callbacks import current, extra_callbacks, pruning_callback
from lstm_forecast.models.lstm_params import LstmParams

from ._data import training_data

PARAMS = LstmParams.model_validate(
    {
        "hidden_size": 4,
        "batch_size": 64,
        "trainer": {"max_epochs": 3, "enable_progress_bar": False},
        "logger": {"kind": "none"},
    }
)


class Epochs(Callback):
    def __init__(self) -> None:
        self.ended = 0

    def on_train_epoch_end(self, trainer, pl_module) -> None:
        self.ended += 1


def test_extra_callbacks_nest_and_are_gone_after_the_block():
    first, second = object(), object()
    with extra_callbacks(first):
        with extra_callbacks(second):
            assert current() == [first, second]
        assert current() == [first]
    assert current() == []


def test_an_extra_callback_sees_every_epoch_of_a_real_fit():
    data, _, _ = training_data()
    counter = Epochs()
    with extra_callbacks(counter):
        trained = models.get("lstm").fit(data, PARAMS)
    assert counter.ended == trained.summary["epochs_run"] == 3


def test_the_pruning_callback_stops_the_fit_at_the_first_epoch():
    data, _, _ = training_data()
    # Any loss above -1 is pruned: the first validation epoch must end the fit.
    study = optuna.create_study(pruner=optuna.pruners.ThresholdPruner(upper=-1.0))
    trial = study.ask()
    callback = pruning_callback(trial)
    assert isinstance(callback, Callback)
    counter = Epochs()
    with pytest.raises(optuna.TrialPruned, match="epoch 0"), extra_callbacks(callback, counter):
        models.get("lstm").fit(data, PARAMS)
    assert counter.ended == 0  # stopped in the first epoch's validation
    assert list(study.trials[0].intermediate_values) == [0]  # the val_loss was reported


def test_without_pruning_the_same_trial_reports_every_epoch():
    data, _, _ = training_data()
    study = optuna.create_study(pruner=optuna.pruners.NopPruner())
    trial = study.ask()
    with extra_callbacks(pruning_callback(trial)):
        models.get("lstm").fit(data, PARAMS)
    values = study.trials[0].intermediate_values
    assert sorted(values) == [0, 1, 2] and all(v > 0 for v in values.values())
