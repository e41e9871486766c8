"""The service's small parts checked directly: problem details, request shapes, settings,
the metrics headline and the ingested candles. Each expectation is worked out by hand."""

from __future__ import annotations

import asyncio
import json
from types import SimpleNamespace

import pandas as pd
import pytest
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException
from starlette.requests import Request

from lstm_forecast.serving.latest import IngestedCandles, arrays
from lstm_forecast.serving.problems import (
    MAX_LISTED,
    Problem,
    _bar_of,
    on_http_error,
    on_invalid_request,
    pointer_of,
    problem_response,
)
from lstm_forecast.serving.reports import Reports
from lstm_forecast.serving.schemas import (
    Candle,
    ForecastRequest,
    Window,
    _epoch_seconds,
    parse,
    request_body,
    with_request_schemas,
)
from lstm_forecast.serving.settings import ServingSettings


def request(path: str = "/v1/forecast") -> Request:
    scope = {"type": "http", "method": "POST", "path": path, "headers": [], "query_string": b""}
    return Request(scope | {"server": ("test", 80), "scheme": "http", "root_path": ""})


def answer(response) -> dict:
    return json.loads(response.body)


def test_problem_body_lists_at_most_twenty_errors_and_counts_all():
    errors = [{"bar": i} for i in range(MAX_LISTED + 5)]
    body = Problem(422, "Refused", "why", errors, served=["lstm/fp32"]).body("/v1/x")
    assert body["errors"] == errors[:20] and body["error_count"] == 25
    assert body["served"] == ["lstm/fp32"]
    assert str(Problem(404, "Not found", "gone")) == "gone"
    assert Problem(404, "Not found", "gone").body("/v1/x") == {
        "type": "about:blank",
        "title": "Not found",
        "status": 404,
        "detail": "gone",
        "instance": "/v1/x",
    }


def test_problem_response_asks_for_a_bearer_token_only_on_401():
    refused = problem_response(Problem(401, "Unauthorized", "key"), request())
    assert refused.status_code == 401 and refused.headers["www-authenticate"] == "Bearer"
    assert refused.media_type == "application/problem+json"
    other = problem_response(Problem(403, "Forbidden", "no"), request())
    assert "www-authenticate" not in other.headers
    assert answer(other)["instance"] == "/v1/forecast"


def test_pointers_and_bars_from_pydantic_locations():
    """('body', 'windows', 3, 'candles', 2, 'close'): pointer and readable name, bar 2."""
    location = ("body", "windows", 3, "candles", 2, "close")
    assert pointer_of(location) == ("/windows/3/candles/2/close", "windows[3].candles[2].close")
    assert pointer_of(("body",)) == ("/", "body")
    assert _bar_of(location) == 2
    assert _bar_of(("body", "candles", 5)) == 5  # the list item itself
    assert _bar_of(("body", "candles")) is None  # the list, no bar
    assert _bar_of(("body", "candles", "open")) is None


def test_invalid_request_names_the_first_field_and_the_bar():
    error = RequestValidationError(
        [
            {"loc": ("body", "candles", 1, "close"), "msg": "Input should be a valid number"},
            {"loc": ("body", "model"), "msg": "too long"},
        ]
    )
    body = answer(asyncio.run(on_invalid_request(request(), error)))
    assert (body["status"], body["title"]) == (422, "Invalid request")
    assert body["detail"] == "candles[1].close: Input should be a valid number (and 1 more)"
    assert body["errors"] == [
        {
            "pointer": "/candles/1/close",
            "field": "candles[1].close",
            "problem": "Input should be a valid number",
            "bar": 1,
        },
        {"pointer": "/model", "field": "model", "problem": "too long"},
    ]
    for errors in ([], [{}]):  # nothing said, or an error without location and message
        empty = answer(asyncio.run(on_invalid_request(request(), RequestValidationError(errors))))
        assert empty["detail"] == "body: invalid"


def test_routing_errors_get_titles():
    for status, title in ((404, "Not found"), (405, "Method not allowed"), (418, "Error")):
        body = answer(asyncio.run(on_http_error(request(), HTTPException(status, "detail"))))
        assert (body["status"], body["title"], body["detail"]) == (status, title, "detail")


