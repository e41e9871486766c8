"""The atomic writer and the fault aid in this process, where mutation testing reaches them.

The kill-in-the-middle tests of ``test_atomic.py`` run in child processes; here ``os.kill``
is recorded instead of sent, so what the aid would leave behind is checked byte by byte at
the moment it would kill.
"""

from __future__ import annotations

import gc
import hashlib
import logging
import os
import signal
from pathlib import Path

import fsspec
import onnx
import pytest
import torch
from fsspec.implementations.local import LocalFileOpener, LocalFileSystem
from kedro.io.core import DatasetError

from lstm_forecast.datasets import _atomic, _faults
from lstm_forecast.datasets._atomic import AtomicFile, AtomicLocalFileSystem, atomic_open
from lstm_forecast.datasets.checkpoint_dataset import LightningCheckpointDataset, sidecar_path
from lstm_forecast.datasets.onnx_dataset import OnnxModelDataset


@pytest.fixture
def kills(monkeypatch):
    """Each would-be kill as ``(pid, signal, bytes in the temporary file, target exists)``."""
    seen: list[tuple] = []

    def record(pid, sig):
        (temp,) = [p for p in Path(_faults._armed.path).parent.rglob(".*.tmp")]
        target = Path(_faults._armed.path)
        seen.append((pid, sig, temp.read_bytes(), target.exists() and target.is_file()))

    monkeypatch.setattr(_faults.os, "kill", record)
    yield seen
    _faults.disarm()


def test_a_fault_after_n_bytes_leaves_exactly_n(tmp_path, kills, caplog):
    path = tmp_path / "m.json"
    _faults.arm("metrics", path, 150)
    with caplog.at_level(logging.WARNING, logger=_faults.__name__), atomic_open(path) as file:
        file.write(b"a" * 100)  # 100 < 150: written whole
        file.write(b"b" * 100)  # crosses 150: 50 bytes, then the kill
        assert file.written == 200
    assert kills == [(os.getpid(), signal.SIGKILL, b"a" * 100 + b"b" * 50, False)]
    assert caplog.messages[-1] == (
        f"{_faults.FAULT_ENV}: killing this run after 150 bytes of its write of 'metrics'."
    )


def test_a_fault_at_a_write_boundary_fires_there(tmp_path, kills):
    path = tmp_path / "m.json"
    _faults.arm("metrics", path, 200)
    with atomic_open(path) as file:
        file.write(b"a" * 100)
        file.write(b"b" * 100)  # exactly 200: the kill comes with all of it written
    assert [(data, exists) for _, _, data, exists in kills] == [(b"a" * 100 + b"b" * 100, False)]


def test_a_rename_fault_fires_once_the_file_is_complete(tmp_path, kills, caplog):
    path = tmp_path / "model.onnx"
    path.write_bytes(b"previous")
    _faults.arm("model", path, "rename")
    with caplog.at_level(logging.WARNING, logger=_faults.__name__), atomic_open(path) as file:
        file.write(b"new model")
        assert kills == []  # writing does not fire a rename fault
    assert kills == [(os.getpid(), signal.SIGKILL, b"new model", True)]
    assert caplog.messages[-1] == (
        f"{_faults.FAULT_ENV}: killing this run before the rename that publishes its write "
        "of 'model'."
    )


def test_a_fault_covers_files_inside_its_folder_only(tmp_path, kills):
    folder = tmp_path / "model.ckpt"  # a versioned dataset: its versions are inside
    _faults.arm("checkpoint", folder, "rename")
    with atomic_open(tmp_path / "model.ckpt2") as file:  # same prefix, another file
        file.write(b"x")
    assert kills == []
    with atomic_open(folder / "v1" / "model.ckpt") as file:
        file.write(b"x")
    assert len(kills) == 1


def test_the_writer_counts_what_it_wrote_and_defaults_to_binary(tmp_path):
    with AtomicFile(str(tmp_path / "d.bin")) as file:
        file.write(b"12345")
        file.write(memoryview(b"678"))
        assert file.written == 8
    assert (tmp_path / "d.bin").read_bytes() == b"12345678"


def test_a_relative_path_is_written_in_the_working_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with atomic_open("relative.bin") as file:
        file.write(b"here")
    assert (tmp_path / "relative.bin").read_bytes() == b"here"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["relative.bin"]


def test_a_discarded_write_closes_its_file_and_can_be_discarded_twice(tmp_path):
    file = atomic_open(tmp_path / "d.bin")
    file.write(b"half")
    file.discard()
    assert file.f.closed and list(tmp_path.iterdir()) == []
    file.discard()  # nothing left to delete: no error


def test_a_write_never_closed_is_dropped_when_collected(tmp_path):
    target = tmp_path / "d.bin"
    target.write_bytes(b"previous")
    file = atomic_open(target)
    file.write(b"never finished")
    del file
    gc.collect()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d.bin"]
    assert target.read_bytes() == b"previous"


