"""Training stage: every registered kind, its artefact's meta block, and lineage checks."""

from __future__ import annotations

import pytest

from lstm_forecast import models
from lstm_forecast.errors import LineageError
from lstm_forecast.lineage import fingerprint_json
from lstm_forecast.pipelines.features.nodes import build_features
from lstm_forecast.pipelines.training.nodes import train_model
from tests.pipelines.conftest import FEATURES, TRAINING
from tests.synthetic import make_candles


@pytest.mark.parametrize("kind", models.names())
def test_each_kind_records_what_it_was_trained_on(stage_outputs, kind):
    meta = stage_outputs[kind]["trained"]["meta"]
    assert meta["kind"] == kind
    assert meta["window_length"] == FEATURES.window_length and meta["horizon"] == FEATURES.horizon
    assert meta["quantiles"] == list(TRAINING.quantiles)
    assert meta["lineage"]["scaler"] == fingerprint_json(stage_outputs["scaler"])


def test_lstm_summary_and_history(stage_outputs):
    summary, history = stage_outputs["lstm"]["summary"], stage_outputs["lstm"]["history"]
    assert summary["train_windows"] == len(stage_outputs["train"])
    assert list(history.columns) == ["epoch", "train_loss", "val_loss"]
    assert len(history) == summary["epochs_run"]


def test_windows_from_another_feature_table_are_refused(stage_outputs):
    other = build_features(make_candles(300, seed=5), FEATURES)
    with pytest.raises(LineageError):
        train_model(
            other,
            stage_outputs["scaler"],
            stage_outputs["train"],
            stage_outputs["val"],
            TRAINING,
            kind="ridge",
        )
