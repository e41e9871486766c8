"""Edges of the durable datasets that mutation testing showed unpinned, each worked by hand.

Stale-file cleanup (which names count, which folders are searched, what a vanished file or
an unreadable entry does), the fault aid in this process (with ``os.kill`` recorded, not
sent), torch's refusal worded without its advice, and the ONNX dataset's messages.
"""

from __future__ import annotations

import io
import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import onnx
import pytest
from kedro.io import DataCatalog
from kedro.io.core import DatasetError, Version

from lstm_forecast.datasets import _faults, _stale
from lstm_forecast.datasets.checkpoint_dataset import _torch_reason
from lstm_forecast.datasets.onnx_dataset import OnnxModelDataset


def test_this_process_is_alive():
    assert _stale.process_alive(os.getpid())


def test_parameters_are_never_resolved_as_files(tmp_path):
    # A catch-all pattern would turn any name into a file; parameters are not datasets.
    catalog = DataCatalog.from_config(
        {"{name}": {"type": "json.JSONDataset", "filepath": str(tmp_path / "{name}.json")}}
    )
    files = _stale.catalog_files(catalog, ["params:x", "parameters", "report"])
    assert files == [("report", tmp_path / "report.json", "file")]


def _fake_catalog(config: dict) -> SimpleNamespace:
    resolver = SimpleNamespace(config=config, resolve_pattern=lambda name: {})
    return SimpleNamespace(config_resolver=resolver)


def test_odd_entries_are_skipped_and_wrappers_keep_their_filepath():
    catalog = _fake_catalog(
        {
            "not_a_mapping": "a string",
            "wrapper": {"type": "Wrap", "filepath": "data/w.json", "dataset": {"type": "x"}},
            "local": {"type": "json.JSONDataset", "filepath": "local:///srv/l.json"},
            "remote": {"type": "json.JSONDataset", "filepath": "s3://bucket/r.json"},
            "plain": {"type": "json.JSONDataset", "filepath": "data/p.json"},
        }
    )
    assert _stale.catalog_files(catalog) == [
        ("wrapper", Path("data/w.json"), "file"),
        ("local", Path("/srv/l.json"), "file"),
        ("plain", Path("data/p.json"), "file"),
    ]


def test_a_file_datasets_search_is_its_own_folder_only(tmp_path, dead_pid):
    target = tmp_path / "model.onnx"
    target.mkdir()  # a "file" dataset whose path is a folder: its inside is not searched
    inner = target / "v1"
    inner.mkdir()
    (inner / f".model.onnx.{dead_pid}.abcdefgh.tmp").write_bytes(b"x")
    beside = tmp_path / f".model.onnx.{dead_pid}.abcdefgh.tmp"
    beside.write_bytes(b"x")
    not_the_writers = tmp_path / ".model.onnx.abc.tmp"  # 3 random characters: not ours
    not_the_writers.write_bytes(b"x")
    assert _stale.stale_temporary_files(target) == [beside]


def test_a_versioned_dataset_is_searched_beside_and_in_each_version(tmp_path, dead_pid):
    target = tmp_path / "model.ckpt"
    version = target / "2026-01-01T00.00.00.000Z"
    version.mkdir(parents=True)
    inside = version / f".model.ckpt.{dead_pid}.abcdefgh.tmp"
    beside = tmp_path / f".model.ckpt.{dead_pid}.abcdefgh.tmp"
    for path in (inside, beside):
        path.write_bytes(b"x")
    assert sorted(_stale.stale_temporary_files(target, "versioned")) == sorted([inside, beside])


def test_a_partitioned_folder_keeps_files_not_named_by_the_writer(tmp_path, dead_pid):
    folder = tmp_path / "parts"
    folder.mkdir()
    legacy_looking = folder / ".part.json.abcdefgh.tmp"  # no pid: not ours to judge here
    legacy_looking.write_bytes(b"x")
    stale = folder / f".part.json.{dead_pid}.abcdefgh.tmp"
    stale.write_bytes(b"x")
    assert _stale.stale_temporary_files(folder, "folder") == [stale]


