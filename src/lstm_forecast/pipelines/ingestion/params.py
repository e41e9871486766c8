"""``params:ingestion``: the file's layout and the policies for odd bars.

Kedro 1.7 validates ``params:ingestion`` against ``IngestionParams`` (the type hint of
``clean_candles``) before any node runs, so a misspelt key, an unknown epoch unit or a
policy outside its choices stops the run at once, naming the key and the accepted values.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Field, field_validator

from lstm_forecast.ohlcv_csv.layout import SourceParams, interval_ns
from lstm_forecast.params import StrictParams


class IngestionParams(StrictParams):
    """All of ``params:ingestion``: the layout of the file and what to do with odd bars."""

    # Long inputs (the whole block) would drown the one key at fault in the message.
    model_config = ConfigDict(hide_input_in_errors=True)

    source: SourceParams = SourceParams()
    interval: str = "1h"
    min_segment_bars: int = Field(10, ge=2)
    missing_volume: Literal["refuse", "zero"] = "refuse"
    inconsistent_ohlc: Literal["refuse", "drop"] = "refuse"
    stale_warn_fraction: float = Field(0.05, ge=0.0, le=1.0)
    stale_bars: Literal["keep", "refuse"] = "keep"
    # A download's newest row is often a candle still in progress (its close is not final).
    last_bar: Literal["keep", "drop"] = "keep"
    # Which assets a run reads: file stems under candles_dir, each checked on its own.
    assets: tuple[Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")], ...] = (
        "BTCUSDT",
        "ETHUSDT",
    )
    candles_dir: str = "data/01_raw/candles"
    # Per-asset overrides of this block (any key but these four), merged key by key.
    asset_layouts: dict[str, dict[str, Any]] = Field(default_factory=dict)
    # One file instead of the assets (`--params=raw_csv=...`); its stem names the asset.
    raw_csv: str | None = None

    @field_validator("assets")
    @classmethod
    def _distinct_assets(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if not value:
            raise ValueError("list at least one asset")
        if len(set(value)) != len(value):
            raise ValueError(f"an asset is listed twice: {list(value)}")
        return value

    @field_validator("interval")
    @classmethod
    def _fixed_interval(cls, value: str) -> str:
        interval_ns(value)
        return value

    @property
    def step_ns(self) -> int:
        """The bar interval in nanoseconds."""
        return interval_ns(self.interval)
