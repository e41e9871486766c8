"""The app's wiring, lifespan, health routes, handlers and middleware, over one model.

``one_model`` (conftest) publishes one forecaster (the smoke run's lstm fp32 file), so each
app starts with one session and each test here takes a fraction of a second: mutmut runs
them per mutant. The expected answers are worked out by hand from the settings and files.
"""

from __future__ import annotations

import threading
import time

from fastapi.testclient import TestClient

from lstm_forecast.serving.app import create_app
from lstm_forecast.serving.settings import ServingSettings

from .conftest import one_model_client as _client

PROBLEM = "application/problem+json"


def test_create_app_wires_the_settings_before_it_starts(one_model):
    settings = ServingSettings(project_dir=one_model, poll_seconds=0, intra_op_num_threads=2)
    app = create_app(settings)
    assert app.state.settings is settings
    registry = app.state.registry
    assert registry.models_dir == one_model / "data/06_models"
    assert registry.reporting_dir == one_model / "data/08_reporting"
    assert registry.threads == 2
    assert registry.catalogue.models == {}  # nothing loads before the lifespan starts
    assert app.state.reports.path == one_model / "data/08_reporting/forecast_metrics.json"
    assert app.state.candles.path == one_model / "data/02_intermediate/candles.parquet"
    assert (app.title, app.version) == ("lstm-forecast", "1")
    assert app.summary == (
        "Quantile forecasts of the next bars' closes from the published forecasters."
    )
    assert (app.docs_url, app.redoc_url) == (None, None)
    with TestClient(app) as client:
        assert client.get("/readyz").json() == {"status": "ready", "models": ["lstm/fp32"]}
        served = registry.catalogue.models[("lstm", "fp32")]
        assert served.session.get_session_options().intra_op_num_threads == 2
        assert client.get("/redoc").status_code == 404
        assert client.get("/docs").headers["content-type"].startswith("text/html")  # pages'


def test_without_settings_the_app_reads_the_environment(one_model, monkeypatch):
    monkeypatch.setenv("LSTM_FORECAST_SERVE_PROJECT_DIR", str(one_model))
    monkeypatch.setenv("LSTM_FORECAST_SERVE_MAX_BATCH", "7")
    app = create_app()
    assert app.state.settings.project_dir == one_model
    assert app.state.settings.max_batch == 7
    assert app.state.registry.models_dir == one_model / "data/06_models"


def _watchers() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "model-watcher"]


def test_the_lifespan_loads_watches_and_stops(one_model_copy):
    project = one_model_copy
    before = len(_watchers())
    app = create_app(ServingSettings(project_dir=project, poll_seconds=0.05))
    with TestClient(app) as client:
        watchers = _watchers()
        assert len(watchers) == before + 1 and all(w.daemon for w in watchers)
        assert client.get("/readyz").status_code == 200
        # The watcher swaps in a refused republish's refusal without any request.
        (project / "data/06_models/forecaster.opt.onnx").write_bytes(b"broken")
        deadline = time.monotonic() + 10
        while "forecaster.opt.onnx" not in app.state.registry.catalogue.refused:
            assert time.monotonic() < deadline, "the watcher did not reload"
            time.sleep(0.02)
    assert len(_watchers()) == before  # stopped with the app


def test_refresh_is_the_registrys_reload(one_model_copy):
    project = one_model_copy
    with _client(project) as client:
        report = client.app.state.refresh()
        assert report == {
            "loaded": [],
            "unchanged": ["forecaster.onnx"],
            "refused": [],
            "removed": [],
        }


def test_readiness_refuses_with_the_reasons(one_model_copy):
    project = one_model_copy
    (project / "data/06_models/forecaster.onnx").write_bytes(b"broken")
    with _client(project) as client:
        answer = client.get("/readyz")
        reason = client.app.state.registry.catalogue.refused["forecaster.onnx"].reason
    assert answer.status_code == 503 and answer.headers["content-type"] == PROBLEM
    assert answer.json() == {
        "type": "about:blank",
        "title": "Not ready",
        "status": 503,
        "detail": "no validated forecaster is loaded",
        "instance": "/readyz",
        "refused": {"forecaster.onnx": reason},
    }
    assert reason.startswith("cannot be read as a forecaster")


