"""The optional benchmarks (`make bench` leaves them out) run at tiny sizes too, and none fails.

Apart from tests/benchmarks/test_run_all.py so that the two halves run on two test workers.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from .test_run_all import run_quick, scripts

pytestmark = pytest.mark.e2e


def test_every_optional_benchmark_runs_at_tiny_sizes(smoke_project: Path) -> None:
    run_quick(scripts(optional=True), smoke_project)
