"""OpenVINO beside the variants, and each file's size broken down, in the variants report."""

from __future__ import annotations

import sys

import pytest

from lstm_forecast.onnx.runtimes import openvino_missing
from lstm_forecast.pipelines.variants.params import VariantsParams

from .test_nodes import _check

MISSING = openvino_missing()


@pytest.mark.skipif(MISSING is not None, reason=MISSING or "")
def test_openvino_runs_the_float_model_within_the_opt_tolerance(stage_outputs):
    _, report = _check(stage_outputs, "lstm", VariantsParams())
    entry = report["runtimes"]["openvino"]
    assert entry["verdict"] == "passed", entry["failures"]
    assert entry["parity"]["windows"] == len(stage_outputs["test"])
    assert entry["parity"]["max_abs_price_diff"] <= entry["tolerance"]["max_abs_price_diff"]
    assert report["passed"]


def test_without_openvino_the_check_is_skipped_with_the_reason(stage_outputs, monkeypatch):
    # A None entry makes `import openvino` raise ImportError, as when it is not installed.
    monkeypatch.setitem(sys.modules, "openvino", None)
    _, report = _check(stage_outputs, "ridge", VariantsParams())
    entry = report["runtimes"]["openvino"]
    assert entry["verdict"] == "skipped" and "not installed" in entry["failures"][0]
    assert report["passed"]


def test_the_size_breakdown_adds_up_to_the_file_and_keeps_the_contract(stage_outputs):
    candidates, report = _check(
        stage_outputs, "lstm", VariantsParams.model_validate({"openvino": False})
    )
    sizes = report["size_breakdown"]
    files = {"fp32": stage_outputs["lstm"]["staged"], **candidates}
    for name, model in files.items():
        parts = sizes[name]
        assert parts["total_bytes"] == len(model.SerializeToString())
        # Only the graph field's own tag and length are left over.
        assert 0 < parts["framing_bytes"] <= 6
        assert parts["metadata_bytes"] > 0
    assert sizes["int8"]["metadata_bytes"] == sizes["fp32"]["metadata_bytes"]
    assert sizes["int8"]["weights_bytes"] < sizes["fp32"]["weights_bytes"]
    assert sizes["int8"]["weights_by_type"]["int8"] > 0
    assert report["runtimes"]["openvino"]["verdict"] == "skipped"
