"""``OnnxModelDataset``: an ``.onnx`` file as a catalog dataset."""

from __future__ import annotations

import onnx
from google.protobuf.message import DecodeError

from lstm_forecast.errors import ArtifactError

from ._local_file import AtomicLocalFileDataset


class OnnxModelDataset(AtomicLocalFileDataset):
    """Saves and loads an ``onnx.ModelProto`` (weights inside the file, no external data).

    Example catalog entry::

        onnx_model:
          type: lstm_forecast.datasets.OnnxModelDataset
          filepath: data/06_models/model.onnx
          versioned: true   # optional: keep every export
    """

    def load(self) -> onnx.ModelProto:
        path, payload = self._read_bytes()
        try:
            model = onnx.load_model_from_string(payload)
        except (DecodeError, ValueError, RuntimeError) as error:
            raise ArtifactError(
                f"{path} is not a readable ONNX model ({type(error).__name__}: {error}). "
                "It may be truncated or corrupt: rerun `kedro run --pipelines=export`."
            ) from error
        if not model.graph.node:
            raise ArtifactError(
                f"{path} parses but holds an empty graph ({len(payload)} bytes): it is not a "
                "model this project wrote. Rerun `kedro run --pipelines=export`."
            )
        return model

    def save(self, data: onnx.ModelProto) -> None:
        self._write_bytes(data.SerializeToString())
