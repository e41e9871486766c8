"""A versionable local file whose writes are atomic."""

from __future__ import annotations

from pathlib import Path, PurePosixPath
from typing import Any

from kedro.io.core import AbstractVersionedDataset, Version

from ._atomic import atomic_open


class AtomicLocalFileDataset(AbstractVersionedDataset):
    """Base for datasets stored as one local file.

    Bytes go through the project's one atomic writer (``_atomic.atomic_open``): a temporary
    file in the target folder, fsynced, then renamed over the target, so a crash never leaves
    a torn artefact where a later stage would read it.
    """

    def __init__(
        self,
        *,
        filepath: str,
        version: Version | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(filepath=PurePosixPath(Path(filepath).as_posix()), version=version)
        self.metadata = metadata

    def _describe(self) -> dict[str, Any]:
        return {"filepath": str(self._filepath), "version": self._version}

    def _exists(self) -> bool:
        try:
            return Path(self._get_load_path()).is_file()
        except Exception:
            return False

    def _read_bytes(self) -> tuple[Path, bytes]:
        path = Path(self._get_load_path())
        return path, path.read_bytes()

    def _write_bytes(self, payload: bytes, path: Path | None = None) -> None:
        """Write ``payload`` atomically to ``path`` (default: the dataset's save path)."""
        with atomic_open(path or self._get_save_path()) as file:
            file.write(payload)
