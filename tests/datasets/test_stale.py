"""What killed runs leave behind is removed by the next run, and nothing a live run needs."""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path

from lstm_forecast.datasets._stale import (
    SCRATCH_PREFIX,
    catalog_files,
    remove_stale_scratch_folders,
    remove_stale_temporary_files,
)


def test_temporary_files_of_dead_writers_are_removed_and_logged(
    tmp_path, dead_pid, live_pid, caplog
):
    target = tmp_path / "model.onnx"
    target.write_bytes(b"good")
    stale = tmp_path / f".model.onnx.{dead_pid}.ab12cd34.tmp"
    stale.write_bytes(b"half a model")
    sidecar = tmp_path / f".model.onnx.sha256.{dead_pid}.x_y.tmp"
    sidecar.write_bytes(b"")
    legacy = tmp_path / ".model.onnx.k3j4h5g6.tmp"  # the writer before pids were in names
    legacy.write_bytes(b"older")
    live = tmp_path / f".model.onnx.{live_pid}.ab12cd34.tmp"  # a writer still running
    live.write_bytes(b"being written")
    unrelated = tmp_path / ".other.json.123.ab.tmp"
    unrelated.write_bytes(b"not ours to judge")

    with caplog.at_level(logging.WARNING):
        removed = remove_stale_temporary_files([("lstm.onnx_model", target, "file")])

    assert sorted(removed) == sorted([stale, sidecar, legacy])
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        ["model.onnx", live.name, unrelated.name]
    )
    assert target.read_bytes() == b"good"
    assert f"Removed {stale} (12 bytes): a write of 'lstm.onnx_model'" in caplog.text


def test_temporary_files_in_version_folders_are_removed(tmp_path, dead_pid):
    version = tmp_path / "model.ckpt" / "2026-01-01T00.00.00.000Z"
    version.mkdir(parents=True)
    stale = version / f".model.ckpt.{dead_pid}.abcdefgh.tmp"
    stale.write_bytes(b"x")
    files = [("model_checkpoint", tmp_path / "model.ckpt", "versioned")]
    assert remove_stale_temporary_files(files) == [stale]


def test_catalog_files_come_from_the_config_without_building_datasets(tmp_path):
    from kedro.io import DataCatalog

    catalog = DataCatalog.from_config(
        {
            "checkpoint": {
                "type": "lstm_forecast.datasets.LightningCheckpointDataset",
                "filepath": str(tmp_path / "model.ckpt"),
            },
            "metrics": {
                "type": "json.JSONDataset",
                "filepath": "data/08_reporting/m.json",
                "versioned": True,
            },
            "remote": {"type": "json.JSONDataset", "filepath": "s3://bucket/m.json"},
            "published": {
                "type": "partitions.PartitionedDataset",
                "path": "data/06_models",
                "dataset": "lstm_forecast.datasets.OnnxModelDataset",
            },
            "in_memory": {"type": "MemoryDataset"},
            "{kind}.trained_model": {
                "type": "json.JSONDataset",
                "filepath": "data/06_models/{kind}.json",
            },
        }
    )
    files = catalog_files(catalog, ["lstm.trained_model", "params:x", "in_memory", "other"])
    assert files == [
        ("checkpoint", tmp_path / "model.ckpt", "file"),
        ("metrics", Path("data/08_reporting/m.json"), "versioned"),
        ("published", Path("data/06_models"), "folder"),
        ("lstm.trained_model", Path("data/06_models/lstm.json"), "file"),  # by its pattern
    ]


def test_temporary_files_inside_a_partitioned_folder_are_removed(tmp_path, dead_pid, live_pid):
    nested = tmp_path / "models" / "lstm"
    nested.mkdir(parents=True)
    stale = nested / f".model.onnx.{dead_pid}.abcdefgh.tmp"
    stale.write_bytes(b"x")
    live = nested / f".model.onnx.{live_pid}.abcdefgh.tmp"
    live.write_bytes(b"x")
    kept = nested / "model.onnx"
    kept.write_bytes(b"good")
    files = [("published_onnx_files", tmp_path / "models", "folder")]
    assert remove_stale_temporary_files(files) == [stale]
    assert live.exists() and kept.exists()


def test_training_scratch_folders_of_dead_runs_are_removed(tmp_path, dead_pid, live_pid, caplog):
    dead = tmp_path / f"{SCRATCH_PREFIX}ckpt-{dead_pid}-abcd_123"
    dead_int8 = tmp_path / f"{SCRATCH_PREFIX}int8-{dead_pid}-x1y2z3w4"
    live = tmp_path / f"{SCRATCH_PREFIX}ckpt-{live_pid}-abcd_123"
    unnamed_old = tmp_path / f"{SCRATCH_PREFIX}ckpt-q8w7e6r5"
    unnamed_recent = tmp_path / f"{SCRATCH_PREFIX}opt-z1x2c3v4"
    other = tmp_path / "something-else"
    not_ours = tmp_path / f"{SCRATCH_PREFIX}notes"
    for folder in (dead, dead_int8, live, unnamed_old, unnamed_recent, other, not_ours):
        folder.mkdir()
        (folder / "best.ckpt").write_bytes(b"checkpoint")
    two_days_ago = time.time() - 2 * 86400
    for path in (unnamed_old / "best.ckpt", unnamed_old):
        os.utime(path, (two_days_ago, two_days_ago))

    with caplog.at_level(logging.WARNING):
        removed = remove_stale_scratch_folders(tmp_path)

    assert sorted(removed) == sorted([dead, dead_int8, unnamed_old])
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [live.name, unnamed_recent.name, other.name, not_ours.name]
    )
    assert f"Removed {dead}: a scratch folder left by a killed run" in caplog.text
