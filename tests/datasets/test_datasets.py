"""Custom datasets: atomic writes, weights-only loading, clear errors for bad files."""

from __future__ import annotations

import onnx
import pytest
import torch
from kedro.io import DatasetError
from onnx import TensorProto, helper

from lstm_forecast.datasets import LightningCheckpointDataset, OnnxModelDataset
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


def test_checkpoint_round_trip(tmp_path):
    dataset = LightningCheckpointDataset(filepath=str(tmp_path / "model.ckpt"))
    checkpoint = {"state_dict": {"w": torch.arange(3.0)}, "hyper_parameters": {"n_features": 6}}
    dataset.save(checkpoint)
    loaded = dataset.load()
    assert torch.equal(loaded["state_dict"]["w"], torch.arange(3.0))
    assert loaded["hyper_parameters"] == {"n_features": 6}
    assert [p.name for p in tmp_path.iterdir()] == ["model.ckpt"]  # no temporary file left


def test_checkpoint_with_code_is_refused_by_weights_only(tmp_path):
    path = tmp_path / "model.ckpt"
    torch.save({"state_dict": {}, "hyper_parameters": {}, "code": print}, path)
    with pytest.raises(DatasetError, match=r"not a readable Lightning checkpoint") as error:
        LightningCheckpointDataset(filepath=str(path)).load()
    assert isinstance(error.value.__cause__, ArtifactError)


def test_truncated_checkpoint_gives_a_clear_error(tmp_path):
    dataset = LightningCheckpointDataset(filepath=str(tmp_path / "model.ckpt"))
    dataset.save({"state_dict": {"w": torch.ones(100)}, "hyper_parameters": {}})
    payload = (tmp_path / "model.ckpt").read_bytes()
    (tmp_path / "model.ckpt").write_bytes(payload[: len(payload) // 2])
    with pytest.raises(DatasetError, match=r"truncated or corrupt.*--pipelines=training"):
        dataset.load()


def test_torch_file_that_is_not_a_checkpoint_is_refused(tmp_path):
    torch.save({"weights": torch.ones(2)}, tmp_path / "model.ckpt")
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


def test_failed_write_keeps_the_previous_file(tmp_path, monkeypatch):
    dataset = OnnxModelDataset(filepath=str(tmp_path / "model.onnx"))
    dataset.save(_tiny_onnx())
    before = (tmp_path / "model.onnx").read_bytes()

    def crash(self):
        raise OSError("disk full")

    monkeypatch.setattr(onnx.ModelProto, "SerializeToString", crash)
    with pytest.raises(DatasetError, match="disk full"):
        dataset.save(_tiny_onnx())
    assert (tmp_path / "model.onnx").read_bytes() == before
