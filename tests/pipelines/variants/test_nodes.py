"""Variants are compared with the float file in prices and published only within tolerance."""

from __future__ import annotations

import json

import onnx
import pytest

from lstm_forecast import models
from lstm_forecast.datasets.onnx_variant_dataset import DroppedVariant, OnnxVariantDataset
from lstm_forecast.errors import ValidationFailedError
from lstm_forecast.onnx.contract import OnnxContract
from lstm_forecast.onnx.optimisation import QuantisationError
from lstm_forecast.params import OnnxRuntimeParams
from lstm_forecast.pipelines.variants.nodes import (
    check_model_variants,
    optimise_variant,
    publish_variant,
    quantise_variant,
)
from lstm_forecast.pipelines.variants.params import VariantsParams

RUNTIME = OnnxRuntimeParams()


def _check(outputs: dict, kind: str, params: VariantsParams) -> tuple[dict, dict]:
    fp32 = outputs[kind]["staged"]
    candidates = {"opt": optimise_variant(fp32, params), "int8": quantise_variant(fp32, params)}
    report = check_model_variants(
        fp32, *candidates.values(), outputs["table"], outputs["test"], params, RUNTIME, kind=kind
    )
    return candidates, report


@pytest.mark.parametrize("kind", models.names())
def test_variants_within_tolerance_are_published_with_their_parity(stage_outputs, kind):
    candidates, report = _check(stage_outputs, kind, VariantsParams())
    assert report["passed"]
    assert report["windows_compared"] == len(stage_outputs["test"])
    int8 = report["variants"]["int8"]
    assert int8["verdict"] == "passed" and int8["parity"]["max_abs_price_diff"] > 0
    assert int8["quantised_ops"].get("MatMulInteger") == 1
    if kind == "lstm":
        assert int8["quantised_ops"]["DynamicQuantizeLSTM"] == 1
    assert report["variants"]["opt"]["parity"]["max_abs_price_diff"] < 0.01
    for variant, candidate in candidates.items():
        published = publish_variant(candidate, report, variant=variant)
        record = json.loads({p.key: p.value for p in published.metadata_props}["variant"])
        assert record["name"] == variant and record["source_sha256"] == report["fp32"]["sha256"]
        assert OnnxContract.from_model(published) == OnnxContract.from_model(
            stage_outputs[kind]["staged"]
        )


def test_an_impossibly_tight_tolerance_fails_with_the_figures(stage_outputs):
    params = VariantsParams.model_validate({"tolerance": {"int8": {"max_abs_price_diff": 0.0}}})
    candidates, report = _check(stage_outputs, "lstm", params)
    assert not report["passed"]
    assert report["variants"]["int8"]["verdict"] == "failed"
    assert report["variants"]["opt"]["verdict"] == "passed"
    for variant in ("opt", "int8"):  # nothing of the stage is published
        with pytest.raises(ValidationFailedError, match=r"int8: max_abs_price_diff \d.* > 0"):
            publish_variant(candidates[variant], report, variant=variant)


def test_on_failure_drop_drops_the_variant_and_removes_a_stale_file(stage_outputs, tmp_path):
    params = VariantsParams.model_validate(
        {"on_failure": "drop", "tolerance": {"int8": {"mean_abs_price_diff": 0.0}}}
    )
    candidates, report = _check(stage_outputs, "lstm", params)
    assert report["passed"]
    assert report["variants"]["int8"]["verdict"] == "dropped"
    assert "mean_abs_price_diff" in report["variants"]["int8"]["failures"][0]
    dropped = publish_variant(candidates["int8"], report, variant="int8")
    assert isinstance(dropped, DroppedVariant)
    dataset = OnnxVariantDataset(filepath=str(tmp_path / "model.int8.onnx"))
    dataset.save(candidates["int8"])  # a file from an earlier run
    dataset.save(dropped)
    assert not (tmp_path / "model.int8.onnx").exists()
    with pytest.raises(Exception, match="variants stage dropped it"):
        dataset.load()
    assert isinstance(publish_variant(candidates["opt"], report, variant="opt"), onnx.ModelProto)


def test_nothing_quantised_fails_the_step_or_is_dropped(stage_outputs):
    fp32 = stage_outputs["lstm"]["staged"]
    # The LSTM's head is a Gemm: asking for MatMul only leaves nothing to quantise.
    settings = {"int8": {"op_types": ["MatMul"]}}
    with pytest.raises(QuantisationError, match="Nothing to quantise"):
        quantise_variant(fp32, VariantsParams.model_validate(settings))
    dropped = quantise_variant(
        fp32, VariantsParams.model_validate(settings | {"on_failure": "drop"})
    )
    assert isinstance(dropped, DroppedVariant) and "Nothing to quantise" in dropped.reason


def test_an_unknown_key_is_refused_with_the_closest_one():
    with pytest.raises(ValueError, match="did you mean 'max_abs_price_diff'"):
        VariantsParams.model_validate({"tolerance": {"int8": {"max_abs_price_dif": 1.0}}})
