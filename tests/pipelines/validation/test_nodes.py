"""Validation catches real faults, and publishes only what passed."""

from __future__ import annotations

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import numpy_helper

from lstm_forecast import models
from lstm_forecast.errors import ValidationFailedError
from lstm_forecast.onnx.contract import OnnxContract
from lstm_forecast.params import OnnxRuntimeParams
from lstm_forecast.pipelines.validation import checks
from lstm_forecast.pipelines.validation.nodes import (
    forecast_test_split,
    publish_validated,
    validate_onnx,
)
from lstm_forecast.pipelines.validation.params import ToleranceParams, ValidationParams
from lstm_forecast.timeseries.preparation import scaled_arrays
from lstm_forecast.timeseries.windows import gather_windows

RUNTIME = OnnxRuntimeParams()


def _validate(outputs: dict, kind: str, model: onnx.ModelProto | None = None, **params) -> dict:
    return validate_onnx(
        model if model is not None else outputs[kind]["staged"],
        outputs[kind]["trained"],
        outputs["table"],
        outputs["scaler"],
        outputs["test"],
        ValidationParams(**params),
        RUNTIME,
        kind=kind,
    )


def _with_initializer(model: onnx.ModelProto, name: str, change) -> onnx.ModelProto:
    copy = onnx.ModelProto()
    copy.CopyFrom(model)
    for index, tensor in enumerate(copy.graph.initializer):
        if tensor.name == name:
            values = numpy_helper.to_array(tensor).copy()
            copy.graph.initializer[index].CopyFrom(numpy_helper.from_array(change(values), name))
    return copy


def _test_windows(outputs: dict) -> np.ndarray:
    matrix, _ = scaled_arrays(outputs["table"], outputs["scaler"])
    return np.ascontiguousarray(gather_windows(matrix, outputs["test"]["end_row"].to_numpy(), 8))


@pytest.mark.parametrize("kind", models.names())
def test_a_clean_export_passes_every_check(stage_outputs, kind):
    report = _validate(stage_outputs, kind)
    assert report["passed"], report["failures"]
    assert report["weight_check"]["passed"] and report["weight_check"]["weights_checked"] >= 2
    assert report["windows_compared"] == len(stage_outputs["test"])
    assert report["batch_sizes"] == [1, 7, len(stage_outputs["test"])]
    assert report["max_abs_error"] < 1e-5


def test_one_recurrent_weight_changed_by_one_percent_is_caught(stage_outputs):
    # Constant-folded into the ONNX LSTM's R at this size; 1% of one weight moves the output
    # by far less than the parity tolerance, so only the weight check can see it.
    staged = stage_outputs["lstm"]["staged"]
    name = next(
        t.name for t in staged.graph.initializer if numpy_helper.to_array(t).shape == (1, 16, 4)
    )

    def nudge(values):
        values[0, 0, 0] *= 1.01
        return values

    report = _validate(stage_outputs, "lstm", _with_initializer(staged, name, nudge))
    assert not report["passed"]
    assert any("weights not in the graph" in failure for failure in report["failures"])
    assert report["weight_check"]["not_in_graph"] == ["lstm.R_l0"]


def test_parity_is_pinned_at_the_configured_tolerance(stage_outputs):
    kind = models.get("ridge")
    trained = stage_outputs["ridge"]["trained"]
    model = stage_outputs["ridge"]["staged"]
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    windows = _test_windows(stage_outputs)
    reference = kind.predictor(trained)
    tolerance = ToleranceParams(rtol=0.0, atol=1e-4)
    shifted = lambda shift: lambda w: reference(w) + shift  # noqa: E731
    assert checks.parity_case(session, shifted(0.9e-4), windows, 7, tolerance)["passed"]
    assert not checks.parity_case(session, shifted(1.1e-4), windows, 7, tolerance)["passed"]
    relative = ToleranceParams(rtol=1e-3, atol=0.0)
    scaled = lambda factor: lambda w: reference(w) * factor  # noqa: E731
    assert checks.parity_case(session, scaled(1 + 0.9e-3), windows, 7, relative)["passed"]
    assert not checks.parity_case(session, scaled(1 + 1.2e-3), windows, 7, relative)["passed"]


def test_a_fixed_batch_axis_is_reported(stage_outputs):
    staged = onnx.ModelProto()
    staged.CopyFrom(stage_outputs["ridge"]["staged"])
    staged.graph.input[0].type.tensor_type.shape.dim[0].dim_value = 1
    report = _validate(stage_outputs, "ridge", staged)
    assert not report["passed"] and "batch axis is fixed" in report["failures"][0]


def test_a_file_without_its_contract_is_reported(stage_outputs):
    staged = onnx.ModelProto()
    staged.CopyFrom(stage_outputs["ridge"]["staged"])
    del staged.metadata_props[:]
    report = _validate(stage_outputs, "ridge", staged)
    assert not report["passed"] and report["failures"][0].startswith("contract:")


def test_publication_marks_the_contract_and_refuses_a_failed_report(stage_outputs):
    staged = stage_outputs["ridge"]["staged"]
    report = _validate(stage_outputs, "ridge")
    published = publish_validated(staged, report)
    contract = OnnxContract.from_model(published)
    assert contract.validation["passed"] and contract.validation["windows_compared"] > 0
    assert published.graph == staged.graph
    with pytest.raises(ValidationFailedError, match="was not published"):
        publish_validated(staged, {**report, "passed": False, "failures": ["parity: ..."]})


def test_test_split_forecasts_are_prices_of_the_right_bars(stage_outputs):
    staged = stage_outputs["ridge"]["staged"]
    published = publish_validated(staged, _validate(stage_outputs, "ridge"))
    table, test = stage_outputs["table"], stage_outputs["test"]
    predictions = forecast_test_split(published, table, test, RUNTIME)
    assert len(predictions) == len(test) * 3
    first = predictions.iloc[:3]
    end = test["end_row"].iloc[0]
    np.testing.assert_array_equal(first["actual_close"], table["close"].iloc[end + 1 : end + 4])
    assert (first["last_close"] == table["close"].iloc[end]).all()
    assert (predictions["q0.05"] <= predictions["q0.5"]).all()
    assert (predictions["q0.5"] <= predictions["q0.95"]).all()
