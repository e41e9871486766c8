"""``LightningCheckpointDataset``: a Lightning ``.ckpt`` file as a catalog dataset."""

from __future__ import annotations

import io
from typing import Any

import torch

from lstm_forecast.errors import ArtifactError

from ._local_file import AtomicLocalFileDataset

_REQUIRED_KEYS = ("state_dict", "hyper_parameters")


class LightningCheckpointDataset(AtomicLocalFileDataset):
    """Saves and loads a Lightning checkpoint dict.

    Loading uses ``torch.load(weights_only=True)``, so a checkpoint can carry tensors and
    plain Python values only, never code.

    Example catalog entry::

        model_checkpoint:
          type: lstm_forecast.datasets.LightningCheckpointDataset
          filepath: data/06_models/model.ckpt
    """

    def load(self) -> dict[str, Any]:
        path, payload = self._read_bytes()
        try:
            checkpoint = torch.load(io.BytesIO(payload), map_location="cpu", weights_only=True)
        except Exception as error:
            raise ArtifactError(
                f"{path} is not a readable Lightning checkpoint ({type(error).__name__}: "
                f"{error}). It may be truncated or corrupt: rerun `kedro run --pipelines=training`."
            ) from error
        missing = [key for key in _REQUIRED_KEYS if key not in checkpoint]
        if missing:
            raise ArtifactError(
                f"{path} is a torch file but not a Lightning checkpoint: it lacks {missing}. "
                "Rerun `kedro run --pipelines=training`."
            )
        return checkpoint

    def save(self, data: dict[str, Any]) -> None:
        buffer = io.BytesIO()
        torch.save(data, buffer)
        self._write_bytes(buffer.getvalue())
