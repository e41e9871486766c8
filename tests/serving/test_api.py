"""Every endpoint and every refusal of the service, through TestClient with its lifespan."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest

from .conftest import window

PROBLEM = "application/problem+json"


@pytest.fixture(scope="module")
def reference(served_project: Path) -> dict:
    """The sidecar's reference example: one real window and the prices it must give."""
    sidecar = json.loads((served_project / "data/06_models/forecaster.json").read_text())
    return sidecar["reference_example"] | {"contract": sidecar["contract"]}


def _candles(reference: dict) -> list[dict]:
    keys = ("open", "high", "low", "close", "volume")
    return [
        {"time": int(t), **dict(zip(keys, bar, strict=True))}
        for t, bar in zip(reference["open_time"], reference["candles"], strict=True)
    ]


def test_health_and_readiness(client_for, served_project):
    client = client_for(served_project)
    assert client.get("/healthz").json() == {"status": "alive"}
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert {"lstm/fp32", "lstm/int8", "ridge/fp32"} <= set(ready.json()["models"])


def test_not_ready_without_a_validated_model(client_for, tmp_path):
    (tmp_path / "data/06_models").mkdir(parents=True)
    response = client_for(tmp_path).get("/readyz")
    assert response.status_code == 503
    assert response.headers["content-type"] == PROBLEM


def test_forecast_reproduces_the_sidecars_reference_example(client_for, served_project, reference):
    response = client_for(served_project).post(
        "/v1/forecast", json={"candles": _candles(reference)}
    )
    assert response.status_code == 200, response.text
    answer = response.json()
    expected = np.array(reference["close_quantiles"])
    got = np.array([step["quantiles"] for step in answer["forecast"]])
    np.testing.assert_allclose(got, expected, rtol=reference["relative_tolerance"])
    contract = reference["contract"]
    assert answer["quantile_levels"] == contract["quantiles"]
    assert answer["interval"] == contract["interval"] and answer["window_ok"] is True
    assert [s["h"] for s in answer["forecast"]] == list(range(1, contract["horizon"] + 1))
    last = reference["open_time"][-1]
    assert (
        answer["forecast"][0]["time"]
        == np.datetime_as_string(np.datetime64(last + 3600, "s")) + "Z"
    )
    model = answer["model"]
    published = (served_project / "data/06_models/forecaster.onnx").read_bytes()
    import hashlib

    assert model["fingerprint"] == hashlib.sha256(published).hexdigest()
    assert (model["kind"], model["variant"]) == ("lstm", "fp32")
    assert model["validation"]["passed"] is True
    assert model["training_range"] == contract["training_range"]


def test_more_candles_than_needed_uses_the_last_ones(client_for, served_project):
    client = client_for(served_project)
    exact, longer = window(served_project), window(served_project, bars=40)
    a = client.post("/v1/forecast", json={"candles": exact}).json()
    b = client.post("/v1/forecast", json={"candles": longer, "model": "lstm"}).json()
    assert a["forecast"] == b["forecast"] and a["last_time"] == longer[-1]["time"]


@pytest.mark.parametrize(
    ("model", "variant"), [("ridge", "fp32"), ("lstm", "int8"), ("lstm", "opt")]
)
def test_each_kind_and_variant_answers_as_onnxruntime_does(
    client_for, served_project, model, variant
):
    candles = window(served_project)
    answer = (
        client_for(served_project)
        .post("/v1/forecast", json={"candles": candles, "model": model, "variant": variant})
        .json()
    )
    assert (answer["model"]["kind"], answer["model"]["variant"]) == (model, variant)
    name = (
        ("forecaster" if model == "lstm" else f"{model}.forecaster")
        + ("" if variant == "fp32" else f".{variant}")
        + ".onnx"
    )
    session = ort.InferenceSession(str(served_project / "data/06_models" / name))
    feed = {
        "candles": np.array(
            [[c[k] for k in ("open", "high", "low", "close", "volume")] for c in candles]
        )[None],
        "open_time": np.array(
            [np.datetime64(c["time"][:-1], "s").astype(np.int64) for c in candles]
        )[None],
    }
    prices = session.run(["close_quantiles"], feed)[0][0]
    assert [s["quantiles"] for s in answer["forecast"]] == prices.tolist()


