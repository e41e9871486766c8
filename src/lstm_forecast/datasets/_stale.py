"""Remove what killed runs left behind: the atomic writer's temporary files, Lightning's folder."""

from __future__ import annotations

import logging
import os
import re
import shutil
import tempfile
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from kedro.io.core import get_protocol_and_path

from ._atomic import parse_temporary

logger = logging.getLogger(__name__)

# Scratch folders (Lightning's checkpoints while training, ONNX variants while optimising)
# are tempfile.TemporaryDirectory(prefix=f"lstm-forecast-<what>-{os.getpid()}-"): the code
# that makes one deletes it, a killed run cannot.
SCRATCH_PREFIX = "lstm-forecast-"
_SCRATCH = re.compile(re.escape(SCRATCH_PREFIX) + r"[a-z0-9]+-(?:(?P<pid>\d+)-)?[A-Za-z0-9_]{8}$")
# A scratch folder without a pid in its name (made before the pid was added) is left alone
# until nothing in it has changed for this long: no training run goes a day without a write.
_UNNAMED_SCRATCH_AGE_S = 24 * 3600
# The writer before the pid was added to temporary names: `.<target>.<8 random>.tmp`.
_UNNAMED_TEMPORARY = re.compile(r"^\.(?P<target>.+)\.[A-Za-z0-9_]{8}\.tmp$")


def process_alive(pid: int) -> bool:
    """Whether a process with this id exists (this process counts as alive)."""
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    return True


def catalog_files(catalog: Any, names: Iterable[str] = ()) -> list[tuple[str, Path, str]]:
    """``(name, local path, kind)`` of each catalog entry stored on the local disk.

    The catalog's own entries, and ``names`` (e.g. a pipeline's datasets) resolved through
    its dataset patterns. ``kind`` is ``"file"``, ``"versioned"`` (the path is a folder of
    versions) or ``"folder"`` (a partitioned dataset's ``path``). Read from the resolved
    config, not by building the datasets: building them would import each dataset's
    libraries (torch for a checkpoint) in torch-free runs.
    """
    resolver = catalog.config_resolver
    configs = dict(resolver.config)
    for name in names:
        if name not in configs and not name.startswith("params:") and name != "parameters":
            configs[name] = resolver.resolve_pattern(name)
    files = []
    for name, config in configs.items():
        if not isinstance(config, dict):
            continue
        location, kind = config.get("filepath"), "file"
        if config.get("versioned"):
            kind = "versioned"
        if location is None and "dataset" in config:  # PartitionedDataset and the like
            location, kind = config.get("path"), "folder"
        if not isinstance(location, str):
            continue
        protocol, path = get_protocol_and_path(location)
        if protocol in ("file", "local"):
            files.append((name, Path(path), kind))
    return files


def stale_temporary_files(target: Path, kind: str = "file") -> list[Path]:
    """Temporary files for ``target`` whose writer is gone (in version folders too)."""
    if kind == "folder":  # any file of a partitioned dataset, at any depth
        candidates = list(target.rglob(".*.tmp")) if target.is_dir() else []
    else:
        folders = [target.parent]
        if kind == "versioned" and target.is_dir():
            folders += [child for child in target.iterdir() if child.is_dir()]
        candidates = [c for folder in folders for c in folder.glob(f".{target.name}.*.tmp")]
    stale = []
    for candidate in candidates:
        parsed = parse_temporary(candidate.name)
        if parsed is not None:
            if not process_alive(parsed[1]):
                stale.append(candidate)
        elif kind != "folder" and _UNNAMED_TEMPORARY.match(candidate.name):
            stale.append(candidate)
    return stale


def remove_stale_temporary_files(files: Iterable[tuple[str, Path, str]]) -> list[Path]:
    """Delete stale temporary files of each ``(name, path, kind)``; log them."""
    removed = []
    for name, target, kind in files:
        for stale in stale_temporary_files(target, kind):
            try:
                size = stale.stat().st_size
                stale.unlink()
            except FileNotFoundError:
                continue
            logger.warning(
                "Removed %s (%d bytes): a write of %r interrupted by a killed run; "
                "the dataset's file was left as it was before that write.",
                stale,
                size,
                name,
            )
            removed.append(stale)
    return removed


def remove_stale_scratch_folders(root: Path | None = None) -> list[Path]:
    """Delete scratch folders (``lstm-forecast-<what>-<pid>-*``) of processes that are gone."""
    root = Path(root or tempfile.gettempdir())
    removed = []
    for folder in root.glob(f"{SCRATCH_PREFIX}*"):
        match = _SCRATCH.match(folder.name)
        if not match or not folder.is_dir() or folder.is_symlink():
            continue
        if match["pid"] is not None:
            if process_alive(int(match["pid"])):
                continue
        elif time.time() - _newest_change(folder) < _UNNAMED_SCRATCH_AGE_S:
            continue
        shutil.rmtree(folder, ignore_errors=True)
        if not folder.exists():
            logger.warning("Removed %s: a scratch folder left by a killed run.", folder)
            removed.append(folder)
    return removed


def _newest_change(folder: Path) -> float:
    times = [folder.stat().st_mtime]
    for path in folder.rglob("*"):
        try:
            times.append(path.stat().st_mtime)
        except OSError:
            continue
    return max(times)