def test_the_filesystem_leaves_transactions_and_reads_to_fsspec(tmp_path):
    fs = AtomicLocalFileSystem()
    path = str(tmp_path / "t.bin")
    plain = fs._open(path, "wb", autocommit=False)  # an fsspec transaction's write
    assert type(plain) is LocalFileOpener and plain.autocommit is False
    plain.discard()
    atomic = fs._open(path, "wb")  # no autocommit given: a plain write, made atomic
    assert isinstance(atomic, AtomicFile)
    atomic.write(b"x")
    atomic.close()
    assert Path(path).read_bytes() == b"x"


def test_register_replaces_both_protocols(monkeypatch):
    originals = {p: fsspec.get_filesystem_class(p) for p in ("file", "local")}
    try:
        for protocol in ("file", "local"):
            fsspec.register_implementation(protocol, LocalFileSystem, clobber=True)
        _atomic.register()
        assert fsspec.get_filesystem_class("file") is AtomicLocalFileSystem
        assert fsspec.get_filesystem_class("local") is AtomicLocalFileSystem
        _atomic.register()  # idempotent
    finally:
        for protocol, cls in originals.items():
            fsspec.register_implementation(protocol, cls, clobber=True)


def test_a_local_dataset_describes_itself_and_keeps_its_metadata(tmp_path):
    dataset = OnnxModelDataset(filepath=str(tmp_path / "m.onnx"), metadata={"kedro-viz": 1})
    assert dataset.metadata == {"kedro-viz": 1}
    assert dataset._describe() == {"filepath": (tmp_path / "m.onnx").as_posix(), "version": None}


def test_a_checkpoint_replaced_whole_is_refused_with_both_hashes(tmp_path):
    path = tmp_path / "model.ckpt"
    dataset = LightningCheckpointDataset(filepath=str(path))
    dataset.save({"state_dict": {"w": torch.ones(3)}, "hyper_parameters": {}})
    expected = sidecar_path(path).read_text().split()[0]
    LightningCheckpointDataset(filepath=str(tmp_path / "other.ckpt")).save(
        {"state_dict": {"w": torch.zeros(3)}, "hyper_parameters": {}}
    )
    path.write_bytes((tmp_path / "other.ckpt").read_bytes())  # a whole, valid other file
    actual = hashlib.sha256(path.read_bytes()).hexdigest()
    with pytest.raises(DatasetError) as raised:
        dataset.load()
    assert str(raised.value).endswith(
        f"\n{path} is not a readable Lightning checkpoint: its sha256 {actual[:16]}... "
        f"differs from {expected[:16]}... recorded in model.ckpt.sha256 when it was saved, "
        "so it is damaged, truncated or was replaced. Rerun `kedro run --pipelines=training` "
        "to write a new one."
    )


def test_a_checkpoint_that_is_no_zip_says_so(tmp_path):
    path = tmp_path / "model.ckpt"
    path.write_bytes(b"not a zip at all")
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    sidecar_path(path).write_text(f"{digest}  model.ckpt\n")
    with pytest.raises(DatasetError) as raised:
        LightningCheckpointDataset(filepath=str(path)).load()
    assert str(raised.value).endswith(
        f"\n{path} is not a readable Lightning checkpoint: it is not a complete zip archive, "
        "which torch.save writes, although it matches model.ckpt.sha256. Rerun `kedro run "
        "--pipelines=training` to write a new one."
    )


def test_a_checkpoint_whose_zip_stream_breaks_names_the_error(tmp_path):
    import io
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("data/0", bytes(range(256)) * 64)
    raw = bytearray(buffer.getvalue())
    start = raw.index(b"data/0") + 26  # inside the deflated stream
    raw[start : start + 40] = bytes(b ^ 0xFF for b in raw[start : start + 40])
    path = tmp_path / "model.ckpt"
    path.write_bytes(bytes(raw))
    sidecar_path(path).write_text(f"{hashlib.sha256(bytes(raw)).hexdigest()}  model.ckpt\n")
    with pytest.raises(DatasetError, match=r"its zip archive cannot be read: error, although"):
        LightningCheckpointDataset(filepath=str(path)).load()


def test_a_dropped_variant_removes_the_old_file_and_loading_says_why(tmp_path):
    from lstm_forecast.datasets.onnx_variant_dataset import DroppedVariant, OnnxVariantDataset

    path = tmp_path / "model.int8.onnx"
    dataset = OnnxVariantDataset(filepath=str(path))
    model = onnx.helper.make_model(
        onnx.helper.make_graph(
            [onnx.helper.make_node("Relu", ["x"], ["y"])],
            "earlier",
            [onnx.helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, [1])],
            [onnx.helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, [1])],
        )
    )
    dataset.save(model)  # an earlier run's variant
    assert dataset.load() == model
    dataset.save(DroppedVariant("int8", "outside tolerance"))
    assert not path.exists()
    dataset.save(DroppedVariant("int8", "again"))  # nothing there: still fine
    with pytest.raises(DatasetError) as raised:
        dataset.load()
    assert str(raised.value).endswith(
        f"\nNo ONNX variant at {path}: the variants stage dropped it or has not run (see its "
        "variants report under data/08_reporting/). Run `kedro run --pipelines=variants`, or "
        "serve another variant (inference.variant: fp32)."
    )