@pytest.mark.parametrize(
    ("value", "seconds"),
    [(3600, 3600.0), ("1970-01-01T01:00:00Z", 3600.0), ("1970-01-01T02:00:00+01:00", 3600.0)],
)
def test_bar_times_as_epoch_seconds(value, seconds):
    assert _epoch_seconds(value) == seconds


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("1970-01-01T01:00:00", "the time has no timezone: add one, e.g. Z for UTC"),
        ("x" * 50, f"{'x' * 40!r} is not an ISO 8601 time"),
        (True, "expected an ISO 8601 time with a zone, or integer epoch seconds"),
        (1.5, "expected an ISO 8601 time with a zone, or integer epoch seconds"),
    ],
)
def test_bad_bar_times_are_refused_with_one_message(value, message):
    with pytest.raises(ValueError) as caught:
        _epoch_seconds(value)
    assert str(caught.value) == message


def test_a_window_takes_one_form_with_columns_of_one_length():
    columns = {"time": [0, 3600], "open": [1, 1], "high": [1, 1], "low": [1, 1]}
    columns |= {"close": [1, 1], "volume": [0, 0]}
    assert len(Window(**columns)) == 2
    candle = {"time": 0, "open": 1, "high": 1, "low": 1, "close": 1, "volume": 0}
    assert len(Window(candles=[candle] * 3)) == 3
    cases = {
        "give either candles or the columns, not both": {"candles": [candle], "time": [0]},
        "give candles, or all of the columns": {k: v for k, v in columns.items() if k != "low"},
        "must have the same length": columns | {"volume": [0]},
    }
    for message, fields in cases.items():
        with pytest.raises(ValueError, match=message.replace("(", r"\(")):
            Window(**fields)


def test_parse_refuses_as_fastapi_would():
    assert parse(Candle, b'{"time": 0, "open": 1, "high": 2, "low": 1, "close": 1, "volume": 0}')
    with pytest.raises(RequestValidationError) as caught:
        parse(Candle, b'{"time": 0}')
    assert {e["loc"][0] for e in caught.value.errors()} == {
        "open",
        "high",
        "low",
        "close",
        "volume",
    }
    assert request_body(Candle) == {
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Candle"}}},
        }
    }


def test_settings_paths_and_environment(monkeypatch, tmp_path):
    settings = ServingSettings(project_dir=tmp_path)
    assert settings.path(settings.models_dir) == tmp_path / "data/06_models"
    assert settings.path(tmp_path / "elsewhere") == tmp_path / "elsewhere"
    monkeypatch.setenv("LSTM_FORECAST_SERVE_MAX_BARS", "10")
    monkeypatch.setenv("LSTM_FORECAST_SERVE_CORS_ORIGINS", "http://a,,http://b")
    monkeypatch.setenv("LSTM_FORECAST_SERVE_API_KEY", "not read from here")
    monkeypatch.setenv("LSTM_FORECAST_API_KEY", "secret")
    read = ServingSettings.from_env(max_batch=3, poll_seconds=None)
    assert (read.max_bars, read.max_batch, read.poll_seconds) == (10, 3, 2.0)
    assert read.cors_origins == ("http://a", "http://b")
    assert read.api_key.get_secret_value() == "secret"
    assert ServingSettings.from_env(max_bars=20).max_bars == 20  # an override beats the env
    monkeypatch.setenv("LSTM_FORECAST_API_KEY", "")
    assert ServingSettings.from_env().api_key is None
    monkeypatch.delenv("LSTM_FORECAST_API_KEY")
    assert ServingSettings.from_env().api_key is None


def test_reports_headline_per_kind_and_reread_when_changed(tmp_path):
    reports = Reports(tmp_path)
    assert reports.metrics() == {} and reports.headline("lstm") == {}
    path = tmp_path / "forecast_metrics.json"
    headline = {"lstm_crps_skill": 0.1, "ridge_crps_skill": 0.2, "lstmx_other": 1.0}
    path.write_text(json.dumps({"headline": headline, "test_period": ["a", "b"]}))
    assert reports.headline("lstm") == {"crps_skill": 0.1}
    assert reports.headline("ridge") == {"crps_skill": 0.2}
    assert reports.test_period() == ["a", "b"]
    path.write_text(json.dumps({"headline": {"lstm_coverage": 0.8}}) + " " * 10)  # new size
    assert reports.headline("lstm") == {"coverage": 0.8} and reports.test_period() is None
    path.write_text("{not json" + " " * 40)
    assert reports.metrics() == {}


