"""What is served: validated files only; a bad publish never replaces the served one."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import onnx
import pandas as pd
import pytest

from lstm_forecast.serving.forecasting import checked_arrays, run
from lstm_forecast.serving.latest import arrays
from lstm_forecast.serving.registry import Registry


@pytest.fixture
def models(served_project: Path, tmp_path: Path) -> Path:
    shutil.copytree(served_project / "data", tmp_path / "data")
    return tmp_path / "data"


def _registry(data: Path) -> Registry:
    registry = Registry(data / "06_models", data / "08_reporting", threads=1)
    registry.reload()
    return registry


def republished(path: Path, note: str = "republished", validation: object = "keep") -> bytes:
    """The same forecaster with other bytes (a new doc string), or another validation record."""
    model = onnx.load(path)
    model.doc_string = note
    if validation != "keep":
        for prop in model.metadata_props:
            if prop.key == "validation":
                prop.value = json.dumps(validation)
    return model.SerializeToString()


def publish(path: Path, payload: bytes) -> None:
    """Replace ``path`` atomically, as the project's datasets do (write beside, then rename)."""
    staged = path.with_name(path.name + ".tmp")
    staged.write_bytes(payload)
    os.replace(staged, path)


def test_only_forecasters_are_served_and_networks_alone_are_ignored(models):
    served = _registry(models).catalogue
    assert set(served.models) == {
        (kind, variant) for kind in ("lstm", "ridge") for variant in ("fp32", "opt", "int8")
    }
    assert served.refused == {}


def test_an_unvalidated_forecaster_is_refused_with_the_reason(models):
    path = models / "06_models/ridge.forecaster.onnx"
    path.write_bytes(republished(path, validation=None))
    served = _registry(models).catalogue
    assert ("ridge", "fp32") not in served.models
    assert "does not record a passed validation" in served.refused[path.name].reason


def test_a_corrupt_or_unvalidated_publish_never_replaces_the_served_file(models):
    path = models / "06_models/forecaster.onnx"
    registry = _registry(models)
    before = registry.catalogue.models[("lstm", "fp32")]
    for bad in (b"\x08\x07garbage", republished(path, validation={"passed": False})):
        publish(path, bad)
        assert registry.changed()
        report = registry.reload()
        assert report["refused"] == ["forecaster.onnx"]
        assert registry.catalogue.models[("lstm", "fp32")] is before


def test_a_valid_republish_is_swapped_in_and_the_old_session_still_answers(models):
    path = models / "06_models/forecaster.onnx"
    registry = _registry(models)
    old = registry.catalogue.models[("lstm", "fp32")]
    publish(path, republished(path))
    assert registry.reload()["loaded"] == ["forecaster.onnx"]
    new = registry.catalogue.models[("lstm", "fp32")]
    assert new.fingerprint != old.fingerprint
    # A request that took the old model before the swap finishes on it.
    candles = arrays(pd.read_parquet(models / "02_intermediate/candles.parquet").tail(13))
    values, times = checked_arrays(old, [(*candles, "/candles")])
    prices_old, ok = run(old, values, times)
    prices_new, _ = run(new, values, times)
    assert ok.all() and (prices_old == prices_new).all()


def test_a_variant_checked_against_another_fp32_is_refused_as_stale(models):
    report_path = models / "08_reporting/lstm_forecaster_variants_report.json"
    report = json.loads(report_path.read_text())
    report["fp32"]["sha256"] = "0" * 64
    report_path.write_text(json.dumps(report))
    served = _registry(models).catalogue
    assert ("lstm", "int8") not in served.models and ("lstm", "fp32") in served.models
    assert "stale" in served.refused["forecaster.int8.onnx"].reason


def test_a_variant_the_report_failed_is_refused(models):
    report_path = models / "08_reporting/ridge_forecaster_variants_report.json"
    report = json.loads(report_path.read_text())
    report["variants"]["opt"]["verdict"] = "failed"
    report_path.write_text(json.dumps(report))
    served = _registry(models).catalogue
    assert "verdict 'failed'" in served.refused["ridge.forecaster.opt.onnx"].reason


def test_a_file_whose_name_and_contract_disagree_is_refused(models):
    folder = models / "06_models"
    shutil.copy2(folder / "ridge.forecaster.onnx", folder / "forecaster.onnx")
    served = _registry(models).catalogue
    assert "model kind 'ridge'" in served.refused["forecaster.onnx"].reason
