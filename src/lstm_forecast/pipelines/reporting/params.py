"""Typed ``params:reporting``."""

from __future__ import annotations

from pydantic import Field

from lstm_forecast.params import StrictParams


class ReportingParams(StrictParams):
    """``params:reporting``."""

    alpha: float = Field(0.05, gt=0, lt=1)
    horizons: tuple[int, ...] = (1, 6, 12, 24)
    ewma_decay: float = Field(0.94, gt=0, lt=1)
    zoom_bars: int = Field(168, ge=2)
    reports_dir: str = "data/08_reporting"
    report_files: tuple[str, ...] = ()