def test_health_answers_and_the_routes_are_documented(one_model):
    with _client(one_model) as client:
        assert client.get("/healthz").json() == {"status": "alive"}
        spec = client.get("/openapi.json").json()
    paths = spec["paths"]
    assert paths["/healthz"]["get"]["tags"] == ["health"]
    assert paths["/healthz"]["get"]["summary"] == "The process is alive"
    assert paths["/readyz"]["get"]["summary"] == "A validated forecaster is loaded"
    assert "503" in paths["/readyz"]["get"]["responses"]
    api = {
        ("/v1/forecast", "post"): "Forecast one window",
        ("/v1/forecast/batch", "post"): "Forecast many windows",
        ("/v1/forecast/latest", "get"): "Forecast from the newest ingested candles",
        ("/v1/models", "get"): "Served and refused forecasters, with their metrics headline",
        ("/v1/admin/reload", "post"): "Look at data/06_models again now",
    }
    for (path, method), summary in api.items():
        operation = paths[path][method]
        assert operation["summary"] == summary and operation["tags"] == ["forecasts"]
        assert {"401", "404", "413", "422"} <= set(operation["responses"]), path
        refusal = operation["responses"]["401"]
        assert refusal["description"] == "RFC 9457 problem"
        assert "application/problem+json" in refusal["content"]
    assert {"ForecastRequest", "BatchRequest"} <= set(spec["components"]["schemas"])
    for path in ("/v1/forecast", "/v1/forecast/batch"):
        assert "requestBody" in paths[path]["post"]
    assert paths["/v1/forecast"]["post"]["responses"]["200"]["content"]["application/json"][
        "schema"
    ] == {"$ref": "#/components/schemas/ForecastAnswer"}
    assert paths["/v1/forecast/batch"]["post"]["responses"]["200"]["content"]["application/json"][
        "schema"
    ] == {"$ref": "#/components/schemas/BatchAnswer"}


def test_errors_are_problems_through_the_handlers(one_model):
    with _client(one_model) as client:
        missing = client.get("/nothing")
        wrong_method = client.get("/v1/forecast")
        invalid = client.get("/v1/forecast/latest", params={"history": -1})
        refused = client.post("/v1/forecast", json={"candles": [], "model": "gru"})
    assert (missing.status_code, missing.headers["content-type"]) == (404, PROBLEM)
    assert (wrong_method.status_code, wrong_method.headers["content-type"]) == (405, PROBLEM)
    assert (invalid.status_code, invalid.headers["content-type"]) == (422, PROBLEM)
    assert invalid.json()["errors"][0]["pointer"] == "/query/history"
    assert (refused.status_code, refused.headers["content-type"]) == (404, PROBLEM)


def test_cors_allows_only_get_and_post_with_two_headers(one_model):
    origin = "https://example.org"
    with _client(one_model, cors_origins=(origin,)) as client:

        def preflight(method: str, headers: str = "") -> object:
            asked = {"Origin": origin, "Access-Control-Request-Method": method}
            if headers:
                asked["Access-Control-Request-Headers"] = headers
            return client.options("/v1/forecast", headers=asked)

        allowed = preflight("POST", "Authorization, Content-Type")
        assert allowed.status_code == 200
        assert allowed.headers["access-control-allow-origin"] == origin
        assert allowed.headers["access-control-allow-methods"] == "GET, POST"
        assert allowed.headers["access-control-allow-headers"] == (
            "Accept, Accept-Language, Authorization, Content-Language, Content-Type"
        )
        assert preflight("GET").status_code == 200
        assert preflight("PUT").status_code == 400
        assert preflight("POST", "X-Other").status_code == 400
        other = client.options(
            "/v1/forecast",
            headers={"Origin": "https://other.org", "Access-Control-Request-Method": "POST"},
        )
        assert other.status_code == 400


def test_the_body_limit_is_the_settings(one_model):
    with _client(one_model, max_body_bytes=1024) as client:
        headers = {"Content-Type": "application/json"}
        over = client.post("/v1/forecast", content=b" " * 1025, headers=headers)
        at = client.post("/v1/forecast", content=b" " * 1024, headers=headers)
    assert over.status_code == 413 and at.status_code == 422


def test_every_request_gets_an_access_log_line(one_model, caplog):
    with _client(one_model) as client, caplog.at_level("INFO", "lstm_forecast.serving.access"):
        client.get("/healthz")
    lines = [r.getMessage() for r in caplog.records if r.name == "lstm_forecast.serving.access"]
    assert len(lines) == 1 and '"GET /healthz" 200 ' in lines[0]
