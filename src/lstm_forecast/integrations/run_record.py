"""What a tracked run records, as plain Python on plain data (no MLflow): its parameter
blocks flattened with dots, the numbers in a report, the input file's identity, the commit.
"""

from __future__ import annotations

import hashlib
import math
import subprocess
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any


def flatten_params(
    params: Mapping[str, Any], blocks: tuple[str, ...], max_length: int
) -> tuple[dict[str, str], list[str]]:
    """The parameter blocks as MLflow params: dotted keys, ``str`` values.

    Args:
        params: The run's parameters (``conf/`` plus ``--params``).
        blocks: Top-level keys to log; missing ones are skipped.
        max_length: Values whose text is longer (big lists) are left out.

    Returns:
        The params to log, and the keys left out for length.
    """
    flat: dict[str, str] = {}
    skipped: list[str] = []
    for block in blocks:
        if block not in params:
            continue
        for key, value in _walk(params[block], block):
            text = str(value)
            if len(text) > max_length:
                skipped.append(key)
            else:
                flat[key] = text
    return flat, skipped


def _walk(value: Any, key: str) -> Iterator[tuple[str, Any]]:
    if isinstance(value, Mapping) and value:
        for child, item in value.items():
            yield from _walk(item, f"{key}.{child}")
    else:
        yield key, value


def numeric_leaves(value: Any, prefix: str = "", max_list: int = 50) -> dict[str, float]:
    """Every number in a nested dict/list as ``{dotted.key: float}`` (bools are left out).

    Args:
        value: A report (``forecast_metrics["headline"]``, a validation report, ...).
        prefix: Key prefix of ``value`` itself.
        max_list: Lists longer than this (per-window series) are left out.

    Returns:
        Metric names and values; NaN and infinities are left out (MLflow charts skip them).
    """
    found: dict[str, float] = {}
    if isinstance(value, bool) or value is None:
        return found
    if isinstance(value, int | float):
        if math.isfinite(value) and prefix:
            found[prefix] = float(value)
        return found
    if isinstance(value, Mapping):
        items = value.items()
    elif isinstance(value, list | tuple) and len(value) <= max_list:
        items = enumerate(value)
    else:
        return found
    for key, item in items:
        found.update(numeric_leaves(item, f"{prefix}.{key}" if prefix else str(key), max_list))
    return found


def data_file_params(path: Path) -> dict[str, str]:
    """The input file as MLflow params: name, sha256 and data rows (header not counted).

    Args:
        path: The CSV the run reads.

    Returns:
        ``data.file``, ``data.sha256`` and ``data.rows``.
    """
    digest = hashlib.sha256()
    lines = 0
    first = b""
    last_byte = b"\n"
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            if not first:
                first = chunk.split(b"\n", 1)[0]
            digest.update(chunk)
            lines += chunk.count(b"\n")
            last_byte = chunk[-1:]
    if last_byte != b"\n":
        lines += 1  # a last line without a newline
    header = not any(_is_number(field) for field in first.decode(errors="replace").split(","))
    return {
        "data.file": path.name,
        "data.sha256": digest.hexdigest(),
        "data.rows": str(max(lines - int(header), 0)),
    }


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def git_params(project_path: Path) -> dict[str, str]:
    """The project's git commit, and whether tracked files differ from it.

    Args:
        project_path: The Kedro project root.

    Returns:
        ``git.commit`` and ``git.dirty``; both ``"unknown"`` without git or a repository.
    """
    try:
        commit = _git(project_path, "rev-parse", "HEAD")
        dirty = bool(_git(project_path, "status", "--porcelain", "--untracked-files=no"))
    except (OSError, subprocess.SubprocessError):
        return {"git.commit": "unknown", "git.dirty": "unknown"}
    return {"git.commit": commit, "git.dirty": str(dirty).lower()}


def _git(project_path: Path, *args: str) -> str:
    result = subprocess.run(
        ["git", "-C", str(project_path), *args],
        capture_output=True,
        text=True,
        timeout=10,
        check=True,
    )
    return result.stdout.strip()
