"""A versionable local file whose writes are atomic."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path, PurePosixPath
from typing import Any

from kedro.io.core import AbstractVersionedDataset, Version


class AtomicLocalFileDataset(AbstractVersionedDataset):
    """Base for datasets stored as one local file.

    Bytes go to a temporary file in the target folder, which is then renamed over the
    target, so a crash never leaves a torn artefact where a later stage would read it.
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

    def _write_bytes(self, payload: bytes) -> None:
        path = Path(self._get_save_path())
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(
            dir=path.parent, prefix=f".{path.name}.", suffix=".tmp"
        )
        try:
            with os.fdopen(handle, "wb") as file:
                file.write(payload)
                file.flush()
                os.fsync(file.fileno())
            # mkstemp creates 0600 files; give the artefact the usual permissions.
            umask = os.umask(0)
            os.umask(umask)
            os.chmod(temporary, 0o666 & ~umask)
            os.replace(temporary, path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
