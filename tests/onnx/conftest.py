"""Each test module of the ONNX graphs exports its own feature and price graphs."""

from __future__ import annotations

import pytest

from lstm_forecast.onnx import forecaster_graph


@pytest.fixture(autouse=True, scope="module")
def _fresh_graph_exports() -> None:
    # build_forecaster keeps exported graphs per process; mutmut runs every mutant's tests
    # in a fork of a process that built them already, so a cached graph would hide the
    # mutant. Clearing per module costs one export (~0.3 s) per graph a module builds.
    forecaster_graph._EXPORTED.clear()
