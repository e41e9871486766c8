"""Validation catches real faults: perturbed weights, fixed batch axes, broken graphs."""

from __future__ import annotations

import io

import numpy as np
import onnx
import pandas as pd
import pytest
import torch
from onnx import numpy_helper

from lstm_forecast.errors import ValidationFailedError
from lstm_forecast.onnx_contract import build_metadata, read_metadata, stamp
from lstm_forecast.pipelines.export.nodes import export_onnx
from lstm_forecast.pipelines.features.nodes import (
    build_features,
    fit_scaler,
    make_windows,
    split_chronologically,
)
from lstm_forecast.pipelines.training.model import model_from_checkpoint
from lstm_forecast.pipelines.training.nodes import train_ridge
from lstm_forecast.pipelines.validation.nodes import (
    assert_validation_passed,
    forecast_test_split,
    validate_onnx_parity,
)
from tests.pipelines.conftest import WINDOW
from tests.synthetic import make_candles

FEATURES = {
    "window_length": WINDOW,
    "target": "log_return",
    "split": {"train_fraction": 0.6, "val_fraction": 0.2, "val_start": None, "test_start": None},
}
VALIDATION = {
    "tolerance": {"rtol": 1e-3, "atol": 1e-5},
    "batch_sizes": [1, 7, "all"],
    "onnxruntime": {
        "intra_op_num_threads": 1,
        "inter_op_num_threads": 1,
        "graph_optimization_level": "all",
    },
}


@pytest.fixture(scope="module")
def data():
    table = build_features(make_candles(500, gaps={250: 2}), FEATURES)
    boundaries = split_chronologically(table, FEATURES)
    scaler = fit_scaler(table, boundaries, FEATURES)
    scaled, train, _, test = make_windows(table, scaler, boundaries, WINDOW)
    return {
        "table": table,
        "boundaries": boundaries,
        "scaler": scaler,
        "scaled": scaled,
        "train": train,
        "test": test,
    }


def _lstm_metadata(data: dict, exporter: str) -> dict[str, str]:
    return build_metadata(
        model_kind="lstm",
        feature_scaler=data["scaler"],
        window_length=WINDOW,
        interval="1h",
        split_boundaries=data["boundaries"],
        exporter=exporter,
    )


@pytest.fixture(scope="module")
def lstm_onnx(dynamo_export, data):
    metadata = _lstm_metadata(data, "torch dynamo")
    return stamp(
        onnx.ModelProto.FromString(dynamo_export.SerializeToString()), metadata, doc="test"
    )


@pytest.fixture(scope="module")
def ridge(data):
    return train_ridge(data["scaled"], data["train"], {"alpha": 1.0}, WINDOW)


@pytest.fixture(scope="module")
def ridge_onnx(ridge, data):
    export = {"model_kind": "ridge", "converter": "skl2onnx", "opset": 18}
    return export_onnx(ridge, data["scaler"], data["boundaries"], export, "1h")


def _validate(model, trained, data):
    return validate_onnx_parity(model, trained, data["scaled"], data["test"], VALIDATION)


def _perturb_weights(model: onnx.ModelProto, scale: float) -> onnx.ModelProto:
    """Scale the first weight tensor: an initializer (torch) or a node attribute (skl2onnx)."""
    broken = onnx.ModelProto.FromString(model.SerializeToString())
    for initializer in broken.graph.initializer:
        values = numpy_helper.to_array(initializer)
        if values.dtype == np.float32 and values.size > 1:
            initializer.CopyFrom(numpy_helper.from_array(values * scale, initializer.name))
            return broken
    for node in broken.graph.node:
        for attribute in node.attribute:
            if attribute.type == onnx.AttributeProto.FLOATS and len(attribute.floats) > 1:
                attribute.floats[:] = [value * scale for value in attribute.floats]
                return broken
    raise AssertionError("no weights to perturb")


