"""Benchmarks cannot rot: every ``bench_*.py`` runs at tiny sizes, and a failure fails.

``run_all.py --quick`` runs each script in its own process; it exits 1 when one fails
(a missed goal is only a printed NO). A script that raises is what makes it fail, checked
here with a throw-away script in a copy of the folder.

The optional scripts (minutes at full size) run in tests/benchmarks/test_run_all_optional.py:
a module of its own, so that the two halves run on two test workers at once.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from ..conftest import PROJECT_ROOT, run_python

pytestmark = pytest.mark.e2e

BENCHMARKS = PROJECT_ROOT / "benchmarks"


# `python -c` with the runner's path and arguments: the runner as `__main__`.
_RUN_ALL = (
    "import runpy, sys\nsys.argv = sys.argv[1:]\nrunpy.run_path(sys.argv[0], run_name='__main__')\n"
)


def _run_all(folder: Path, *args: str, timeout: float) -> subprocess.CompletedProcess[str]:
    """``run_all.py --quick`` in a fork of the test worker's pre-imported process
    (``run_python``): its preload then imports nothing (5 s of CPU a run otherwise)."""
    return run_python(
        _RUN_ALL,
        PROJECT_ROOT,
        str(folder / "run_all.py"),
        "--quick",
        *args,
        check=False,
        timeout=timeout,
    )


def scripts(optional: bool) -> list[str]:
    """The benchmarks ``run_all.py`` finds, the optional ones or the others."""
    sys.path.insert(0, str(BENCHMARKS))
    try:
        import run_all
    finally:
        sys.path.remove(str(BENCHMARKS))
    return [name for name in run_all.discover() if (name in run_all.OPTIONAL) is optional]


def run_quick(names: list[str], smoke_project: Path) -> None:
    """``run_all.py --quick --only <names>``: each runs, none fails.

    The scripts that need a run's outputs (a fresh clone has published none) copy the
    session's smoke run instead of each making one.
    """
    assert names
    result = _run_all(
        BENCHMARKS,
        f"--only={','.join(names)}",
        f"--smoke-project={smoke_project}",
        timeout=1500,
    )
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-4000:]
    for name in names:
        assert f"===== bench_{name}.py --quick" in result.stdout
    # The table, not the scripts' own output: a set-up run's log may say FAILED of a check.
    table = result.stdout[result.stdout.rindex("Summary (") :]
    assert "FAILED" not in table
    assert "not run" not in table  # bench_forecaster.py without published files


def test_every_benchmark_is_in_one_of_the_two_halves() -> None:
    found = sorted(path.stem.removeprefix("bench_") for path in BENCHMARKS.glob("bench_*.py"))
    assert sorted(scripts(optional=False) + scripts(optional=True)) == found


def test_every_benchmark_but_the_optional_ones_runs_at_tiny_sizes(smoke_project: Path) -> None:
    run_quick(scripts(optional=False), smoke_project)


def test_a_failing_script_fails_the_run(tmp_path: Path) -> None:
    folder = tmp_path / "benchmarks"
    folder.mkdir()
    for name in ("run_all.py", "_common.py"):
        shutil.copy2(BENCHMARKS / name, folder / name)
    (folder / "bench_broken.py").write_text("raise AttributeError('stale parameter layout')\n")
    (folder / "bench_fine.py").write_text(
        "import json, sys\n"
        "out = sys.argv[sys.argv.index('--summary') + 1]\n"
        "row = dict(question='q', ours='1', reference='2', ratio='2x', goal='>= 3x', met=False)\n"
        "json.dump([row], open(out, 'w'))\n"
    )
    result = _run_all(folder, timeout=120)
    assert result.returncode == 1
    assert "1 benchmark(s) FAILED: broken" in result.stderr
    assert "FAILED (exit 1)" in result.stdout
    assert " NO" in result.stdout  # a missed goal is reported, and is not a failure
