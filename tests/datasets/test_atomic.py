"""One atomic writer for every dataset: kedro-datasets' through fsspec, the project's own."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
from pathlib import Path

import fsspec
import pandas as pd
import pytest
import yaml
from kedro.io import DatasetError
from kedro.utils import load_obj

from lstm_forecast.datasets import _atomic, _faults
from lstm_forecast.datasets._atomic import AtomicFile, AtomicLocalFileSystem, atomic_open

from ..conftest import PROJECT_ROOT, kedro_env


@pytest.fixture
def atomic_fsspec():
    """``register()`` for one test, then fsspec's own local filesystem again."""
    originals = {p: fsspec.get_filesystem_class(p) for p in ("file", "local")}
    _atomic.register()
    yield
    for protocol, cls in originals.items():
        fsspec.register_implementation(protocol, cls, clobber=True)


def _sample(type_name: str) -> object:
    if type_name.startswith("pandas."):
        return pd.DataFrame({"x": [1.5, 2.5], "y": ["a", "b"]})
    if type_name.startswith("matplotlib."):
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        figure, axes = plt.subplots()
        axes.plot([1, 2, 3])
        return figure
    if type_name.startswith("text."):
        return "open_time,open\n"
    return {"a": [1, 2, 3]}


def _kedro_dataset_types() -> list[str]:
    """kedro-datasets types of the catalog's file entries (the project's own: test_datasets)."""
    catalog = yaml.safe_load((PROJECT_ROOT / "conf/base/catalog.yml").read_text())
    return sorted(
        {
            e["type"]
            for e in catalog.values()
            if "filepath" in e and "lstm_forecast" not in e["type"]
        }
    )


@pytest.mark.parametrize("type_name", _kedro_dataset_types())
def test_every_kedro_datasets_type_in_the_catalog_writes_through_the_atomic_writer(
    type_name, tmp_path, atomic_fsspec, monkeypatch
):
    opened = []
    real_open = AtomicFile._open

    def spy(self):
        opened.append(self.path)
        real_open(self)

    monkeypatch.setattr(AtomicFile, "_open", spy)
    dataset_class = load_obj(f"kedro_datasets.{type_name}")
    target = tmp_path / "out" / "dataset.bin"
    dataset = dataset_class(filepath=str(target))
    dataset.save(_sample(type_name))
    assert isinstance(dataset._fs, AtomicLocalFileSystem)
    assert opened == [str(target)]
    assert [p.name for p in target.parent.iterdir()] == ["dataset.bin"]
    assert target.stat().st_size > 0
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(target.stat().st_mode) == 0o666 & ~umask  # not mkstemp's 0600


def test_a_save_failing_half_way_keeps_the_previous_file(tmp_path, atomic_fsspec):
    from kedro_datasets.json import JSONDataset

    dataset = JSONDataset(filepath=str(tmp_path / "metrics.json"))
    dataset.save({"mae": 1.0})
    before = (tmp_path / "metrics.json").read_bytes()
    # json.dump has written the first keys to the file when it meets the object
    with pytest.raises(DatasetError, match="not JSON serializable"):
        dataset.save({"mae": 2.0, "rmse": 3.0, "bad": object()})
    assert (tmp_path / "metrics.json").read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["metrics.json"]


def test_versioned_kedro_dataset_still_writes_versions(tmp_path, atomic_fsspec):
    from kedro.io.core import Version
    from kedro_datasets.pandas import ParquetDataset

    dataset = ParquetDataset(filepath=str(tmp_path / "f.parquet"), version=Version(None, None))
    dataset.save(pd.DataFrame({"x": [1, 2]}))
    (version,) = (tmp_path / "f.parquet").iterdir()
    assert [p.name for p in version.iterdir()] == ["f.parquet"]
    assert dataset.load()["x"].tolist() == [1, 2]


def test_appends_and_reads_keep_fsspec_behaviour(tmp_path, atomic_fsspec):
    fs = fsspec.filesystem("file")
    path = str(tmp_path / "log.csv")
    for line in ("a\n", "b\n"):
        with fs.open(path, "a") as file:
            file.write(line)
    assert Path(path).read_text() == "a\nb\n"
    with fs.open(path, "rb") as file:
        assert not isinstance(file, AtomicFile)
    with pytest.raises(ValueError, match="whole binary files"):
        AtomicFile(path, "w")


