"""Custom datasets: atomic writes, verified checkpoints, weights-only loading, clear errors."""

from __future__ import annotations

import hashlib
import os
import re

import onnx
import pytest
import torch
from kedro.io import DatasetError
from onnx import TensorProto, helper

from lstm_forecast.datasets import LightningCheckpointDataset, OnnxModelDataset
from lstm_forecast.datasets.checkpoint_dataset import sidecar_path
from lstm_forecast.errors import ArtifactError


def _tiny_onnx() -> onnx.ModelProto:
    node = helper.make_node("Identity", ["window"], ["forecast"])
    graph = helper.make_graph(
        [node],
        "tiny",
        [helper.make_tensor_value_info("window", TensorProto.FLOAT, ["batch", 1])],
        [helper.make_tensor_value_info("forecast", TensorProto.FLOAT, ["batch", 1])],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])


def _save_with_record(payload_source: object, path) -> None:
    """torch.save ``payload_source`` to ``path`` with a matching sha256 record beside it."""
    torch.save(payload_source, path)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    sidecar_path(path).write_text(f"{digest}  {path.name}\n")


def _refusal(dataset: LightningCheckpointDataset) -> str:
    with pytest.raises(DatasetError) as error:
        dataset.load()
    message = " ".join(str(error.value).split())
    assert isinstance(error.value.__cause__, ArtifactError)
    # The refusal never passes on torch's advice to load the file anyway, nor its traceback.
    assert "weights_only=False" not in message and "`False`" not in message
    assert error.value.__cause__.__cause__ is None
    return message


def test_checkpoint_round_trip_writes_a_sha256_record(tmp_path):
    dataset = LightningCheckpointDataset(filepath=str(tmp_path / "model.ckpt"))
    checkpoint = {"state_dict": {"w": torch.arange(3.0)}, "hyper_parameters": {"n_features": 6}}
    dataset.save(checkpoint)
    loaded = dataset.load()
    assert torch.equal(loaded["state_dict"]["w"], torch.arange(3.0))
    assert loaded["hyper_parameters"] == {"n_features": 6}
    # no temporary file left; the record is what `sha256sum -c` reads
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.ckpt", "model.ckpt.sha256"]
    digest = hashlib.sha256((tmp_path / "model.ckpt").read_bytes()).hexdigest()
    assert (tmp_path / "model.ckpt.sha256").read_text() == f"{digest}  model.ckpt\n"


def test_versioned_checkpoint_keeps_its_record_in_the_version_folder(tmp_path):
    from kedro.io.core import Version

    dataset = LightningCheckpointDataset(
        filepath=str(tmp_path / "model.ckpt"), version=Version(None, None)
    )
    dataset.save({"state_dict": {"w": torch.ones(2)}, "hyper_parameters": {}})
    (version,) = (tmp_path / "model.ckpt").iterdir()
    assert sorted(p.name for p in version.iterdir()) == ["model.ckpt", "model.ckpt.sha256"]
    assert torch.equal(dataset.load()["state_dict"]["w"], torch.ones(2))


def test_checkpoint_with_code_is_refused_by_weights_only(tmp_path):
    path = tmp_path / "model.ckpt"
    _save_with_record({"state_dict": {}, "hyper_parameters": {}, "code": print}, path)
    message = _refusal(LightningCheckpointDataset(filepath=str(path)))
    assert "not a readable Lightning checkpoint" in message and "GLOBAL print" in message
    assert "--pipelines=training" in message


class _Payload:
    """Unpickling this runs a shell command: what a tampered checkpoint would carry."""

    def __init__(self, marker) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_malicious_checkpoint_is_refused_without_running_its_payload(tmp_path):
    # The attacker also rewrote the sha256 record: only the weights-only load stands guard.
    path, marker = tmp_path / "model.ckpt", tmp_path / "payload-ran"
    _save_with_record({"state_dict": {}, "hyper_parameters": {}, "x": _Payload(marker)}, path)
    message = _refusal(LightningCheckpointDataset(filepath=str(path)))
    assert not marker.exists()
    assert "system" in message and "none was run" in message and str(path) in message


