"""The registry's reload and the watcher thread, called directly on copies of published files.

Each report below is written out by hand from the files put in the folder.
"""

from __future__ import annotations

import logging
import os
import shutil
import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest

from lstm_forecast.serving.registry import Catalogue, Registry, Watcher


@pytest.fixture
def folder(smoke_project: Path, tmp_path: Path) -> Path:
    """06_models with the lstm and ridge fp32 forecasters, a network file, a note and a
    broken opt file; 08_reporting beside it."""
    models = tmp_path / "06_models"
    models.mkdir()
    published = smoke_project / "data/06_models"
    for name in ("forecaster.onnx", "forecaster.json", "ridge.forecaster.onnx", "model.onnx"):
        shutil.copy2(published / name, models / name)
    (models / "forecaster.opt.onnx").write_bytes(b"broken")
    (models / "notes.txt").write_text("not a model")
    shutil.copytree(smoke_project / "data/08_reporting", tmp_path / "08_reporting")
    return tmp_path


def _registry(folder: Path, threads: int = 1) -> Registry:
    return Registry(folder / "06_models", folder / "08_reporting", threads)


def test_a_new_registry_serves_nothing_yet(folder):
    registry = _registry(folder, threads=3)
    assert (registry.models_dir, registry.reporting_dir, registry.threads) == (
        folder / "06_models",
        folder / "08_reporting",
        3,
    )
    assert registry.catalogue == Catalogue({}, {}, "")
    assert list(registry.catalogue.ordered()) == []


def test_the_first_reload_loads_forecasters_and_refuses_the_broken_file(folder, caplog):
    registry = _registry(folder, threads=2)
    before = datetime.now(UTC)
    with caplog.at_level(logging.INFO, logger="lstm_forecast.serving.registry"):
        report = registry.reload()
    after = datetime.now(UTC)
    assert report == {
        "loaded": ["forecaster.onnx", "ridge.forecaster.onnx"],
        "unchanged": [],
        "refused": ["forecaster.opt.onnx"],
        "removed": [],
    }
    catalogue = registry.catalogue
    assert set(catalogue.models) == {("lstm", "fp32"), ("ridge", "fp32")}
    lstm = catalogue.models[("lstm", "fp32")]
    assert lstm.signature.name == "forecaster.onnx"
    assert catalogue.models[("ridge", "fp32")].signature.name == "ridge.forecaster.onnx"
    assert lstm.session.get_session_options().intra_op_num_threads == 2
    assert list(catalogue.refused) == ["forecaster.opt.onnx"]
    reason = catalogue.refused["forecaster.opt.onnx"].reason
    assert reason.startswith("cannot be read as a forecaster: ")
    assert before <= datetime.fromisoformat(catalogue.loaded_at) <= after
    lines = [
        (r.levelno, r.getMessage())
        for r in caplog.records
        if r.name == "lstm_forecast.serving.registry"
    ]
    ridge = catalogue.models[("ridge", "fp32")]
    assert lines == [
        (logging.INFO, f"Serving forecaster.onnx (lstm fp32, {lstm.fingerprint[:12]})."),
        (logging.WARNING, f"Refused forecaster.opt.onnx: {reason}"),
        (logging.INFO, f"Serving ridge.forecaster.onnx (ridge fp32, {ridge.fingerprint[:12]})."),
    ]


def test_a_second_reload_keeps_what_did_not_change(folder):
    registry = _registry(folder)
    registry.reload()
    first = registry.catalogue
    report = registry.reload()
    assert report == {
        "loaded": [],
        "unchanged": ["forecaster.onnx", "ridge.forecaster.onnx"],
        "refused": ["forecaster.opt.onnx"],  # looked at again: it may have been fixed
        "removed": [],
    }
    second = registry.catalogue
    assert second is not first and second.loaded_at >= first.loaded_at
    for key, model in first.models.items():
        assert second.models[key] is model  # the same session, not reopened


def test_a_broken_republish_never_replaces_the_served_file(folder):
    registry = _registry(folder)
    registry.reload()
    served = registry.catalogue.models[("lstm", "fp32")]
    (folder / "06_models/forecaster.onnx").write_bytes(b"half a file")
    report = registry.reload()
    assert report == {
        "loaded": [],
        "unchanged": ["ridge.forecaster.onnx"],
        "refused": ["forecaster.onnx", "forecaster.opt.onnx"],
        "removed": [],
    }
    assert registry.catalogue.models[("lstm", "fp32")] is served
    assert "forecaster.onnx" in registry.catalogue.refused


def test_a_valid_republish_is_loaded_again_and_a_removal_reported(folder):
    registry = _registry(folder)
    registry.reload()
    served = registry.catalogue.models[("lstm", "fp32")]
    path = folder / "06_models/forecaster.onnx"
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    (folder / "06_models/ridge.forecaster.onnx").unlink()
    (folder / "06_models/forecaster.opt.onnx").unlink()
    report = registry.reload()
    assert report == {
        "loaded": ["forecaster.onnx"],
        "unchanged": [],
        "refused": [],
        "removed": ["ridge.forecaster.onnx"],
    }
    reloaded = registry.catalogue.models[("lstm", "fp32")]
    assert reloaded is not served and reloaded.fingerprint == served.fingerprint
    assert set(registry.catalogue.models) == {("lstm", "fp32")}
    assert registry.catalogue.refused == {}


def test_variants_are_judged_by_the_reports_of_the_registrys_folder(folder, smoke_project):
    shutil.copy2(
        smoke_project / "data/06_models/forecaster.int8.onnx",
        folder / "06_models/forecaster.int8.onnx",
    )
    assert "forecaster.int8.onnx" in _registry(folder).reload()["loaded"]
    report = folder / "08_reporting/lstm_forecaster_variants_report.json"
    report.write_text('{"variants": {"int8": {"verdict": "failed"}}}')
    assert "forecaster.int8.onnx" in _registry(folder).reload()["refused"]


def _named(name: str) -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == name]


def test_the_watcher_is_one_daemon_thread_that_stops(folder):
    registry = _registry(folder)
    watcher = Watcher(registry, 0.05)
    assert (watcher.registry, watcher.every_s) == (registry, 0.05)
    before = len(_named("model-watcher"))
    watcher.start()
    try:
        threads = _named("model-watcher")
        assert len(threads) == before + 1
        assert all(t.daemon for t in threads)
    finally:
        watcher.stop()
    assert len(_named("model-watcher")) == before


def test_a_watcher_every_zero_seconds_never_starts(folder):
    before = len(_named("model-watcher"))
    watcher = Watcher(_registry(folder), 0)
    watcher.start()
    assert len(_named("model-watcher")) == before
    watcher.stop()  # stopping a watcher that never started is fine