def test_nothing_appears_until_a_clean_close(tmp_path):
    target = tmp_path / "model.onnx"
    target.write_bytes(b"old")
    with atomic_open(target) as file:
        file.write(b"new bytes")
        assert target.read_bytes() == b"old"
        (temporary,) = tmp_path.glob(".model.onnx.*.tmp")
        assert _atomic.parse_temporary(temporary.name) == ("model.onnx", os.getpid())
    assert target.read_bytes() == b"new bytes" and not temporary.exists()


_KILLED_SAVE = """
import sys
from lstm_forecast.datasets import _atomic, _faults
from lstm_forecast.datasets import OnnxModelDataset
from kedro_datasets.json import JSONDataset
_atomic.register()
kind, path, when = sys.argv[1:]
_faults.arm("victim", path, when if when == "rename" else int(when))
if kind == "json":
    JSONDataset(filepath=path).save({"values": list(range(2000))})
else:
    import onnx
    model = onnx.ModelProto(doc_string="x" * 20000, ir_version=8)
    OnnxModelDataset(filepath=path).save(model)
"""


def _killed_save(kind: str, target: Path, when: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", _KILLED_SAVE, kind, str(target), when],
        env=kedro_env(),
        capture_output=True,
        text=True,
        check=False,
    )


@pytest.mark.parametrize(("kind", "name"), [("json", "m.json"), ("onnx", "model.onnx")])
def test_a_run_killed_in_the_middle_of_a_write_keeps_the_previous_file(kind, name, tmp_path):
    target = tmp_path / name
    target.write_bytes(b"the previous good file")
    child = _killed_save(kind, target, "3000")
    assert child.returncode == -signal.SIGKILL, child.stderr
    assert "killing this run after 3000 bytes of its write of 'victim'" in child.stderr
    assert target.read_bytes() == b"the previous good file"
    (temporary,) = tmp_path.glob(f".{name}.*.tmp")
    assert temporary.stat().st_size == 3000  # killed mid-write, 3000 bytes in
    assert _atomic.parse_temporary(temporary.name) == (name, _pid_of(temporary))


def test_a_run_killed_before_the_rename_keeps_the_previous_file(tmp_path):
    target = tmp_path / "m.json"
    target.write_bytes(b"previous")
    child = _killed_save("json", target, "rename")
    assert child.returncode == -signal.SIGKILL, child.stderr
    assert target.read_bytes() == b"previous"
    (temporary,) = tmp_path.glob(".m.json.*.tmp")
    assert temporary.read_bytes().rstrip().endswith(b"1999\n  ]\n}")  # complete, unpublished


def _pid_of(temporary: Path) -> int:
    return int(temporary.name.split(".")[-3])


@pytest.mark.parametrize("value", ["metrics", "metrics:", "metrics:0", "metrics:-3", ":5", "m:x"])
def test_a_malformed_fault_request_is_refused(value, monkeypatch):
    monkeypatch.setenv(_faults.FAULT_ENV, value)
    with pytest.raises(ValueError, match="<dataset name>:<bytes>"):
        _faults.requested()


def test_the_fault_aid_is_inert_unless_armed_for_that_file(tmp_path, monkeypatch):
    monkeypatch.delenv(_faults.FAULT_ENV, raising=False)
    assert _faults.requested() is None
    with atomic_open(tmp_path / "f.bin") as file:
        file.write(b"x" * 10_000)
    assert (tmp_path / "f.bin").stat().st_size == 10_000
    _faults.arm("another", tmp_path / "another.bin", 10)
    try:
        with atomic_open(tmp_path / "f.bin") as file:  # another file: not touched
            file.write(b"y" * 100)
    finally:
        _faults.disarm()
    assert (tmp_path / "f.bin").read_bytes() == b"y" * 100


def test_a_fault_request_names_a_dataset_and_a_point(monkeypatch):
    monkeypatch.setenv(_faults.FAULT_ENV, "lstm.onnx_model:rename")
    assert _faults.requested() == ("lstm.onnx_model", "rename")
    monkeypatch.setenv(_faults.FAULT_ENV, "forecast_metrics:1853")
    assert _faults.requested() == ("forecast_metrics", 1853)