def test_a_file_gone_before_its_removal_is_skipped_and_the_rest_removed(
    tmp_path, monkeypatch, caplog
):
    gone, there = tmp_path / ".a.1.x.tmp", tmp_path / ".a.2.y.tmp"
    there.write_bytes(b"12345")
    monkeypatch.setattr(_stale, "stale_temporary_files", lambda target, kind: [gone, there])
    with caplog.at_level(logging.WARNING, logger=_stale.__name__):
        removed = _stale.remove_stale_temporary_files([("a", tmp_path / "a", "file")])
    assert removed == [there] and not there.exists()
    assert caplog.messages == [
        f"Removed {there} (5 bytes): a write of 'a' interrupted by a killed run; "
        "the dataset's file was left as it was before that write."
    ]


def test_every_dead_scratch_folder_goes_whatever_lies_between(tmp_path, dead_pid, live_pid, caplog):
    # Twelve of each, interleaved on disk: one live or foreign folder must not end the scan.
    dead = [tmp_path / f"lstm-forecast-ckpt-{dead_pid}-dead{i:04d}" for i in range(12)]
    kept = [tmp_path / f"lstm-forecast-ckpt-{live_pid}-live{i:04d}" for i in range(12)]
    kept += [tmp_path / f"lstm-forecast-x{i}" for i in range(12)]  # the prefix, not our shape
    for folder in dead + kept:
        folder.mkdir()
    with caplog.at_level(logging.WARNING, logger=_stale.__name__):
        removed = _stale.remove_stale_scratch_folders(tmp_path)
    assert sorted(removed) == sorted(dead)
    assert sorted(tmp_path.iterdir()) == sorted(kept)
    assert f"Removed {dead[0]}: a scratch folder left by a killed run." in caplog.messages


def test_an_old_unnamed_scratch_folder_with_a_recent_file_is_kept(tmp_path):
    folder = tmp_path / "lstm-forecast-ckpt-abcd1234"
    (folder / "sub").mkdir(parents=True)
    (folder / "sub" / "last.ckpt").write_bytes(b"written just now")
    os.symlink(tmp_path / "nowhere", folder / "broken")  # cannot be stat'ed: skipped
    two_days_ago = time.time() - 2 * 86400
    for path in (folder / "sub", folder):
        os.utime(path, (two_days_ago, two_days_ago))
    assert _stale.remove_stale_scratch_folders(tmp_path) == []
    assert (folder / "sub" / "last.ckpt").exists()


def test_a_fault_request_splits_at_the_last_colon(monkeypatch):
    monkeypatch.setenv(_faults.FAULT_ENV, "ns:dataset:1")
    assert _faults.requested() == ("ns:dataset", 1)  # one byte is a valid point
    monkeypatch.setenv(_faults.FAULT_ENV, "x:0")
    with pytest.raises(ValueError) as raised:
        _faults.requested()
    assert str(raised.value) == (
        f"{_faults.FAULT_ENV}='x:0': expected <dataset name>:<bytes> (a positive integer) "
        "or <dataset name>:rename. Unset it for a normal run."
    )


def test_arming_records_the_fault_and_says_so(tmp_path, caplog):
    try:
        with caplog.at_level(logging.WARNING, logger=_faults.__name__):
            _faults.arm("metrics", tmp_path / "m.json", 100)
            assert _faults._armed == _faults.Fault("metrics", str(tmp_path / "m.json"), 100)
            _faults.arm("model", "rel.onnx", "rename")
            assert _faults._armed == _faults.Fault("model", os.path.abspath("rel.onnx"), "rename")
    finally:
        _faults.disarm()
    assert _faults._armed is None
    assert caplog.messages == [
        f"{_faults.FAULT_ENV}: this run will be killed while it writes 'metrics' "
        f"({tmp_path / 'm.json'}, after 100 bytes).",
        f"{_faults.FAULT_ENV}: this run will be killed while it writes 'model' "
        "(rel.onnx, before the rename).",
    ]


class _Opened:
    def __init__(self, closed: bool = False) -> None:
        self.f = SimpleNamespace(closed=closed, flush=self._flush)
        self.flushed = 0

    def _flush(self) -> None:
        self.flushed += 1


