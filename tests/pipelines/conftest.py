"""Stage outputs built by the real nodes on small synthetic data, shared by stage tests."""

from __future__ import annotations

import pytest

from lstm_forecast import models
from lstm_forecast.models.training_params import TrainingParams
from lstm_forecast.pipelines.export.nodes import export_onnx
from lstm_forecast.pipelines.export.params import ExportParams
from lstm_forecast.pipelines.features.nodes import (
    build_features,
    fit_feature_scaler,
    make_windows,
    split_chronologically,
)
from lstm_forecast.pipelines.features.params import FeaturesParams
from lstm_forecast.pipelines.training.nodes import train_model
from tests.synthetic import make_candles

FEATURES = FeaturesParams(
    window_length=8, horizon=3, split={"train_fraction": 0.6, "val_fraction": 0.2}
)
TRAINING = TrainingParams.model_validate(
    {
        "seed": 7,
        "quantiles": [0.05, 0.5, 0.95],
        "lstm": {
            "hidden_size": 4,
            "batch_size": 32,
            "learning_rate": 0.01,
            "trainer": {"max_epochs": 2, "enable_progress_bar": False},
            "early_stopping": {"patience": 1},
            "logger": {"kind": "none"},
        },
        "ridge": {"alpha": 1.0},
    }
)
QUALITY = {"interval": "1h"}


@pytest.fixture(scope="session")
def feature_outputs() -> dict:
    """Features, split, scaler and windows: the torch-free part, for the fast unit tests."""
    candles = make_candles(500, gaps={250: 2})
    table = build_features(candles, FEATURES)
    split = split_chronologically(table, FEATURES)
    scaler = fit_feature_scaler(table, split, FEATURES)
    train, val, test = make_windows(table, scaler, split, FEATURES)
    return {
        "candles": candles,
        "table": table,
        "split": split,
        "scaler": scaler,
        "train": train,
        "val": val,
        "test": test,
    }


@pytest.fixture(scope="session")
def stage_outputs(feature_outputs) -> dict:
    """Features, split, scaler, windows; per kind the trained model and the staged ONNX."""
    outputs = dict(feature_outputs)
    table, scaler, split = outputs["table"], outputs["scaler"], outputs["split"]
    train, val = outputs["train"], outputs["val"]
    for kind in models.names():
        trained, history, summary = train_model(table, scaler, train, val, TRAINING, kind=kind)
        outputs[kind] = {
            "trained": trained,
            "history": history,
            "summary": summary,
            "staged": export_onnx(trained, scaler, split, QUALITY, ExportParams(), kind=kind),
        }
    return outputs
