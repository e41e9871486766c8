"""``params:ingestion``: the file's layout and the policies for odd bars.

Kedro 1.7 validates ``params:ingestion`` against ``IngestionParams`` (the type hint of
``clean_candles``) before any node runs, so a misspelt key, an unknown epoch unit or a
policy outside its choices stops the run at once, naming the key and the accepted values.
"""

from __future__ import annotations

from typing import Literal

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

    @field_validator("interval")
    @classmethod
    def _fixed_interval(cls, value: str) -> str:
        interval_ns(value)
        return value

    @property
    def step_ns(self) -> int:
        """The bar interval in nanoseconds."""
        return interval_ns(self.interval)