def test_batch_answers_each_window(client_for, served_project):
    candles = window(served_project, bars=20)
    windows = [{"candles": candles[i : i + 13]} for i in range(8)]
    client = client_for(served_project)
    batch = client.post("/v1/forecast/batch", json={"windows": windows, "model": "ridge"}).json()
    assert batch["model"]["kind"] == "ridge" and len(batch["forecasts"]) == 8
    for item, w in zip(batch["forecasts"], windows, strict=True):
        single = client.post("/v1/forecast", json=w | {"model": "ridge"}).json()
        assert (
            item["forecast"] == single["forecast"] and item["last_time"] == w["candles"][-1]["time"]
        )


def test_latest_forecasts_from_the_ingested_candles(client_for, served_project):
    client = client_for(served_project)
    params = {"history": 24, "asset": "BTCUSDT"}  # the default run ingests BTC and ETH
    latest = client.get("/v1/forecast/latest", params=params).json()
    candles = window(served_project, bars=24)
    assert latest["last_time"] == candles[-1]["time"]
    assert [p["close"] for p in latest["history"]] == [c["close"] for c in candles]
    posted = client.post("/v1/forecast", json={"candles": candles}).json()
    assert latest["forecast"] == posted["forecast"]


def test_models_lists_contracts_headline_and_refusals(client_for, served_project, tmp_path):
    import shutil

    shutil.copytree(served_project / "data", tmp_path / "data")
    (tmp_path / "data/06_models/ridge.forecaster.int8.onnx").write_bytes(b"not a model")
    listing = client_for(tmp_path).get("/v1/models").json()
    lstm = next(m for m in listing["models"] if (m["kind"], m["variant"]) == ("lstm", "fp32"))
    metrics = json.loads((served_project / "data/08_reporting/forecast_metrics.json").read_text())
    assert (
        lstm["headline"]["crps_skill_vs_garch_h1"]
        == metrics["headline"]["lstm_crps_skill_vs_garch_h1"]
    )
    assert lstm["bars_needed"] == lstm["context_length"] + 1 and lstm["file"] == "forecaster.onnx"
    assert lstm["context_length"] == lstm["window_length"]  # the basic set: one bar before
    assert listing["refused"] == [
        {
            "file": "ridge.forecaster.int8.onnx",
            "reason": pytest.approx(listing["refused"][0]["reason"]),
        }
    ]
    assert "cannot be read" in listing["refused"][0]["reason"]
    assert ("ridge", "int8") not in {(m["kind"], m["variant"]) for m in listing["models"]}


def _bad(candles: list[dict], bar: int, **change) -> list[dict]:
    candles = [dict(c) for c in candles]
    candles[bar].update(change)
    return candles


REFUSALS = {
    "nan": (lambda c: _bad(c, 5, close=math.nan), "/candles/5/close", "NaN"),
    "non_positive": (lambda c: _bad(c, 3, open=0.0), "/candles/3/open", "positive"),
    "high_below_low": (
        lambda c: _bad(c, 7, high=c[7]["low"] - 1),
        "/candles/7/high",
        "high is below low",
    ),
    "off_grid": (
        lambda c: _bad(c, 12, time=c[12]["time"].replace(":00:00Z", ":30:00Z")),
        "/candles/12/time",
        "grid",
    ),
    "gap": (lambda c: c[:6] + c[7:] + [_shifted(c[-1])], "/candles/6/time", "gap"),
    "newest_first": (lambda c: c[::-1], "/candles", "newest first"),
    "too_short": (lambda c: c[:5], "/candles", "at least 13"),
    "naive_time": (lambda c: _bad(c, 2, time="2022-03-06T10:00:00"), "/candles/2/time", "timezone"),
    "epoch_float": (lambda c: _bad(c, 4, time=1646560800.5), "/candles/4/time", "integer epoch"),
    "unknown_field": (lambda c: _bad(c, 1, vol=1.0), "/candles/1/vol", "Extra inputs"),
}


def _shifted(candle: dict) -> dict:
    import datetime as dt

    when = dt.datetime.fromisoformat(candle["time"].replace("Z", "+00:00")) + dt.timedelta(hours=1)
    return candle | {"time": when.strftime("%Y-%m-%dT%H:%M:%SZ")}


