"""The API routes and the API key check, over one published model (``one_model``).

The limits come from the settings each test sets; the answers are worked out by hand from
the published contract and the ingested candles.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import orjson
import pandas as pd
import pytest
from starlette.requests import Request

from lstm_forecast.serving.app import _authorised, _contract_summary, _json
from lstm_forecast.serving.problems import Problem
from lstm_forecast.serving.settings import ServingSettings

from .conftest import one_model_client as _client
from .conftest import window

PROBLEM = "application/problem+json"
AUTH_HINT = "send `Authorization: Bearer <LSTM_FORECAST_API_KEY>`"


def _request(authorization: str | None) -> Request:
    headers = [] if authorization is None else [(b"authorization", authorization.encode())]
    return Request({"type": "http", "method": "GET", "path": "/v1/models", "headers": headers})


def _check(key: str | None, authorization: str | None) -> Problem | None:
    check = _authorised(ServingSettings(api_key=key))
    try:
        asyncio.run(check(_request(authorization)))
    except Problem as problem:
        return problem
    return None


@pytest.mark.parametrize(
    "authorization", ["Bearer a key", "bearer a key", "BEARER a key", "Bearer a key  "]
)
def test_the_right_bearer_token_passes(authorization):
    assert _check("a key", authorization) is None


@pytest.mark.parametrize(
    "authorization",
    [
        None,
        "",
        "Bearer",
        "Bearer ",
        "Bearer a",
        "Bearer a key!",
        "Basic a key",
        "a key",
        "Token a key",
        "Bearer A KEY",
    ],
)
def test_anything_else_is_refused_with_a_401_problem(authorization):
    problem = _check("a key", authorization)
    assert isinstance(problem, Problem)
    assert (problem.status, problem.title, problem.detail) == (401, "Unauthorised", AUTH_HINT)
    assert problem.errors == [] and problem.extra == {}


@pytest.mark.parametrize("authorization", [None, "Basic x", "Bearer wrong"])
def test_without_a_key_the_api_is_open(authorization):
    assert _check(None, authorization) is None


def test_the_key_guards_only_v1(one_model):
    with _client(one_model, api_key="a key") as client:
        assert client.get("/v1/models").status_code == 401
        answer = client.get("/v1/models", headers={"Authorization": "Bearer a key"})
        assert answer.status_code == 200
        assert client.get("/healthz").status_code == 200
        assert client.get("/readyz").status_code == 200


def test_batch_size_limits_are_the_settings(one_model):
    candles = window(one_model)
    with _client(one_model, max_batch=2) as client:
        one = client.post("/v1/forecast/batch", json={"windows": [{"candles": candles}]})
        two = client.post("/v1/forecast/batch", json={"windows": [{"candles": candles}] * 2})
        three = client.post("/v1/forecast/batch", json={"windows": [{"candles": candles}] * 3})
        none = client.post("/v1/forecast/batch", json={"windows": []})
    assert one.status_code == 200 and len(one.json()["forecasts"]) == 1
    assert two.status_code == 200 and len(two.json()["forecasts"]) == 2
    assert three.status_code == 422
    assert three.json() | {"instance": None} == {
        "type": "about:blank",
        "title": "Batch size refused",
        "status": 422,
        "detail": "3 windows; a batch holds 1 to 2",
        "instance": None,
        "errors": [{"pointer": "/windows", "field": "windows", "problem": "batch size"}],
        "error_count": 1,
    }
    assert none.status_code == 422
    assert none.json()["detail"] == "0 windows; a batch holds 1 to 2"


def test_max_bars_is_the_settings(one_model):
    exact = window(one_model)
    with _client(one_model, max_bars=len(exact)) as client:
        fits = client.post("/v1/forecast", json={"candles": exact})
        longer = client.post("/v1/forecast", json={"candles": window(one_model, len(exact) + 1)})
        batch = client.post(
            "/v1/forecast/batch",
            json={"windows": [{"candles": window(one_model, len(exact) + 1)}]},
        )
    assert fits.status_code == 200
    assert longer.status_code == 422 and f"at most {len(exact)}" in longer.json()["detail"]
    assert batch.status_code == 422 and f"at most {len(exact)}" in batch.json()["detail"]


def _ingested(project: Path, asset: str, bars: int) -> pd.DataFrame:
    frame = pd.read_parquet(project / "data/02_intermediate/candles.parquet")
    return frame[frame["asset"] == asset].tail(bars)


def test_latest_answers_with_the_history_asked_for(one_model):
    with _client(one_model) as client:
        plain = client.get("/v1/forecast/latest", params={"asset": "ETHUSDT"})
        three = client.get("/v1/forecast/latest", params={"asset": "ETHUSDT", "history": 3})
        long = client.get("/v1/forecast/latest", params={"asset": "ETHUSDT", "history": 40})
        posted = client.post(
            "/v1/forecast", json={"candles": window(one_model, asset="ETHUSDT"), "asset": "ETHUSDT"}
        )
    assert plain.status_code == 200 and plain.headers["content-type"] == "application/json"
    answer = plain.json()
    assert "history" not in answer and answer["asset"] == "ETHUSDT"
    assert answer["forecast"] == posted.json()["forecast"] == long.json()["forecast"]
    assert answer["model"]["kind"] == "lstm" and answer["model"]["variant"] == "fp32"
    tail = _ingested(one_model, "ETHUSDT", 3)
    assert three.json()["history"] == [
        {"time": t.strftime("%Y-%m-%dT%H:%M:%SZ"), "close": c}
        for t, c in zip(tail["timestamp"], tail["close"], strict=True)
    ]
    assert len(long.json()["history"]) == 40
    assert long.json()["history"][-3:] == three.json()["history"]


@pytest.mark.parametrize(
    "params",
    [
        {"history": -1},
        {"history": 10_001},
        {"model": "m" * 65},
        {"variant": "v" * 17},
        {"asset": "a" * 65},
    ],
)
def test_latest_refuses_out_of_range_queries(one_model, params):
    with _client(one_model) as client:
        answer = client.get("/v1/forecast/latest", params={"asset": "BTCUSDT"} | params)
    assert answer.status_code == 422 and answer.headers["content-type"] == PROBLEM


def test_latest_takes_the_longest_query_values_allowed(one_model):
    with _client(one_model) as client:
        answer = client.get(
            "/v1/forecast/latest",
            params={"asset": "BTCUSDT", "model": "m" * 64, "variant": "v" * 16},
        )
        full = client.get("/v1/forecast/latest", params={"asset": "BTCUSDT", "history": 10_000})
    assert answer.status_code == 404  # passed the query checks: no such model
    assert full.status_code == 200 and 0 < len(full.json()["history"]) <= 10_000


def test_models_lists_the_served_file_with_its_contract(one_model_copy):
    project = one_model_copy
    (project / "data/06_models/forecaster.int8.onnx").write_bytes(b"broken")
    with _client(project) as client:
        listing = client.get("/v1/models").json()
        catalogue = client.app.state.registry.catalogue
        reports = client.app.state.reports
    model = catalogue.models[("lstm", "fp32")]
    contract = model.contract
    metrics = json.loads((project / "data/08_reporting/forecast_metrics.json").read_text())
    assert listing == {
        "models": [
            model.identity
            | {
                "file": "forecaster.onnx",
                "interval": "1h",
                "window_length": contract.window_length,
                "context_length": contract.context_length,
                "bars_needed": contract.context_length + 1,
                "horizon": contract.horizon,
                "quantile_levels": list(contract.quantiles),
                "features": list(contract.feature_names),
                "feature_set": contract.feature_set,
                "target_kind": contract.target_kind,
                "lineage": contract.lineage,
                "project_version": contract.project_version,
                "headline": reports.headline("lstm"),
            }
        ],
        "refused": [
            {
                "file": "forecaster.int8.onnx",
                "reason": catalogue.refused["forecaster.int8.onnx"].reason,
            }
        ],
        "loaded_at": catalogue.loaded_at,
        "test_period": metrics["test_period"],
    }
    assert listing["models"][0]["headline"]  # the metrics file names lstm's headline


def test_contract_summary_names_every_contract_field(one_model):
    with _client(one_model) as client:
        model = client.app.state.registry.catalogue.models[("lstm", "fp32")]
    summary = _contract_summary(model)
    assert list(summary) == [
        "file", "interval", "window_length", "context_length", "bars_needed", "horizon",
        "quantile_levels", "features", "feature_set", "target_kind", "lineage",
        "project_version",
    ]  # fmt: skip
    assert summary["quantile_levels"] == list(model.contract.quantiles)
    assert summary["bars_needed"] == model.bars_needed


def test_reload_reports_with_the_reasons(one_model_copy):
    project = one_model_copy
    with _client(project) as client:
        (project / "data/06_models/forecaster.opt.onnx").write_bytes(b"broken")
        report = client.post("/v1/admin/reload").json()
        reason = client.app.state.registry.catalogue.refused["forecaster.opt.onnx"].reason
    assert report == {
        "loaded": [],
        "unchanged": ["forecaster.onnx"],
        "refused": ["forecaster.opt.onnx"],
        "removed": [],
        "reasons": {"forecaster.opt.onnx": reason},
    }


def test_json_answers_are_orjson_bytes():
    body = {"a": 1.5, "b": [1, 2], "c": "é"}
    response = _json(body)
    assert response.body == orjson.dumps(body)
    assert response.media_type == "application/json"
    assert response.headers["content-type"] == "application/json"