def test_the_kill_flushes_then_sends_this_process_sigkill(monkeypatch, caplog):
    sent = []
    monkeypatch.setattr(_faults.os, "kill", lambda pid, sig: sent.append((pid, sig)))
    fault = _faults.Fault("metrics", "/x", 10)
    file = _Opened()
    with caplog.at_level(logging.WARNING, logger=_faults.__name__):
        _faults._kill(fault, file, "after 10 bytes of its write")
    assert sent == [(os.getpid(), signal.SIGKILL)]
    assert file.flushed == 1
    assert caplog.messages == [
        f"{_faults.FAULT_ENV}: killing this run after 10 bytes of its write of 'metrics'."
    ]
    closed = _Opened(closed=True)
    _faults._kill(fault, closed, "before the rename")
    assert closed.flushed == 0 and len(sent) == 2


def test_a_versioned_dataset_with_no_version_does_not_exist(tmp_path):
    dataset = OnnxModelDataset(filepath=str(tmp_path / "m.onnx"), version=Version(None, None))
    assert not dataset.exists()


def test_the_onnx_datasets_refusals_name_the_file_and_the_fix(tmp_path):
    path = tmp_path / "m.onnx"
    path.write_bytes(b"\xff\xff\xff")
    with pytest.raises(DatasetError) as raised:  # Kedro wraps the dataset's own error
        OnnxModelDataset(filepath=str(path)).load()
    message = str(raised.value)
    assert f"\n{path} is not a readable ONNX model (DecodeError: " in message
    assert message.endswith("It may be truncated or corrupt: rerun `kedro run --pipelines=export`.")
    empty = onnx.helper.make_model(onnx.helper.make_graph([], "empty", [], []))
    path.write_bytes(empty.SerializeToString())
    with pytest.raises(DatasetError) as raised:
        OnnxModelDataset(filepath=str(path)).load()
    assert str(raised.value).endswith(
        f"\n{path} parses but holds an empty graph ({empty.ByteSize()} bytes): it is not a "
        "model this project wrote. Rerun `kedro run --pipelines=export`."
    )


# torch's refusal, shaped as torch 2.x words it: a colour code, the finding, then advice.
REFUSED = (
    "\x1b[1mWeights only load failed. This file can still be loaded, to do so you have two "
    "options, do those steps only if you trust the source of the checkpoint.\x1b[0m\n"
    "(1) In PyTorch 2.6, we changed the default value of the `weights_only` argument.\n"
    "WeightsUnpickler error: Unsupported global: GLOBAL posix.system was not an allowed "
    "global by default. Please use `torch.serialization.add_safe_globals([system])`.\n"
    "Check the documentation of torch.load to learn more."
)


def test_torchs_refusal_keeps_the_finding_and_drops_the_advice():
    assert _torch_reason(RuntimeError(REFUSED)) == (
        "it holds Python objects that are not tensors or plain values: Unsupported global: "
        "GLOBAL posix.system was not an allowed global by default; none was run"
    )
    # A finding ending in a capital X keeps it (only the full stop goes).
    ends_in_x = RuntimeError("WeightsUnpickler error: Unsupported global: GLOBAL a.BoX.\n(1) x")
    assert _torch_reason(ends_in_x).endswith(": Unsupported global: GLOBAL a.BoX; none was run")
    only_advice = RuntimeError("Please use weights_only=False if you trust it.")
    assert _torch_reason(only_advice) == (
        "it holds Python objects that are not tensors or plain values; none was run"
    )


def test_any_other_torch_error_is_named_by_its_type_and_first_sentence():
    error = RuntimeError(
        "\x1b[31mPytorchStreamReader failed reading zip archive: failed finding central "
        "directory.\x1b[0m Second sentence."
    )
    assert _torch_reason(error) == (
        "RuntimeError: PytorchStreamReader failed reading zip archive: failed finding "
        "central directory."
    )
    assert _torch_reason(EOFError()) == "EOFError"
    assert _torch_reason(io.UnsupportedOperation("")) == "UnsupportedOperation"


def test_asking_whether_a_process_lives_sends_it_nothing():
    # The child takes every signal's default action (under nohup SIGHUP would be ignored).
    code = (
        "import signal, time\n"
        "for sig in (signal.SIGHUP, signal.SIGINT, signal.SIGTERM):\n"
        "    signal.signal(sig, signal.SIG_DFL)\n"
        "time.sleep(60)"
    )
    child = subprocess.Popen([sys.executable, "-c", code])
    time.sleep(0.5)  # its handlers are set
    try:
        assert _stale.process_alive(child.pid)
        time.sleep(0.3)
        assert child.poll() is None  # still running: signal 0 only asks
    finally:
        child.kill()
        child.wait(timeout=30)
