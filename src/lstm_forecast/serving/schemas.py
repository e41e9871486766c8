"""The JSON shapes of the API (requests validated by pydantic, answers documented in OpenAPI)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any, TypeVar

from fastapi.exceptions import RequestValidationError
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PlainValidator,
    ValidationError,
    WithJsonSchema,
    model_validator,
)

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
    """At least the contract's ``input_length`` (``context_length + 1``) candles, oldest first;
    the last ones are used."""

    candles: list[Candle]


class Window(BaseModel):
    """One window: a list of candle objects, or (faster to send and read) one list per column."""

    model_config = ConfigDict(extra="forbid")

    candles: list[Candle] | None = None
    time: list[int] | None = Field(None, description="columnar form: open times, epoch seconds")
    open: list[float] | None = None
    high: list[float] | None = None
    low: list[float] | None = None
    close: list[float] | None = None
    volume: list[float] | None = None

    @model_validator(mode="after")
    def _one_form(self) -> Window:
        columns = [getattr(self, name) for name in COLUMNS]
        if self.candles is not None:
            if any(column is not None for column in columns):
                raise ValueError("give either candles or the columns, not both")
        elif any(column is None for column in columns):
            raise ValueError(f"give candles, or all of the columns {list(COLUMNS)}")
        elif len({len(column) for column in columns}) != 1:
            raise ValueError(f"the columns {list(COLUMNS)} must have the same length")
        return self

    def __len__(self) -> int:
        return len(self.candles if self.candles is not None else self.time)


COLUMNS = ("time", "open", "high", "low", "close", "volume")


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


Parsed = TypeVar("Parsed", bound=BaseModel)
_REF = "#/components/schemas/{model}"


def parse(model: type[Parsed], body: bytes) -> Parsed:
    """Parse and validate a JSON body in one pass (pydantic's own parser, no ``json.loads``)."""
    try:
        return model.model_validate_json(body)
    except ValidationError as error:
        raise RequestValidationError(error.errors(include_url=False)) from None


def request_body(model: type[BaseModel]) -> dict[str, Any]:
    """The OpenAPI ``requestBody`` of a route that parses ``model`` itself."""
    schema = {"$ref": _REF.format(model=model.__name__)}
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": schema}}}}


def with_request_schemas(app: Any, models: tuple[type[BaseModel], ...]) -> Callable[[], dict]:
    """``app.openapi`` with the request models (and the models they use) in its components."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            spec = build()
            components = spec.setdefault("components", {}).setdefault("schemas", {})
            for model in models:
                schema = model.model_json_schema(ref_template=_REF)
                components.update(schema.pop("$defs", {}))
                components[model.__name__] = schema
            app.openapi_schema = spec
        return app.openapi_schema

    return openapi
