"""The JSON shapes of the API (requests validated by pydantic, answers documented in OpenAPI)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, PlainValidator, WithJsonSchema

_CANDLE_EXAMPLE = {
    "time": "2021-03-31T22:00:00Z",
    "open": 58800.1,
    "high": 58911.0,
    "low": 58700.2,
    "close": 58850.5,
    "volume": 1234.5,
}


def _epoch_seconds(value: Any) -> float:
    """ISO 8601 with a zone, or integer epoch seconds, as epoch seconds (one error, not two)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            raise ValueError(f"{value[:40]!r} is not an ISO 8601 time") from None
        if parsed.tzinfo is None:
            raise ValueError("the time has no timezone: add one, e.g. Z for UTC")
        return parsed.timestamp()
    raise ValueError("expected an ISO 8601 time with a zone, or integer epoch seconds")


# The bar's open time; held as epoch seconds (a fraction means it is off the grid).
BarTime = Annotated[
    float,
    PlainValidator(_epoch_seconds),
    WithJsonSchema(
        {
            "anyOf": [{"type": "string", "format": "date-time"}, {"type": "integer"}],
            "description": "bar open time: ISO 8601 with a zone, or integer epoch seconds",
        }
    ),
]


class Candle(BaseModel):
    """One bar: its open time (ISO 8601 with a zone, or epoch seconds) and OHLCV values."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"example": _CANDLE_EXAMPLE})

    time: BarTime
    open: float
    high: float
    low: float
    close: float
    volume: float = Field(description="base-asset volume (not quote)")


class ModelChoice(BaseModel):
    """Which served forecaster answers: kind, variant, and the asset (optional)."""

    model_config = ConfigDict(extra="forbid", protected_namespaces=())

    model: str = Field("lstm", max_length=64, description="model kind: lstm, ridge, ...")
    variant: str = Field("fp32", max_length=16, description="fp32, opt or int8")
    asset: str | None = Field(None, max_length=64, description="for multi-asset forecasters")


class ForecastRequest(ModelChoice):
    """At least ``window_length + 1`` candles, oldest first; the last ones are used."""

    candles: list[Candle]


class Window(BaseModel):
    model_config = ConfigDict(extra="forbid")

    candles: list[Candle]


class BatchRequest(ModelChoice):
    """Many windows for one model in one request, for throughput."""

    windows: list[Window]


class ModelIdentity(BaseModel):
    model_config = ConfigDict(extra="allow")

    kind: str
    variant: str
    fingerprint: str = Field(description="SHA-256 of the served file")
    trained_on: str = Field(description="when the file was published (UTC)")
    training_range: dict[str, str]
    validation: dict[str, Any] | None


class Step(BaseModel):
    h: int
    time: str
    quantiles: list[float]


class ForecastAnswer(BaseModel):
    model_config = ConfigDict(protected_namespaces=())

    model: ModelIdentity
    interval: str
    last_time: str
    window_ok: bool
    quantile_levels: list[float]
    forecast: list[Step]


class WindowForecast(BaseModel):
    last_time: str
    window_ok: bool
    forecast: list[Step]


class BatchAnswer(BaseModel):
    model_config = ConfigDict(protected_namespaces=())

    model: ModelIdentity
    interval: str
    quantile_levels: list[float]
    forecasts: list[WindowForecast]
