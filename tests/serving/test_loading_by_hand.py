"""Loading one published forecaster, and every refusal, called directly on the smoke run's files.

The answers are worked out by hand: the identity the file must carry, the exact refusal
sentence for each way a file can be wrong, the publish time of a known mtime.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path

import numpy as np
import onnx
import pytest

from lstm_forecast.onnx.contract import OnnxContract
from lstm_forecast.serving.loading import (
    FileSignature,
    LoadedForecaster,
    Refused,
    _assets,
    load_forecaster,
)

# 2023-11-14T22:13:20.5Z in nanoseconds: the publish time every answer then names.
MTIME_NS = 1_700_000_000_500_000_000
PUBLISHED_AT = "2023-11-14T22:13:20.500000+00:00"


@pytest.fixture(scope="module")
def published(smoke_project: Path) -> Path:
    """The smoke run's published models folder (read only)."""
    return smoke_project / "data/06_models"


@pytest.fixture(scope="module")
def reporting(smoke_project: Path) -> Path:
    return smoke_project / "data/08_reporting"


def _load(path: Path, reporting_dir: Path, threads: int = 1) -> LoadedForecaster | Refused:
    signature = FileSignature(path.name, 123, MTIME_NS, 456)
    return load_forecaster(path, signature, reporting_dir, threads)


def _restamped(source: Path, target: Path, **props: object) -> Path:
    """``source`` written to ``target`` with some contract keys replaced (JSON values)."""
    model = onnx.load(source)
    values = {p.key: p.value for p in model.metadata_props}
    values |= {key: json.dumps(value) for key, value in props.items()}
    del model.metadata_props[:]
    onnx.helper.set_model_props(model, values)
    target.write_bytes(model.SerializeToString())
    return target


def test_the_published_lstm_forecaster_loads_with_its_identity(published, reporting):
    path = published / "forecaster.onnx"
    payload = path.read_bytes()
    signature = FileSignature("forecaster.onnx", 123, MTIME_NS, 456)
    loaded = load_forecaster(path, signature, reporting, 1)
    assert isinstance(loaded, LoadedForecaster)
    contract = OnnxContract.from_model(onnx.load(path))
    fingerprint = hashlib.sha256(payload).hexdigest()
    assert (loaded.kind, loaded.variant, loaded.signature) == ("lstm", "fp32", signature)
    assert loaded.fingerprint == fingerprint and loaded.contract == contract
    assert loaded.interval_s == 3600  # "1h"
    assert loaded.published_at == PUBLISHED_AT
    assert loaded.assets == ("BTCUSDT", "ETHUSDT")  # forecaster.json of the default assets
    assert loaded.bars_needed == contract.context_length + 1
    assert loaded.identity == {
        "kind": "lstm",
        "variant": "fp32",
        "fingerprint": fingerprint,
        "trained_on": PUBLISHED_AT,
        "assets": ["BTCUSDT", "ETHUSDT"],
        "training_range": contract.training_range,
        "validation": contract.validation,
    }
    # The session is the file's graph: it gives the sidecar's reference prices.
    reference = json.loads((published / "forecaster.json").read_text())["reference_example"]
    prices = loaded.session.run(
        ["close_quantiles"],
        {
            "candles": np.array(reference["candles"])[None],
            "open_time": np.array(reference["open_time"], dtype=np.int64)[None],
        },
    )[0][0]
    np.testing.assert_allclose(
        prices, reference["close_quantiles"], rtol=reference["relative_tolerance"]
    )


def test_the_session_takes_the_thread_settings(published, reporting):
    loaded = _load(published / "ridge.forecaster.onnx", reporting, threads=2)
    assert (loaded.kind, loaded.variant, loaded.assets) == ("ridge", "fp32", ("BTCUSDT", "ETHUSDT"))
    options = loaded.session.get_session_options()
    assert (options.intra_op_num_threads, options.inter_op_num_threads) == (2, 1)


def test_a_variant_that_passed_against_the_published_fp32_loads(published, reporting):
    loaded = _load(published / "forecaster.int8.onnx", reporting)
    assert isinstance(loaded, LoadedForecaster), loaded
    assert (loaded.kind, loaded.variant) == ("lstm", "int8")
    assert loaded.assets == ("BTCUSDT", "ETHUSDT")  # the fp32 file's sidecar


