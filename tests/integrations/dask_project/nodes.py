"""Small nodes that say where they ran."""

from __future__ import annotations

import os
import time
from typing import Any

from kedro.pipeline import Node, Pipeline


def double(numbers: list[int]) -> list[int]:
    return [2 * n for n in numbers]


def pid_after_a_while(numbers: list[int]) -> int:
    time.sleep(1.0)  # long enough for both workers to be busy at once
    return os.getpid()


def combine(doubled: list[int], pid_b: int, pid_c: int) -> dict[str, Any]:
    return {"doubled": doubled, "pids": [pid_b, pid_c], "here": os.getpid()}


def fail(numbers: list[int]) -> None:
    raise ValueError(f"cannot use {numbers}: set numbers to something else")


def fan_out_pipeline() -> Pipeline:
    """``double`` feeds ``store`` (a file) and ``combine`` (memory); b and c run side by side."""
    return Pipeline(
        [
            Node(double, "numbers", "doubled", name="double"),
            Node(double, "doubled", "stored", name="store"),
            Node(pid_after_a_while, "stored", "pid_b", name="b"),
            Node(pid_after_a_while, "stored", "pid_c", name="c"),
            Node(combine, ["doubled", "pid_b", "pid_c"], "combined", name="combine"),
        ]
    )


def failing_pipeline() -> Pipeline:
    return Pipeline(
        [
            Node(double, "numbers", "doubled", name="double"),
            Node(fail, "doubled", None, name="fail"),
        ]
    )