@pytest.mark.parametrize("case", sorted(REFUSALS))
def test_bad_candles_are_refused_naming_field_and_bar(client_for, served_project, case):
    change, pointer, words = REFUSALS[case]
    candles = change(window(served_project, bars=14)[1:])
    if case == "gap":
        candles = candles[-13:]
    response = client_for(served_project).post(
        "/v1/forecast",
        content=json.dumps({"candles": candles}, allow_nan=True),
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == PROBLEM
    body = response.json()
    assert body["status"] == 422 and body["instance"] == "/v1/forecast"
    pointers = [e["pointer"] for e in body["errors"]]
    assert pointer in pointers, body
    error = body["errors"][pointers.index(pointer)]
    assert words.lower() in (error["problem"] + body["detail"]).lower(), body
    if pointer.count("/") == 3:
        assert error["bar"] == int(pointer.split("/")[2])


def test_a_bad_window_in_a_batch_is_named(client_for, served_project):
    candles = window(served_project)
    windows = [{"candles": candles}, {"candles": _bad(candles, 4, low=-1.0)}]
    body = client_for(served_project).post("/v1/forecast/batch", json={"windows": windows}).json()
    assert body["status"] == 422
    assert "/windows/1/candles/4/low" in [e["pointer"] for e in body["errors"]]


@pytest.mark.parametrize(
    ("choice", "field"), [({"model": "gru"}, "model"), ({"variant": "fp16"}, "model")]
)
def test_unknown_model_is_a_404_listing_the_served_ones(client_for, served_project, choice, field):
    response = client_for(served_project).post(
        "/v1/forecast", json={"candles": window(served_project)} | choice
    )
    assert response.status_code == 404 and response.headers["content-type"] == PROBLEM
    body = response.json()
    assert body["errors"][0]["field"] == field and "lstm/fp32" in body["served"]


def test_limits_on_batch_bars_and_body(client_for, served_project):
    client = client_for(served_project, max_batch=2, max_bars=20, max_body_bytes=20_000)
    candles = window(served_project)
    too_many = client.post("/v1/forecast/batch", json={"windows": [{"candles": candles}] * 3})
    assert too_many.status_code == 422 and "at most 2" not in too_many.text
    assert "1 to 2" in too_many.json()["detail"]
    long = client.post("/v1/forecast", json={"candles": window(served_project, bars=21)})
    assert long.status_code == 422 and "at most 20" in long.json()["detail"]
    huge = client.post(
        "/v1/forecast",
        content=b"{" + b" " * 30_000 + b"}",
        headers={"Content-Type": "application/json"},
    )
    assert huge.status_code == 413 and huge.headers["content-type"] == PROBLEM


def test_malformed_json_and_unknown_paths_are_problems(client_for, served_project):
    client = client_for(served_project)
    broken = client.post(
        "/v1/forecast", content=b"{nope", headers={"Content-Type": "application/json"}
    )
    assert broken.status_code == 422 and broken.headers["content-type"] == PROBLEM
    missing = client.get("/v1/nothing")
    assert missing.status_code == 404 and missing.json()["title"] == "Not found"


def test_api_key_guards_v1_in_constant_time(client_for, served_project, monkeypatch):
    monkeypatch.setenv("LSTM_FORECAST_API_KEY", "s3cret")
    from lstm_forecast.serving import ServingSettings

    settings = ServingSettings.from_env(project_dir=served_project, poll_seconds=0)
    client = client_for(served_project, api_key=settings.api_key)
    assert client.get("/v1/models").status_code == 401
    wrong = client.get("/v1/models", headers={"Authorization": "Bearer s3creT"})
    assert wrong.status_code == 401 and wrong.headers["www-authenticate"] == "Bearer"
    assert client.get("/v1/models", headers={"Authorization": "Bearer s3cret"}).status_code == 200
    assert client.get("/healthz").status_code == 200 and client.get("/").status_code == 200


def test_cors_is_off_unless_configured(client_for, served_project):
    preflight = {"Origin": "https://example.org", "Access-Control-Request-Method": "POST"}
    closed = client_for(served_project).options("/v1/forecast", headers=preflight)
    assert "access-control-allow-origin" not in closed.headers
    opened = client_for(served_project, cors_origins=("https://example.org",))
    answer = opened.options("/v1/forecast", headers=preflight)
    assert answer.headers["access-control-allow-origin"] == "https://example.org"


def test_page_docs_and_plotly_are_served_offline(client_for, served_project):
    client = client_for(served_project)
    page = client.get("/").text
    assert '<script src="/static/plotly.min.js">' in page and "http" not in page.lower().replace(
        'name="viewport"', ""
    )
    plotly = client.get("/static/plotly.min.js")
    assert plotly.status_code == 200 and b"plotly" in plotly.content[:2000].lower()
    assert len(plotly.content) > 1_000_000
    docs = client.get("/docs").text
    assert "/openapi.json" in docs and "cdn" not in docs.lower()
    spec = client.get("/openapi.json").json()
    assert {"/v1/forecast", "/v1/forecast/batch", "/v1/forecast/latest", "/v1/models"} <= set(
        spec["paths"]
    )


def test_access_log_has_latency_and_never_the_body(client_for, served_project, caplog):
    client = client_for(served_project)
    with caplog.at_level("INFO", logger="lstm_forecast.serving.access"):
        client.post("/v1/forecast", json={"candles": window(served_project)})
    lines = [r.getMessage() for r in caplog.records if r.name == "lstm_forecast.serving.access"]
    assert any('"POST /v1/forecast" 200' in line and line.endswith(" ms") for line in lines), lines
    assert not any("close" in line or "candles" in line for line in lines)


def test_reload_on_demand(client_for, served_project, tmp_path):
    import shutil

    shutil.copytree(served_project / "data", tmp_path / "data")
    client = client_for(tmp_path)
    (tmp_path / "data/06_models/ridge.forecaster.opt.onnx").unlink()
    report = client.post("/v1/admin/reload").json()
    assert report["removed"] == ["ridge.forecaster.opt.onnx"]
    assert "lstm/fp32" in client.get("/readyz").json()["models"]
    assert "ridge/opt" not in client.get("/readyz").json()["models"]


def test_the_service_imports_neither_torch_nor_kedro():
    import subprocess
    import sys

    code = (
        "import sys, lstm_forecast.serving.app, lstm_forecast.serving.command; "
        "print(sorted({m.split('.')[0] for m in sys.modules} & "
        "{'torch', 'lightning', 'pytorch_lightning', 'kedro'}))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    )
    assert result.stdout.strip() == "[]"


def _columns(candles: list[dict]) -> dict[str, list]:
    import datetime as dt

    columns = {k: [c[k] for c in candles] for k in ("open", "high", "low", "close", "volume")}
    columns["time"] = [
        int(dt.datetime.fromisoformat(c["time"].replace("Z", "+00:00")).timestamp())
        for c in candles
    ]
    return columns


def test_columnar_windows_answer_as_candle_lists_do(client_for, served_project):
    candles = window(served_project, bars=20)
    as_objects = [{"candles": candles[i : i + 13]} for i in range(4)]
    as_columns = [_columns(candles[i : i + 13]) for i in range(4)]
    client = client_for(served_project)
    a = client.post("/v1/forecast/batch", json={"windows": as_objects}).json()
    b = client.post("/v1/forecast/batch", json={"windows": as_columns}).json()
    mixed = client.post("/v1/forecast/batch", json={"windows": as_objects[:2] + as_columns[2:]})
    assert a["forecasts"] == b["forecasts"] == mixed.json()["forecasts"]


def test_a_bad_columnar_window_is_named_by_column_and_bar(client_for, served_project):
    candles = window(served_project)
    columns = _columns(candles)
    columns["close"][6] = -3.0
    client = client_for(served_project)
    body = client.post("/v1/forecast/batch", json={"windows": [_columns(candles), columns]}).json()
    assert body["status"] == 422
    error = next(e for e in body["errors"] if e["pointer"] == "/windows/1/close/6")
    assert error["field"] == "windows[1].close[6]" and error["bar"] == 6
    uneven = _columns(candles) | {"volume": columns["volume"][:-1]}
    refused = client.post("/v1/forecast/batch", json={"windows": [uneven]})
    assert refused.status_code == 422 and "same length" in refused.json()["detail"]
    both = client.post("/v1/forecast/batch", json={"windows": [{"candles": candles} | columns]})
    assert both.status_code == 422 and "not both" in both.json()["detail"]


def test_an_asset_the_model_does_not_forecast_is_a_404(client_for, served_project):
    client = client_for(served_project)
    # The default run trains on BTCUSDT and ETHUSDT (forecaster.json lists them).
    latest = client.get("/v1/forecast/latest", params={"asset": "SOLUSDT"})
    assert latest.status_code == 404
    assert "['BTCUSDT', 'ETHUSDT']" in latest.json()["detail"]
    posted = client.post(
        "/v1/forecast", json={"candles": window(served_project), "asset": "SOLUSDT"}
    )
    assert posted.status_code == 404 and posted.json()["errors"][0]["pointer"] == "/asset"