def test_file_signature_is_the_files_stat(tmp_path):
    path = tmp_path / "forecaster.onnx"
    path.write_bytes(b"12345")
    os.utime(path, ns=(MTIME_NS, MTIME_NS))
    stat = path.stat()
    assert FileSignature.of(path) == FileSignature("forecaster.onnx", 5, MTIME_NS, stat.st_ino)


def test_unreadable_files_are_refused_with_the_error(tmp_path, reporting):
    missing = _load(tmp_path / "forecaster.onnx", reporting)
    assert isinstance(missing, Refused)
    assert missing.signature == FileSignature("forecaster.onnx", 123, MTIME_NS, 456)
    assert missing.reason == (
        "cannot be read as a forecaster: FileNotFoundError: [Errno 2] No such file or "
        f"directory: '{tmp_path / 'forecaster.onnx'}'"
    )
    garbage = tmp_path / "ridge.forecaster.onnx"
    garbage.write_bytes(b"not a model")
    refused = _load(garbage, reporting)
    assert refused.reason.startswith("cannot be read as a forecaster: DecodeError: ")
    no_contract = tmp_path / "forecaster.opt.onnx"
    model = onnx.helper.make_model(
        onnx.helper.make_graph(
            [onnx.helper.make_node("Identity", ["x"], ["y"])],
            "plain",
            [onnx.helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, [1])],
            [onnx.helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, [1])],
        )
    )
    no_contract.write_bytes(model.SerializeToString())
    refused = _load(no_contract, reporting)
    assert refused.reason.startswith(
        "cannot be read as a forecaster: ArtifactError: The ONNX model's metadata_props do "
        "not hold a valid lstm-forecast contract (The contract lacks ["
    )


def test_a_network_file_named_as_a_forecaster_is_refused(published, tmp_path, reporting):
    shutil.copy2(published / "model.onnx", tmp_path / "forecaster.onnx")
    refused = _load(tmp_path / "forecaster.onnx", reporting)
    assert refused == Refused(
        FileSignature("forecaster.onnx", 123, MTIME_NS, 456),
        "its contract says artifact 'model', not 'forecaster'",
    )


def test_a_forecaster_under_a_name_outside_the_pattern_names_no_kind(
    published, tmp_path, reporting
):
    # The registry skips such names; called directly, the kind read from the name is "".
    shutil.copy2(published / "forecaster.onnx", tmp_path / "copy.onnx")
    refused = _load(tmp_path / "copy.onnx", reporting)
    assert refused.reason == "its contract says model kind 'lstm', its name says ''"


def test_another_kinds_forecaster_under_this_name_is_refused(published, tmp_path, reporting):
    shutil.copy2(published / "ridge.forecaster.onnx", tmp_path / "forecaster.onnx")
    refused = _load(tmp_path / "forecaster.onnx", reporting)
    assert refused.reason == "its contract says model kind 'ridge', its name says 'lstm'"
    shutil.copy2(published / "forecaster.onnx", tmp_path / "ridge.forecaster.onnx")
    refused = _load(tmp_path / "ridge.forecaster.onnx", reporting)
    assert refused.reason == "its contract says model kind 'lstm', its name says 'ridge'"


@pytest.mark.parametrize("validation", [None, {}, {"passed": False}])
def test_a_file_without_a_passed_validation_is_refused(published, tmp_path, reporting, validation):
    path = _restamped(
        published / "ridge.forecaster.onnx",
        tmp_path / "ridge.forecaster.onnx",
        validation=validation,
    )
    refused = _load(path, reporting)
    assert refused.reason == (
        "its contract does not record a passed validation (see "
        "ridge_forecaster_validation_report.json); only `kedro run`'s validation publishes"
    )


def _variant_setup(published: Path, tmp_path: Path, report: dict | None) -> tuple[Path, Path]:
    models, reports = tmp_path / "06_models", tmp_path / "08_reporting"
    models.mkdir()
    reports.mkdir()
    shutil.copy2(published / "forecaster.onnx", models / "forecaster.onnx")
    shutil.copy2(published / "forecaster.opt.onnx", models / "forecaster.opt.onnx")
    if report is not None:
        (reports / "lstm_forecaster_variants_report.json").write_text(json.dumps(report))
    return models / "forecaster.opt.onnx", reports


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_a_variant_without_a_variants_report_loads(published, tmp_path):
    path, reports = _variant_setup(published, tmp_path, None)
    assert isinstance(_load(path, reports), LoadedForecaster)


