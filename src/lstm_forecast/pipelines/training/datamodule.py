"""Windows served to Lightning straight from one feature matrix."""

from __future__ import annotations

import numpy as np
import pytorch_lightning as pl
import torch
from torch.utils.data import DataLoader, Dataset

from lstm_forecast.timeseries.windows import gather_windows


class WindowDataset(Dataset):
    """The windows ending at ``end_rows``; a batch is copied out only when it is asked for."""

    def __init__(
        self, matrix: np.ndarray, targets: np.ndarray, end_rows: np.ndarray, window_length: int
    ) -> None:
        self.matrix = matrix
        self.targets = targets
        self.end_rows = np.asarray(end_rows, dtype=np.int64)
        self.window_length = window_length

    def __len__(self) -> int:
        return len(self.end_rows)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        windows, targets = self.__getitems__([index])
        return windows[0], targets[0]

    def __getitems__(self, indices: list[int]) -> tuple[torch.Tensor, torch.Tensor]:
        # DataLoader calls this with a whole batch of indices: one vectorised gather.
        ends = self.end_rows[np.asarray(indices)]
        windows = gather_windows(self.matrix, ends, self.window_length)
        return torch.from_numpy(windows), torch.from_numpy(self.targets[ends])


def _keep_batch(batch: tuple[torch.Tensor, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
    return batch


class WindowDataModule(pl.LightningDataModule):
    """Train and validation loaders over one scaled feature matrix."""

    def __init__(
        self,
        matrix: np.ndarray,
        targets: np.ndarray,
        train_end_rows: np.ndarray,
        val_end_rows: np.ndarray,
        window_length: int,
        batch_size: int,
    ) -> None:
        super().__init__()
        self.matrix = np.ascontiguousarray(matrix, dtype=np.float32)
        self.targets = np.ascontiguousarray(targets, dtype=np.float32)
        self.end_rows = {"train": train_end_rows, "val": val_end_rows}
        self.window_length = window_length
        self.batch_size = batch_size

    def _loader(self, split: str, shuffle: bool) -> DataLoader:
        dataset = WindowDataset(self.matrix, self.targets, self.end_rows[split], self.window_length)
        return DataLoader(
            dataset, batch_size=self.batch_size, shuffle=shuffle, collate_fn=_keep_batch
        )

    def train_dataloader(self) -> DataLoader:
        return self._loader("train", shuffle=True)

    def val_dataloader(self) -> DataLoader:
        return self._loader("val", shuffle=False)
