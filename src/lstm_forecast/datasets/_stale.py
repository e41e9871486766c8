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

# Lightning writes its checkpoints under tempfile.gettempdir()/<prefix><pid>-<random> while
# training; the training node deletes the folder, a killed run cannot.
SCRATCH_PREFIX = "lstm-forecast-ckpt-"
_SCRATCH = re.compile(re.escape(SCRATCH_PREFIX) + r"(?:(?P<pid>\d+)-)?[A-Za-z0-9_]+$")
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


def catalog_files(catalog: Any) -> list[tuple[str, Path, bool]]:
    """``(name, local path, versioned)`` of each catalog entry stored in one local file.

    Read from the entries' resolved config, not by building the datasets: building them
    would import each dataset's libraries (torch for a checkpoint) in torch-free runs.
    """
    files = []
    for name, config in catalog.config_resolver.config.items():
        filepath = config.get("filepath") if isinstance(config, dict) else None
        if not isinstance(filepath, str):
            continue
        protocol, path = get_protocol_and_path(filepath)
        if protocol in ("file", "local"):
            files.append((name, Path(path), bool(config.get("versioned", False))))
    return files


def stale_temporary_files(target: Path, versioned: bool = False) -> list[Path]:
    """Temporary files for ``target`` whose writer is gone (in version folders too)."""
    folders = [target.parent]
    if versioned and target.is_dir():
        folders += [child for child in target.iterdir() if child.is_dir()]
    stale = []
    for folder in folders:
        for candidate in folder.glob(f".{target.name}.*.tmp"):
            parsed = parse_temporary(candidate.name)
            if parsed is not None:
                if not process_alive(parsed[1]):
                    stale.append(candidate)
            elif _UNNAMED_TEMPORARY.match(candidate.name):
                stale.append(candidate)
    return stale


def remove_stale_temporary_files(files: Iterable[tuple[str, Path, bool]]) -> list[Path]:
    """Delete stale temporary files beside each ``(name, path, versioned)``; log them."""
    removed = []
    for name, target, versioned in files:
        for stale in stale_temporary_files(target, versioned):
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
    """Delete training scratch folders (``lstm-forecast-ckpt-*``) of processes that are gone."""
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
            logger.warning("Removed %s: a training scratch folder left by a killed run.", folder)
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