def candles_file(tmp_path, **columns):
    """Four hourly bars from epoch 0; close 1, 2, 3, 4."""
    frame = pd.DataFrame(
        {
            "timestamp": pd.date_range("1970-01-01", periods=4, freq="h", tz="UTC"),
            "open": 1.0,
            "high": 5.0,
            "low": 0.5,
            "close": [1.0, 2.0, 3.0, 4.0],
            "volume": 7.0,
        }
        | columns
    )
    frame.to_parquet(tmp_path / "candles.parquet")
    return IngestedCandles(tmp_path / "candles.parquet")


def test_ingested_candles_missing_file_is_a_404(tmp_path):
    with pytest.raises(Problem) as caught:
        IngestedCandles(tmp_path / "candles.parquet").frame()
    assert (caught.value.status, caught.value.title) == (404, "No ingested candles")
    assert caught.value.detail == (
        "candles.parquet does not exist yet: run `kedro run` (or its ingestion stage) so the "
        "service has candles to forecast from"
    )


def test_ingested_candles_are_read_again_when_the_file_changes(tmp_path):
    latest = candles_file(tmp_path)
    assert latest.frame()["close"].tolist() == [1.0, 2.0, 3.0, 4.0]
    candles_file(tmp_path, close=[5.0, 6.0, 7.0, 8.0], volume=[1.0, 2.0, 3.0, 4.0])
    assert latest.tail(None, 1)["close"].tolist() == [8.0]


def test_ingested_candles_tail_of_the_newest_segment_of_one_asset(tmp_path):
    latest = candles_file(tmp_path, segment=[0, 0, 0, 1])
    assert latest.tail(None, 3)["close"].tolist() == [4.0]  # segment 1 only
    values, times = arrays(latest.tail(None, 1))
    assert values.tolist() == [[1.0, 5.0, 0.5, 4.0, 7.0]] and times.tolist() == [10800.0]
    single = candles_file(tmp_path, asset="BTC")
    assert single.tail(None, 2)["close"].tolist() == [3.0, 4.0]  # the only asset is chosen


def test_ingested_candles_of_several_assets_need_a_known_name(tmp_path):
    latest = candles_file(tmp_path, asset=["BTC", "BTC", "ETH", "ETH"])
    assert latest.tail("BTC", 5)["close"].tolist() == [1.0, 2.0]
    cases = (
        (
            None,
            422,
            "Asset needed",
            "the ingested candles hold ['BTC', 'ETH']: name one",
            "missing",
        ),
        (
            "XRP",
            404,
            "Unknown asset",
            "asset 'XRP' is not among the ingested ['BTC', 'ETH']",
            "not ingested",
        ),
    )
    for asset, status, title, detail, problem in cases:
        with pytest.raises(Problem) as caught:
            latest.tail(asset, 5)
        assert (caught.value.status, caught.value.title) == (status, title)
        assert caught.value.detail == detail
        assert caught.value.errors == [{"pointer": "/asset", "field": "asset", "problem": problem}]


def test_request_schemas_join_the_openapi_components_once():
    """ForecastRequest and the Candle it uses become components; the spec is built once."""
    built: list[int] = []

    def build() -> dict:
        built.append(1)
        return {"paths": {}}

    app = SimpleNamespace(openapi=build, openapi_schema=None)
    openapi = with_request_schemas(app, (ForecastRequest,))
    spec = openapi()
    schemas = spec["components"]["schemas"]
    assert set(schemas) == {"ForecastRequest", "Candle"}
    assert "$defs" not in schemas["ForecastRequest"]
    items = schemas["ForecastRequest"]["properties"]["candles"]["items"]
    assert items == {"$ref": "#/components/schemas/Candle"}
    assert (
        schemas["Candle"]["properties"]["volume"]["description"] == "base-asset volume (not quote)"
    )
    assert openapi() is spec and built == [1]
    alone = SimpleNamespace(openapi=dict, openapi_schema=None)  # a model with no $defs
    assert set(with_request_schemas(alone, (Candle,))()["components"]["schemas"]) == {"Candle"}
