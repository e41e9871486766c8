"""A crash in the middle of a write leaves the previous file and no temporary file behind."""

from __future__ import annotations

import io

import onnx
import pytest
from kedro.io import DatasetError
from onnx import TensorProto, helper

from lstm_forecast.datasets import OnnxModelDataset


def _onnx(name: str) -> onnx.ModelProto:
    node = helper.make_node("Identity", ["window"], ["forecast"])
    graph = helper.make_graph(
        [node],
        name,
        [helper.make_tensor_value_info("window", TensorProto.FLOAT, ["batch", 1])],
        [helper.make_tensor_value_info("forecast", TensorProto.FLOAT, ["batch", 1])],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])


class _HalfThenCrash(io.RawIOBase):
    """A binary file that writes the first half of what it is given, then fails."""

    def __init__(self, inner):
        self.inner = inner

    def writable(self):
        return True

    def write(self, data):
        data = bytes(data)
        self.inner.write(data[: len(data) // 2])
        self.inner.flush()
        raise OSError("disk full after half the bytes")

    def fileno(self):
        return self.inner.fileno()

    def close(self):
        self.inner.close()
        super().close()


def test_a_crash_in_the_middle_of_a_write_keeps_the_old_file_and_cleans_up(tmp_path, monkeypatch):
    target = tmp_path / "model.onnx"
    dataset = OnnxModelDataset(filepath=str(target))
    dataset.save(_onnx("old"))
    before = target.read_bytes()

    real_open = io.open

    def crashing_open(file, mode="r", *args, **kwargs):
        handle = real_open(file, mode, *args, **kwargs)
        # Every binary write (os.fdopen and Path.write_bytes both go through io.open).
        return _HalfThenCrash(handle) if "w" in mode and "b" in mode else handle

    monkeypatch.setattr(io, "open", crashing_open)
    with pytest.raises((DatasetError, OSError), match="disk full after half the bytes"):
        dataset.save(_onnx("a new graph that is longer than the old one"))
    monkeypatch.undo()

    # Half the new bytes did reach the disk, but only in a temporary file, now removed.
    assert target.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.onnx"]
    assert OnnxModelDataset(filepath=str(target)).load().graph.name == "old"
