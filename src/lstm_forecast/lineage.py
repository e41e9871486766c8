"""Content fingerprints that tie each stage output to the inputs it was made from.

A stage records the fingerprints of its inputs in its outputs; the next stage compares
them with what it is given and refuses a mix (e.g. a checkpoint trained on another
scaler than the one on disk after a run that failed part-way).
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

import numpy as np
import pandas as pd

from lstm_forecast.errors import LineageError


def fingerprint_frame(frame: pd.DataFrame) -> str:
    """sha256 of a frame's columns and values (row order matters, the index does not).

    Numeric and datetime columns are hashed as their raw bytes (with the dtype), which is
    about twice as fast as pandas' row hashes; other columns go through those.
    """
    digest = hashlib.sha256(json.dumps([str(c) for c in frame.columns]).encode())
    for position in range(frame.shape[1]):
        column = frame.iloc[:, position]
        raw = _raw_values(column)
        if raw is None:
            digest.update(pd.util.hash_pandas_object(column, index=False).to_numpy().tobytes())
        else:
            digest.update(f"{column.dtype}:".encode())
            digest.update(memoryview(np.ascontiguousarray(raw)).cast("B"))
    return digest.hexdigest()


def _raw_values(column: pd.Series) -> np.ndarray | None:
    """The column's values as one numpy array of fixed-width items, if it has one."""
    array = column.array
    if hasattr(array, "asi8") and not isinstance(column.dtype, pd.PeriodDtype):
        return np.asarray(array.asi8)
    if isinstance(column.dtype, np.dtype) and column.dtype.kind in "biufcmM":
        return column.to_numpy()
    return None


def fingerprint_json(value: Any) -> str:
    """sha256 of a JSON-ready value, keys sorted (a ``lineage`` key inside is ignored)."""
    if isinstance(value, dict):
        value = {k: v for k, v in value.items() if k != "lineage"}
    return hashlib.sha256(json.dumps(value, sort_keys=True, default=str).encode()).hexdigest()


def fingerprint_arrays(arrays: dict[str, np.ndarray]) -> str:
    """sha256 of named arrays: names, dtypes, shapes and bytes, in name order."""
    digest = hashlib.sha256()
    for name in sorted(arrays):
        array = np.ascontiguousarray(arrays[name])
        digest.update(f"{name}:{array.dtype}:{array.shape};".encode())
        digest.update(array.tobytes())
    return digest.hexdigest()


def fingerprint_bytes(payload: bytes) -> str:
    """sha256 of raw bytes."""
    return hashlib.sha256(payload).hexdigest()


def require_same(
    recorded: dict[str, str], actual: dict[str, str], *, what: str, rerun: str
) -> None:
    """Refuse when ``recorded`` fingerprints disagree with those of the inputs at hand.

    Args:
        recorded: Fingerprints stored in an output when it was made (``lineage``).
        actual: Fingerprints of the inputs this stage was given, by the same names.
        what: The output being checked, for the message.
        rerun: The command that rebuilds consistent outputs.

    Raises:
        LineageError: Naming every input that differs.
    """
    differing = [
        name for name, value in actual.items() if name in recorded and recorded[name] != value
    ]
    missing = [name for name in actual if name not in recorded]
    if differing or missing:
        detail = "; ".join(
            [f"{what} was made from another {name} than the one on disk" for name in differing]
            + [f"{what} records no {name} fingerprint" for name in missing]
        )
        raise LineageError(
            f"{detail}. These outputs do not belong together (a run failed part-way, or a "
            f"stage was rerun alone on other data). Fix: {rerun}"
        )
