"""``LightningCheckpointDataset``: a Lightning ``.ckpt`` file as a catalog dataset."""

from __future__ import annotations

import hashlib
import io
import re
import zipfile
from pathlib import Path
from typing import Any

from lstm_forecast.errors import ArtifactError

from ._local_file import AtomicLocalFileDataset

_REQUIRED_KEYS = ("state_dict", "hyper_parameters")
_RERUN = "Rerun `kedro run --pipelines=training` to write a new one."
# torch's message for a file its weights-only unpickler refuses advises loading it with
# weights_only=False (running whatever code it holds) or allow-listing its globals. Only
# the sentences that say what was found are kept; the wording differs between versions.
_ADVICE = re.compile(
    r"weights.only|safe_globals|trust|documentation|two options|\(\d\)", re.IGNORECASE
)
_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\n+")


def sidecar_path(path: str | Path) -> Path:
    """The ``<checkpoint>.sha256`` file beside ``path`` (``sha256sum -c`` reads it)."""
    path = Path(path)
    return path.with_name(f"{path.name}.sha256")


def _torch_reason(error: Exception) -> str:
    """What torch found wrong with a file, without its advice to disable ``weights_only``."""
    text = _ANSI.sub("", str(error))
    sentences = [part.strip() for part in _SENTENCE_END.split(text) if part.strip()]
    facts = [
        sentence.removeprefix("WeightsUnpickler error:").strip()
        for sentence in sentences
        if not _ADVICE.search(sentence)
    ]
    if len(facts) < len(sentences):  # the weights-only unpickler refused something
        found = f": {facts[0].rstrip('.')}" if facts else ""
        return f"it holds Python objects that are not tensors or plain values{found}; none was run"
    return f"{type(error).__name__}: {facts[0]}" if facts else type(error).__name__


class LightningCheckpointDataset(AtomicLocalFileDataset):
    """Saves and loads a Lightning checkpoint dict, with a sha256 file beside it.

    Saving writes the checkpoint, then ``<file>.sha256`` (both atomically). Loading refuses
    the file unless its sha256 matches that record, every zip member passes its CRC check
    (``torch.save`` writes a zip; ``torch.load`` does not check CRCs), and
    ``torch.load(weights_only=True)`` accepts it, so a checkpoint can carry tensors and
    plain Python values only, never code. Each refusal names the file and the rerun command.

    Example catalog entry::

        model_checkpoint:
          type: lstm_forecast.datasets.LightningCheckpointDataset
          filepath: data/06_models/model.ckpt
    """

    def load(self) -> dict[str, Any]:
        path, payload = self._read_bytes()
        self._verify(path, payload)
        import torch  # noqa: PLC0415 - only on use: building the catalog needs no torch

        try:
            checkpoint = torch.load(io.BytesIO(payload), map_location="cpu", weights_only=True)
        except Exception as error:
            raise ArtifactError(
                f"{path} is not a readable Lightning checkpoint: {_torch_reason(error)}. "
                f"It was not written by this project's training, or was altered. {_RERUN}"
            ) from None  # torch's message (and its weights_only=False advice) stays out
        missing = [key for key in _REQUIRED_KEYS if key not in checkpoint]
        if missing:
            raise ArtifactError(
                f"{path} is a torch file but not a Lightning checkpoint: it lacks {missing}. "
                f"{_RERUN}"
            )
        return checkpoint

    def save(self, data: dict[str, Any]) -> None:
        import torch  # noqa: PLC0415

        buffer = io.BytesIO()
        torch.save(data, buffer)
        payload = buffer.getvalue()
        path = Path(self._get_save_path())
        self._write_bytes(payload, path)
        # After the checkpoint: a kill in between leaves a record that does not match, which
        # load refuses, rather than a record that vouches for a file never written.
        digest = hashlib.sha256(payload).hexdigest()
        self._write_bytes(f"{digest}  {path.name}\n".encode(), sidecar_path(path))

    @staticmethod
    def _verify(path: Path, payload: bytes) -> None:
        """Refuse ``payload`` unless it matches its sha256 record and passes its zip CRCs."""
        record = sidecar_path(path)
        problem = _zip_problem(payload)
        detail = f" ({problem})" if problem else ""
        try:
            expected = record.read_text().split()[0]
        except (OSError, IndexError):
            raise ArtifactError(
                f"{path} is not a readable Lightning checkpoint: its sha256 record {record} "
                f"is missing or empty, so its content cannot be verified{detail}. {_RERUN}"
            ) from None
        actual = hashlib.sha256(payload).hexdigest()
        if actual != expected:
            raise ArtifactError(
                f"{path} is not a readable Lightning checkpoint: its sha256 {actual[:16]}... "
                f"differs from {expected[:16]}... recorded in {record.name} when it was "
                f"saved, so it is damaged, truncated or was replaced{detail}. {_RERUN}"
            )
        if problem:
            raise ArtifactError(
                f"{path} is not a readable Lightning checkpoint: {problem}, although it "
                f"matches {record.name}. {_RERUN}"
            )


def _zip_problem(payload: bytes) -> str | None:
    """What is wrong with the zip archive ``torch.save`` wrote, or None if every CRC passes."""
    try:
        with zipfile.ZipFile(io.BytesIO(payload)) as archive:
            damaged = archive.testzip()
    except zipfile.BadZipFile:
        return "it is not a complete zip archive, which torch.save writes"
    except Exception as error:  # zlib.error, EOFError... from a damaged member's stream
        return f"its zip archive cannot be read: {type(error).__name__}"
    return f"zip member {damaged!r} fails its CRC check" if damaged else None
