"""Several assets in one table: each asset's rows are one contiguous block, in run order.

Ingestion stacks the assets one after another and numbers segments across them, so a
window (which lies inside one segment) never crosses an asset. These helpers find each
asset's block, so per-asset work (baselines fit on that asset's training split, scores per
asset) runs on that asset's rows alone.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

# The name of the only asset of a table made before tables had an asset column.
SINGLE_ASSET = "asset"


def asset_blocks(table: pd.DataFrame) -> dict[str, slice]:
    """Each asset's rows as a slice, in the order the assets appear.

    Args:
        table: Candles or features, with an ``asset`` column (or none: one asset).

    Returns:
        Asset name -> ``slice(first_row, last_row + 1)``.

    Raises:
        ValueError: When an asset's rows are not one contiguous block.
    """
    if "asset" not in table or not len(table):
        return {SINGLE_ASSET: slice(0, len(table))}
    names = table["asset"].to_numpy()
    starts = np.flatnonzero(np.r_[True, names[1:] != names[:-1]])
    ends = np.r_[starts[1:], len(names)]
    blocks = {str(names[s]): slice(int(s), int(e)) for s, e in zip(starts, ends, strict=True)}
    if len(blocks) != len(starts):
        raise ValueError("An asset's rows are not one contiguous block of the table.")
    return blocks


def window_assets(windows: pd.DataFrame) -> np.ndarray:
    """The asset of each window (``SINGLE_ASSET`` for an index without an asset column)."""
    if "asset" in windows:
        return windows["asset"].astype(str).to_numpy()
    return np.full(len(windows), SINGLE_ASSET, dtype=object)
