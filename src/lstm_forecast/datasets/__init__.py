"""The project's custom Kedro datasets: model artefacts written atomically, versionable."""

from .checkpoint_dataset import LightningCheckpointDataset
from .onnx_dataset import OnnxModelDataset

__all__ = ["LightningCheckpointDataset", "OnnxModelDataset"]
