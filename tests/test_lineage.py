"""Content fingerprints: stable for equal content, different for any change; mixes refused."""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd
import pytest

from lstm_forecast.errors import LineageError
from lstm_forecast.lineage import (
    fingerprint_arrays,
    fingerprint_bytes,
    fingerprint_frame,
    fingerprint_json,
    require_same,
)


def _frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "timestamp": pd.date_range("2024-01-01", periods=5, freq="h", tz="UTC"),
            "close": [100.0, 101.5, 99.25, 102.0, 103.0],
            "segment": [0, 0, 0, 1, 1],
        }
    )


def test_fingerprint_frame_is_stable_for_equal_content():
    frame = _frame()
    fingerprint = fingerprint_frame(frame)
    assert len(fingerprint) == 64
    assert fingerprint_frame(_frame()) == fingerprint
    assert fingerprint_frame(frame.copy()) == fingerprint
    # The index is not content (e.g. after a parquet round trip without it).
    assert fingerprint_frame(frame.set_axis([10, 11, 12, 13, 14])) == fingerprint


def test_fingerprint_frame_changes_with_any_one_value_name_or_order():
    frame = _frame()
    fingerprint = fingerprint_frame(frame)
    for column in frame.columns:
        for row in range(len(frame)):
            changed = frame.copy()
            if column == "timestamp":
                changed.loc[row, column] += pd.Timedelta(1, "s")
            elif column == "close":
                changed.loc[row, column] = np.nextafter(frame.loc[row, column], np.inf)
            else:
                changed.loc[row, column] += 1
            assert fingerprint_frame(changed) != fingerprint, (column, row)
    assert fingerprint_frame(frame.rename(columns={"close": "price"})) != fingerprint
    assert fingerprint_frame(frame.iloc[::-1]) != fingerprint
    assert fingerprint_frame(frame.iloc[:4]) != fingerprint


def test_fingerprint_json_ignores_key_order_and_the_lineage_key_only():
    value = {"val_start": "2024-01-01T04:00", "method": "dates", "lineage": {"features": "x"}}
    reordered = {"method": "dates", "val_start": "2024-01-01T04:00"}
    assert fingerprint_json(value) == fingerprint_json(reordered)
    assert fingerprint_json(value) != fingerprint_json(reordered | {"method": "fractions"})


def test_fingerprint_arrays_covers_names_dtypes_shapes_and_values():
    arrays = {"weight": np.arange(6, dtype=np.float32).reshape(2, 3), "bias": np.zeros(3)}
    fingerprint = fingerprint_arrays(arrays)
    assert fingerprint_arrays(dict(reversed(list(arrays.items())))) == fingerprint
    variants = [
        arrays | {"weight": arrays["weight"].astype(np.float64)},
        arrays | {"weight": arrays["weight"].reshape(3, 2)},
        arrays | {"bias": np.array([0.0, 0.0, 1e-12])},
        {"w": arrays["weight"], "bias": arrays["bias"]},
    ]
    for variant in variants:
        assert fingerprint_arrays(variant) != fingerprint
    assert fingerprint_bytes(b"onnx") == hashlib.sha256(b"onnx").hexdigest()


def test_require_same_passes_when_every_input_matches():
    recorded = {"features": "a", "split": "b", "extra": "ignored"}
    require_same(recorded, {"features": "a", "split": "b"}, what="feature_scaler", rerun="x")


def test_require_same_names_each_input_that_differs_or_is_missing():
    recorded = {"features": "a", "split": "b"}
    with pytest.raises(LineageError) as error:
        require_same(
            recorded,
            {"features": "a", "split": "other", "trained_model": "c"},
            what="feature_scaler",
            rerun="rerun `kedro run --pipelines=features`",
        )
    message = str(error.value)
    assert "feature_scaler was made from another split than the one on disk" in message
    assert "feature_scaler records no trained_model fingerprint" in message
    assert "another features" not in message  # the matching input is not blamed
    assert message.endswith("Fix: rerun `kedro run --pipelines=features`")


def test_json_fingerprint_of_a_timestamp_is_that_of_its_text():
    stamp = pd.Timestamp("2024-01-01", tz="UTC")
    expected = hashlib.sha256(b'{"a": 1, "t": "2024-01-01 00:00:00+00:00"}').hexdigest()
    assert fingerprint_json({"t": stamp, "a": 1}) == expected


def test_every_differing_and_missing_input_is_named_in_one_message():
    with pytest.raises(LineageError) as caught:
        require_same(
            {"a": "1", "b": "2"}, {"a": "9", "b": "9", "c": "3"}, what="x", rerun="kedro run"
        )
    assert (
        "x was made from another a than the one on disk; x was made from another b than the "
        "one on disk; x records no c fingerprint"
    ) in str(caught.value)


def _text_frame() -> pd.DataFrame:
    """Text and Python-object columns of freshly built (equal, not identical) objects."""
    return pd.DataFrame(
        {
            "symbol": ["BTC-" + quote for quote in ("USD", "EUR", "GBP")],
            "note": pd.Series(["a" * 2, float("1.5"), float("2.5")], dtype=object),
        }
    )


def test_fingerprint_frame_of_text_and_object_columns_is_by_value_not_index():
    frame = _text_frame()
    fingerprint = fingerprint_frame(frame)
    assert fingerprint_frame(_text_frame()) == fingerprint
    assert fingerprint_frame(frame.set_axis([10, 11, 12])) == fingerprint
    assert fingerprint_frame(frame.assign(symbol=["BTC-USD", "BTC-EUR", "XRP"])) != fingerprint
    changed = pd.Series(["aa", 1.5, 3.5], dtype=object)
    assert fingerprint_frame(frame.assign(note=changed)) != fingerprint


def test_fingerprint_frame_changes_with_the_dtype_or_time_zone_alone():
    frame = _frame()
    fingerprint = fingerprint_frame(frame)
    # Same numbers, other width; same instants, other zone (their local hours differ).
    assert fingerprint_frame(frame.astype({"segment": np.int32})) != fingerprint
    tokyo = frame.assign(timestamp=frame["timestamp"].dt.tz_convert("Asia/Tokyo"))
    assert (tokyo["timestamp"] == frame["timestamp"]).all()
    assert fingerprint_frame(tokyo) != fingerprint