def test_checkpoint_with_flipped_bits_is_refused_by_its_hash_naming_the_member(tmp_path):
    path = tmp_path / "model.ckpt"
    dataset = LightningCheckpointDataset(filepath=str(path))
    weights = torch.linspace(-1, 1, 4096)
    dataset.save({"state_dict": {"w": weights}, "hyper_parameters": {}})
    damaged = bytearray(path.read_bytes())
    start = bytes(damaged).index(weights.numpy().tobytes()[:64])  # the tensor's raw bytes
    for offset in (100, 2000, 9000):  # finite bit flips: torch.load alone accepts them
        damaged[start + offset] ^= 0x01
    path.write_bytes(bytes(damaged))
    assert torch.load(path, weights_only=True)["state_dict"]["w"].isfinite().all()
    message = _refusal(dataset)
    assert "differs from" in message and "model.ckpt.sha256" in message
    assert "fails its CRC check" in message and "data/0" in message  # testzip names it


def test_checkpoint_with_flipped_bits_and_a_rewritten_record_is_refused_by_crc(tmp_path):
    path = tmp_path / "model.ckpt"
    dataset = LightningCheckpointDataset(filepath=str(path))
    weights = torch.linspace(-1, 1, 1024)
    dataset.save({"state_dict": {"w": weights}, "hyper_parameters": {}})
    damaged = bytearray(path.read_bytes())
    damaged[bytes(damaged).index(weights.numpy().tobytes()[:64]) + 500] ^= 0x10
    path.write_bytes(bytes(damaged))
    digest = hashlib.sha256(bytes(damaged)).hexdigest()
    sidecar_path(path).write_text(f"{digest}  model.ckpt\n")
    message = _refusal(dataset)
    assert "fails its CRC check" in message and "although it matches" in message


def test_truncated_checkpoint_gives_a_clear_error(tmp_path):
    dataset = LightningCheckpointDataset(filepath=str(tmp_path / "model.ckpt"))
    dataset.save({"state_dict": {"w": torch.ones(100)}, "hyper_parameters": {}})
    payload = (tmp_path / "model.ckpt").read_bytes()
    (tmp_path / "model.ckpt").write_bytes(payload[: len(payload) // 2])
    message = _refusal(dataset)
    assert re.search(r"truncated.*not a complete zip archive.*--pipelines=training", message)


def test_checkpoint_without_its_record_is_refused(tmp_path):
    torch.save({"state_dict": {}, "hyper_parameters": {}}, tmp_path / "model.ckpt")
    message = _refusal(LightningCheckpointDataset(filepath=str(tmp_path / "model.ckpt")))
    assert "model.ckpt.sha256" in message and "missing" in message


def test_torch_file_that_is_not_a_checkpoint_is_refused(tmp_path):
    _save_with_record({"weights": torch.ones(2)}, tmp_path / "model.ckpt")
    with pytest.raises(DatasetError, match="not a Lightning checkpoint"):
        LightningCheckpointDataset(filepath=str(tmp_path / "model.ckpt")).load()


def test_missing_checkpoint_gives_a_clear_error(tmp_path):
    with pytest.raises(DatasetError, match=r"model\.ckpt"):
        LightningCheckpointDataset(filepath=str(tmp_path / "model.ckpt")).load()


def test_onnx_round_trip_and_versioning(tmp_path):
    from kedro.io.core import Version

    dataset = OnnxModelDataset(filepath=str(tmp_path / "model.onnx"), version=Version(None, None))
    dataset.save(_tiny_onnx())
    assert dataset.exists()
    assert dataset.load().graph.node[0].op_type == "Identity"
    saved = list((tmp_path / "model.onnx").iterdir())
    assert len(saved) == 1 and (saved[0] / "model.onnx").is_file()


def test_truncated_onnx_gives_a_clear_error(tmp_path):
    path = tmp_path / "model.onnx"
    payload = _tiny_onnx().SerializeToString()
    path.write_bytes(payload[: len(payload) // 2])
    with pytest.raises(DatasetError, match=r"not a readable ONNX model|empty graph"):
        OnnxModelDataset(filepath=str(path)).load()


def test_a_write_failing_after_some_bytes_keeps_the_previous_file(tmp_path, monkeypatch):
    dataset = OnnxModelDataset(filepath=str(tmp_path / "model.onnx"))
    dataset.save(_tiny_onnx())
    before = (tmp_path / "model.onnx").read_bytes()
    written = []

    def full_disk(descriptor):
        # every byte of the new model is in the temporary file when the disk gives up
        written.extend(p.stat().st_size for p in tmp_path.glob(".model.onnx.*.tmp"))
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", full_disk)
    with pytest.raises(DatasetError, match="No space left"):
        dataset.save(_bigger_onnx())
    assert written and written[0] > len(before)
    assert (tmp_path / "model.onnx").read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["model.onnx"]  # temporary file removed


def _bigger_onnx() -> onnx.ModelProto:
    model = _tiny_onnx()
    model.doc_string = "x" * 10_000
    return model
