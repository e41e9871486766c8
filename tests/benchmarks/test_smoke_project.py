"""``run_all.py --quick`` names one smoke run that every script needing a run's outputs copies.

The run itself (a 10-second `kedro run --env=smoke`) is replaced here by a recorder: what is
checked is who makes it and who copies it, which the two `run_all.py --quick` tests cannot
see (they hand it the session's smoke run).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from ..conftest import PROJECT_ROOT

sys.path.insert(0, str(PROJECT_ROOT / "benchmarks"))
import _common as c
import _quick
import run_all

sys.path.remove(str(PROJECT_ROOT / "benchmarks"))


@pytest.fixture
def runs(monkeypatch: pytest.MonkeyPatch) -> list[tuple[Path, str | None, list[str] | None]]:
    """Every session run asked for, each writing a model file as a real smoke run would."""
    made: list[tuple[Path, str | None, list[str] | None]] = []

    def session_run(project: Path, env: str | None = None, pipelines: list[str] | None = None):
        (project / "data" / "06_models" / "model.onnx").write_bytes(b"run %d" % len(made))
        made.append((project, env, pipelines))

    monkeypatch.setattr(c, "session_run", session_run)
    monkeypatch.delenv(c.SMOKE_RUN_ENV, raising=False)
    return made


def test_under_run_all_the_first_script_makes_the_run_and_the_others_copy_it(
    runs: list, tmp_path: Path
) -> None:
    with run_all.shared_smoke_run(None):
        shared = Path(os.environ[c.SMOKE_RUN_ENV])
        first = _quick.smoke_project(tmp_path / "first", ["ingestion", "features"])
        second = _quick.smoke_project(tmp_path / "second")
        assert [(env, pipelines) for _, env, pipelines in runs] == [("smoke", None)]
        assert shared.is_dir() and not list(shared.parent.glob("*.making-*"))
        for copy in (first, second):
            assert (copy / "data/06_models/model.onnx").read_bytes() == b"run 0"
        (first / "data/06_models/model.onnx").write_bytes(b"changed by a script")
        assert (second / "data/06_models/model.onnx").read_bytes() == b"run 0"
    assert c.SMOKE_RUN_ENV not in os.environ
    assert not shared.parent.exists()  # run_all's folder, removed at the end


def test_a_given_smoke_run_is_copied_and_never_remade(runs: list, tmp_path: Path) -> None:
    given = c.copy_project(tmp_path / "given")
    (given / "data/06_models/model.onnx").write_bytes(b"given")
    with run_all.shared_smoke_run(given):
        copy = _quick.smoke_project(tmp_path / "copy")
    assert runs == []
    assert (copy / "data/06_models/model.onnx").read_bytes() == b"given"
    assert given.is_dir()  # not run_all's to remove


def test_alone_a_script_makes_only_the_pipelines_it_needs(runs: list, tmp_path: Path) -> None:
    project = _quick.smoke_project(tmp_path / "alone", ["ingestion", "features"])
    assert runs == [(project, "smoke", ["ingestion", "features"])]