@pytest.mark.parametrize("model_name", ["lstm", "ridge"])
def test_a_correct_export_passes_every_check(model_name, request, checkpoint, data):
    model = request.getfixturevalue(f"{model_name}_onnx")
    trained = checkpoint if model_name == "lstm" else request.getfixturevalue("ridge")
    report = _validate(model, trained, data)
    assert report["passed"], report["failures"]
    assert report["checker"]["passed"] and report["symbolic_dims"]["batch_symbolic"]
    assert report["windows_compared"] == len(data["test"])
    assert report["batch_sizes"] == [1, 7, len(data["test"])]
    assert report["max_abs_error"] < 1e-5
    assert report["window_lengths"] == ([WINDOW // 2, WINDOW] if model_name == "lstm" else [WINDOW])
    assert_validation_passed(report)  # does not raise


@pytest.mark.parametrize("model_name", ["lstm", "ridge"])
def test_a_perturbed_weight_fails_parity_through_the_shared_code(
    model_name, request, checkpoint, data
):
    model = request.getfixturevalue(f"{model_name}_onnx")
    trained = checkpoint if model_name == "lstm" else request.getfixturevalue("ridge")
    report = _validate(_perturb_weights(model, 1.01), trained, data)
    assert not report["passed"]
    assert any("parity at batch size 1" in failure for failure in report["failures"])
    assert report["max_abs_error"] > 1e-5
    with pytest.raises(
        ValidationFailedError, match=f"(?s){model_name} model failed.*parity.*max abs error"
    ):
        assert_validation_passed(report)


# The legacy exporter is used on purpose here: it is the easy way to pin the batch axis.
@pytest.mark.filterwarnings("ignore::DeprecationWarning", "ignore::torch.jit.TracerWarning")
@pytest.mark.filterwarnings("ignore:Exporting a model to ONNX with a batch_size:UserWarning")
def test_a_fixed_batch_axis_fails_the_symbolic_dimension_check(checkpoint, data):
    model = model_from_checkpoint(checkpoint)
    buffer = io.BytesIO()
    torch.onnx.export(
        model,
        (torch.zeros(1, WINDOW, 6),),
        buffer,
        dynamo=False,
        opset_version=17,
        input_names=["window"],
        output_names=["forecast"],
    )
    fixed = onnx.load_model_from_string(buffer.getvalue())
    report = _validate(stamp(fixed, _lstm_metadata(data, "torchscript"), doc=""), checkpoint, data)
    assert not report["passed"]
    assert report["symbolic_dims"]["input"][0] == 1
    assert any("batch axis is fixed" in failure for failure in report["failures"])


def test_an_invalid_graph_fails_the_checker(lstm_onnx, checkpoint, data):
    broken = onnx.ModelProto.FromString(lstm_onnx.SerializeToString())
    broken.graph.node[0].input[0] = "no_such_tensor"
    report = _validate(broken, checkpoint, data)
    assert not report["passed"] and not report["checker"]["passed"]
    assert "onnx.checker" in report["failures"][0]


def test_metadata_carries_what_a_consumer_needs(lstm_onnx, data):
    metadata = read_metadata(lstm_onnx)
    assert metadata["feature_names"] == data["scaler"]["feature_names"]
    assert metadata["window_length"] == WINDOW
    assert metadata["interval"] == "1h"
    assert metadata["target"]["kind"] == "log_return"
    assert metadata["scaler"]["feature_mean"] == data["scaler"]["mean"]
    assert metadata["training_range"]["end_before"] == data["boundaries"]["val_start"]
    assert lstm_onnx.producer_name == "lstm-forecast"
    assert {"project_version", "exporter", "model_kind"} <= set(metadata)


def test_test_forecasts_are_prices_from_the_onnx_metadata(lstm_onnx, checkpoint, data):
    predictions = forecast_test_split(
        lstm_onnx, data["scaled"], data["test"], data["table"], VALIDATION
    )
    ends = data["test"]["end_row"].to_numpy()
    close = data["table"]["close"].to_numpy()
    np.testing.assert_array_equal(predictions["last_close"], close[ends])
    np.testing.assert_array_equal(predictions["actual_close"], close[ends + 1])
    # Recompute one forecast by hand from torch and the scaler parameters.
    names = data["scaler"]["feature_names"]
    window = data["scaled"][names].to_numpy()[ends[0] - WINDOW + 1 : ends[0] + 1][None].copy()
    with torch.inference_mode():
        scaled = model_from_checkpoint(checkpoint)(torch.from_numpy(window)).item()
    log_return = scaled * data["scaler"]["target_scale"] + data["scaler"]["target_mean"]
    assert predictions["forecast_close"].iloc[0] == pytest.approx(
        close[ends[0]] * np.exp(log_return), rel=1e-6
    )
    assert isinstance(predictions["target_time"].iloc[0], pd.Timestamp)
