"""The FastAPI app: routes, auth, limits and the model lifecycle (load, watch, swap)."""

from __future__ import annotations

import hmac
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import orjson
from fastapi import APIRouter, Depends, FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from . import forecasting, pages
from .latest import IngestedCandles, arrays
from .middleware import AccessLog, BodyLimit
from .problems import Problem, on_http_error, on_invalid_request, on_problem
from .registered import fetch_registered
from .registry import Registry, Watcher, summary
from .reports import Reports
from .schemas import (
    BatchAnswer,
    BatchRequest,
    ForecastAnswer,
    ForecastRequest,
    parse,
    request_body,
    with_request_schemas,
)
from .settings import ServingSettings

_PROBLEM = {"content": {"application/problem+json": {}}, "description": "RFC 9457 problem"}
_REFUSALS = {401: _PROBLEM, 404: _PROBLEM, 413: _PROBLEM, 422: _PROBLEM}


def create_app(settings: ServingSettings | None = None) -> FastAPI:
    """The service over ``settings.models_dir``; models load when the app starts (lifespan)."""
    settings = settings or ServingSettings.from_env()
    # Registered versions are downloaded into a folder of this process's own.
    private = (
        tempfile.TemporaryDirectory(prefix="lstm-forecast-registered-")
        if settings.model_uris
        else None
    )
    models_dir = Path(private.name) if private else settings.path(settings.models_dir)
    registry = Registry(
        models_dir, settings.path(settings.reporting_dir), settings.intra_op_num_threads
    )

    def refresh() -> dict[str, list[str]]:
        if settings.model_uris:
            fetch_registered(settings.model_uris, models_dir, settings.mlflow_tracking_uri)
        return registry.reload()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        refresh()
        watcher = Watcher(registry, settings.poll_seconds)
        watcher.start()
        try:
            yield
        finally:
            watcher.stop()
            if private:
                private.cleanup()

    app = FastAPI(
        title="lstm-forecast",
        version="1",
        summary="Quantile forecasts of the next bars' closes from the published forecasters.",
        lifespan=lifespan,
        docs_url=None,  # Swagger UI loads from a CDN; /docs is a self-contained page instead
        redoc_url=None,
    )
    app.state.settings, app.state.registry, app.state.refresh = settings, registry, refresh
    app.state.reports = Reports(settings.path(settings.reporting_dir))
    app.state.candles = IngestedCandles(settings.path(settings.candles_path))
    app.add_exception_handler(Problem, on_problem)
    app.add_exception_handler(RequestValidationError, on_invalid_request)
    app.add_exception_handler(StarletteHTTPException, on_http_error)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(settings.cors_origins),
            allow_methods=["GET", "POST"],
            allow_headers=["Authorization", "Content-Type"],
        )
    app.add_middleware(BodyLimit, limit=settings.max_body_bytes)
    app.add_middleware(AccessLog)
    app.include_router(_health_routes())
    app.include_router(_api_routes(settings), dependencies=[Depends(_authorised(settings))])
    app.include_router(pages.router)
    app.openapi = with_request_schemas(app, (ForecastRequest, BatchRequest))
    return app


def _authorised(settings: ServingSettings) -> Any:
    expected = settings.api_key.get_secret_value().encode() if settings.api_key else None

    async def check(request: Request) -> None:  # async: no thread-pool hop per request
        if expected is None:
            return
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        # compare_digest takes as long whatever the token, so timing tells nothing about it.
        if not (
            scheme.lower() == "bearer" and hmac.compare_digest(token.strip().encode(), expected)
        ):
            raise Problem(
                401, "Unauthorised", "send `Authorization: Bearer <LSTM_FORECAST_API_KEY>`"
            )

    return check


def _health_routes() -> APIRouter:
    router = APIRouter(tags=["health"])

    @router.get("/healthz", summary="The process is alive")
    async def healthz() -> dict[str, str]:
        return {"status": "alive"}

    @router.get("/readyz", summary="A validated forecaster is loaded", responses={503: _PROBLEM})
    async def readyz(request: Request) -> dict[str, Any]:
        catalogue = request.app.state.registry.catalogue
        if not catalogue.models:
            refused = {name: r.reason for name, r in catalogue.refused.items()}
            raise Problem(503, "Not ready", "no validated forecaster is loaded", refused=refused)
        return {"status": "ready", "models": [f"{m.kind}/{m.variant}" for m in catalogue.ordered()]}

    return router


