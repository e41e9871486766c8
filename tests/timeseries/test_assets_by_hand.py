"""``asset_blocks`` and ``window_assets`` on tables written by hand."""

from __future__ import annotations

import pandas as pd
import pytest

from lstm_forecast.timeseries.assets import SINGLE_ASSET, asset_blocks, window_assets


def test_a_table_without_assets_is_one_block_of_every_row():
    table = pd.DataFrame({"close": [1.0, 2.0, 3.0]})
    assert asset_blocks(table) == {SINGLE_ASSET: slice(0, 3)}
    assert asset_blocks(table.iloc[:0]) == {SINGLE_ASSET: slice(0, 0)}
    # An empty table with an asset column has no asset to name either.
    assert asset_blocks(pd.DataFrame({"asset": pd.Series([], dtype=str)})) == {
        SINGLE_ASSET: slice(0, 0)
    }


def test_each_asset_is_its_block_of_rows_in_the_order_they_come():
    table = pd.DataFrame({"asset": ["BBB", "BBB", "AAA", "AAA", "AAA", "CCC"]})
    blocks = asset_blocks(table)
    assert blocks == {"BBB": slice(0, 2), "AAA": slice(2, 5), "CCC": slice(5, 6)}
    assert list(blocks) == ["BBB", "AAA", "CCC"]


def test_an_asset_in_two_blocks_is_refused_word_for_word():
    with pytest.raises(ValueError) as refused:
        asset_blocks(pd.DataFrame({"asset": ["AAA", "BBB", "AAA"]}))
    assert str(refused.value) == "An asset's rows are not one contiguous block of the table."


def test_window_assets_are_strings_in_an_object_array_either_way():
    named = window_assets(pd.DataFrame({"end_row": [3, 4, 9], "asset": ["AAA", "AAA", "BBB"]}))
    unnamed = window_assets(pd.DataFrame({"end_row": [3, 4]}))
    assert named.tolist() == ["AAA", "AAA", "BBB"] and unnamed.tolist() == [SINGLE_ASSET] * 2
    # Both object arrays, so callers can mix them and compare names with ==.
    assert named.dtype == object and unnamed.dtype == object
