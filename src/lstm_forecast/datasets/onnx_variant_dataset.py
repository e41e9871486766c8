"""``OnnxVariantDataset``: a published ONNX variant, or the absence of a dropped one."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import onnx

from lstm_forecast.errors import ArtifactError

from .onnx_dataset import OnnxModelDataset


@dataclasses.dataclass(frozen=True)
class DroppedVariant:
    """Stands for a variant that was not published, and why (``on_failure: drop``)."""

    variant: str
    reason: str


class OnnxVariantDataset(OnnxModelDataset):
    """An ``OnnxModelDataset`` that can also be told a variant was dropped.

    Saving a ``DroppedVariant`` writes nothing and deletes the file a previous run left at
    the path, so that ``inference.variant`` can never serve a variant that did not pass
    this run's checks. Loading a missing file says so.

    Example catalog entry::

        lstm.onnx_model_int8:
          type: lstm_forecast.datasets.onnx_variant_dataset.OnnxVariantDataset
          filepath: data/06_models/model.int8.onnx
    """

    def load(self) -> onnx.ModelProto:
        path = Path(self._get_load_path())
        if not path.is_file():
            raise ArtifactError(
                f"No ONNX variant at {path}: the variants stage dropped it or has not run "
                "(see its variants report under data/08_reporting/). Run `kedro run "
                "--pipelines=variants`, or serve another variant (inference.variant: fp32)."
            )
        return super().load()

    def save(self, data: onnx.ModelProto | DroppedVariant) -> None:
        if isinstance(data, DroppedVariant):
            if self._version is None:
                Path(self._get_save_path()).unlink(missing_ok=True)
            return
        super().save(data)