def _api_routes(settings: ServingSettings) -> APIRouter:
    router = APIRouter(prefix="/v1", tags=["forecasts"], responses=_REFUSALS)

    @router.post(
        "/forecast",
        response_model=ForecastAnswer,
        summary="Forecast one window",
        openapi_extra=request_body(ForecastRequest),
    )
    async def forecast(request: Request) -> Any:
        body = parse(ForecastRequest, await request.body())
        model = forecasting.choose(
            request.app.state.registry.catalogue, body.model, body.variant, body.asset
        )
        values, times = forecasting.checked_windows(
            model, [body.candles], ["/candles"], settings.max_bars
        )
        return _json(forecasting.single_answer(model, values, times))

    @router.post(
        "/forecast/batch",
        response_model=BatchAnswer,
        summary="Forecast many windows",
        openapi_extra=request_body(BatchRequest),
    )
    async def forecast_batch(request: Request) -> Any:
        body = parse(BatchRequest, await request.body())
        if not 1 <= len(body.windows) <= settings.max_batch:
            raise Problem(
                422,
                "Batch size refused",
                (f"{len(body.windows)} windows; a batch holds 1 to {settings.max_batch}"),
                [{"pointer": "/windows", "field": "windows", "problem": "batch size"}],
            )
        model = forecasting.choose(
            request.app.state.registry.catalogue, body.model, body.variant, body.asset
        )
        values, times = forecasting.checked_batch(model, body.windows, settings.max_bars)
        return _json(forecasting.batch_answer(model, values, times))

    @router.get(
        "/forecast/latest",
        response_model=ForecastAnswer,
        summary="Forecast from the newest ingested candles",
    )
    async def latest(
        request: Request,
        asset: str | None = Query(None, max_length=64),
        model: str = Query("lstm", max_length=64),
        variant: str = Query("fp32", max_length=16),
        history: int = Query(
            0, ge=0, le=10_000, description="closes before the forecast to include"
        ),
    ) -> Any:
        chosen = forecasting.choose(request.app.state.registry.catalogue, model, variant, asset)
        frame = request.app.state.candles.tail(asset, max(history, chosen.bars_needed))
        values, times = arrays(frame)
        windows, stamps = forecasting.checked_arrays(chosen, [(values, times, "/latest")])
        answer = forecasting.single_answer(chosen, windows, stamps) | {"asset": asset}
        if history:
            answer["history"] = [
                {"time": t, "close": c}
                for t, c in zip(
                    [forecasting.iso(s) for s in times[-history:]],
                    values[-history:, 3].tolist(),
                    strict=True,
                )
            ]
        return _json(answer)

    @router.get("/models", summary="Served and refused forecasters, with their metrics headline")
    async def models(request: Request) -> dict[str, Any]:
        catalogue = request.app.state.registry.catalogue
        reports = request.app.state.reports
        return {
            "models": [
                summary(m) | _contract_summary(m) | {"headline": reports.headline(m.kind)}
                for m in catalogue.ordered()
            ],
            "refused": [
                {"file": name, "reason": r.reason} for name, r in sorted(catalogue.refused.items())
            ],
            "loaded_at": catalogue.loaded_at,
            "test_period": reports.test_period(),
        }

    @router.post("/admin/reload", summary="Look at data/06_models again now")
    async def reload(request: Request) -> dict[str, Any]:
        report = request.app.state.refresh()
        refused = request.app.state.registry.catalogue.refused
        return report | {"reasons": {name: refused[name].reason for name in report["refused"]}}

    return router


def _contract_summary(model: Any) -> dict[str, Any]:
    contract = model.contract
    return {
        "file": model.signature.name,
        "interval": contract.interval,
        "window_length": contract.window_length,
        "context_length": contract.context_length,
        "bars_needed": model.bars_needed,
        "horizon": contract.horizon,
        "quantile_levels": list(contract.quantiles),
        "features": list(contract.feature_names),
        "feature_set": contract.feature_set,
        "target_kind": contract.target_kind,
        "lineage": contract.lineage,
        "project_version": contract.project_version,
    }


def _json(body: dict[str, Any]) -> Response:
    # Built answers are plain JSON already: orjson, without a second validation pass.
    return Response(orjson.dumps(body), media_type="application/json")
