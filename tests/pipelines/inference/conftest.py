"""Fixtures for the inference tests."""

from __future__ import annotations

from typing import Any

import pytest

from ._helpers import project_parameters


@pytest.fixture(scope="session")
def base_params() -> dict[str, Any]:
    return project_parameters()


@pytest.fixture
def inference_params(base_params: dict[str, Any]) -> dict[str, Any]:
    """``params:inference`` from conf/base with every bar kept, as a fresh copy."""
    return {**base_params["inference"], "tail_rows": None}


@pytest.fixture(scope="session")
def onnxruntime_params(base_params: dict[str, Any]) -> dict[str, Any]:
    return base_params["validation"]["onnxruntime"]