@pytest.mark.parametrize(
    ("variants", "verdict"),
    [
        ({"opt": {"verdict": "failed"}}, "'failed'"),
        ({"int8": {"verdict": "passed"}}, "None"),
        ({}, "None"),
    ],
)
def test_a_variant_the_report_did_not_pass_is_refused(published, tmp_path, variants, verdict):
    path, reports = _variant_setup(published, tmp_path, {"variants": variants})
    refused = _load(path, reports)
    assert refused.reason == (
        f"lstm_forecaster_variants_report.json gives the opt variant the verdict {verdict}"
    )


def test_a_report_without_variants_refuses_the_variant(published, tmp_path):
    path, reports = _variant_setup(published, tmp_path, {"fp32": {}})
    refused = _load(path, reports)
    assert refused.reason.endswith("gives the opt variant the verdict None")


def test_a_variant_checked_against_another_fp32_is_stale(published, tmp_path):
    passed = {"variants": {"opt": {"verdict": "passed"}}}
    path, reports = _variant_setup(published, tmp_path, passed | {"fp32": {"sha256": "0" * 64}})
    refused = _load(path, reports)
    assert refused.reason == (
        "it was checked against another forecaster.onnx than the one published now "
        "(stale: rerun `kedro run --pipelines=variants`)"
    )
    # Checked against the file published now: served.
    fp32 = _sha(published / "forecaster.onnx")
    (reports / "lstm_forecaster_variants_report.json").write_text(
        json.dumps(passed | {"fp32": {"sha256": fp32}})
    )
    assert isinstance(_load(path, reports), LoadedForecaster)
    # No fp32 file published next to it, or no hash recorded: nothing to compare, served.
    (reports / "lstm_forecaster_variants_report.json").write_text(json.dumps(passed))
    assert isinstance(_load(path, reports), LoadedForecaster)
    (reports / "lstm_forecaster_variants_report.json").write_text(
        json.dumps(passed | {"fp32": {"sha256": "0" * 64}})
    )
    (path.parent / "forecaster.onnx").unlink()
    assert isinstance(_load(path, reports), LoadedForecaster)


def test_the_report_is_read_from_the_reporting_folder_given(published, tmp_path, reporting):
    path, _ = _variant_setup(published, tmp_path, {"variants": {}})
    assert isinstance(_load(path, tmp_path / "08_reporting"), Refused)
    assert isinstance(_load(path, reporting), LoadedForecaster)  # the smoke run's: passed


def test_a_graph_onnxruntime_refuses_is_refused(published, tmp_path, reporting):
    model = onnx.load(published / "ridge.forecaster.onnx")
    model.graph.node[0].op_type = "NoSuchOperator"
    path = tmp_path / "ridge.forecaster.onnx"
    path.write_bytes(model.SerializeToString())
    refused = _load(path, reporting)
    assert isinstance(refused, Refused)
    assert refused.signature == FileSignature("ridge.forecaster.onnx", 123, MTIME_NS, 456)
    assert refused.reason.startswith("onnxruntime cannot open it: ")
    assert "NoSuchOperator" in refused.reason


@pytest.mark.parametrize(
    ("name", "sidecar", "content", "assets"),
    [
        ("forecaster.onnx", "forecaster.json", {"assets": ["A", "B"]}, ("A", "B")),
        ("forecaster.int8.onnx", "forecaster.json", {"assets": ["A"]}, ("A",)),
        ("ridge.forecaster.opt.onnx", "ridge.forecaster.json", {"assets": [1, "X"]}, ("1", "X")),
        ("ridge.forecaster.onnx", "forecaster.json", {"assets": ["A"]}, ()),  # not its sidecar
        ("forecaster.onnx", "forecaster.json", {"assets": "A"}, ()),  # not a list
        ("forecaster.onnx", "forecaster.json", {"other": 1}, ()),
        ("forecaster.onnx", "forecaster.json", "not json{", ()),
        ("anything.onnx", "forecaster.json", {"assets": ["A"]}, ("A",)),  # lstm's, by default
    ],
)
def test_assets_come_from_the_fp32_sidecar(tmp_path, name, sidecar, content, assets):
    text = content if isinstance(content, str) else json.dumps(content)
    (tmp_path / sidecar).write_text(text)
    assert _assets(tmp_path / name) == assets


def test_no_sidecar_means_no_assets_named(tmp_path):
    assert _assets(tmp_path / "forecaster.onnx") == ()
