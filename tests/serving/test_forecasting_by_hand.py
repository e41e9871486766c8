"""Answers and batch checks of the service, built directly from a served forecaster.

The forecaster is the smoke run's ``lstm`` fp32 file, loaded by the registry; a batch's
columnar windows are cut from its ingested candles (``window`` in conftest.py).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from lstm_forecast.serving.app import _contract_summary
from lstm_forecast.serving.forecasting import (
    batch_answer,
    checked_arrays,
    checked_batch,
    checked_windows,
    single_answer,
)
from lstm_forecast.serving.problems import Problem
from lstm_forecast.serving.registry import Registry
from lstm_forecast.serving.schemas import Candle, Window
from tests.serving.conftest import window


@pytest.fixture(scope="module")
def model(served_project: Path):
    data = served_project / "data"
    registry = Registry(data / "06_models", data / "08_reporting", threads=1)
    registry.reload()
    return registry.catalogue.models[("lstm", "fp32")]


def columns(candles: list[dict]) -> Window:
    """The columnar form of candle objects (times as epoch seconds)."""
    stamps = [int(np.datetime64(c["time"].rstrip("Z"), "s").astype(np.int64)) for c in candles]
    return Window(
        time=stamps,
        **{k: [c[k] for c in candles] for k in ("open", "high", "low")},
        close=[c["close"] for c in candles],
        volume=[c["volume"] for c in candles],
    )


def test_contract_summary_names_every_field(model):
    contract = model.contract
    assert _contract_summary(model) == {
        "file": "forecaster.onnx",
        "interval": contract.interval,
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
    }


def test_columnar_windows_longer_than_the_limit_are_named(model, served_project):
    """Two windows of bars_needed candles; the limit one below that refuses both, the limit
    equal to it takes both, as float64 values and int64 times."""
    needed = model.bars_needed
    windows = [columns(window(served_project, needed))] * 2
    with pytest.raises(Problem) as caught:
        checked_batch(model, windows, needed - 1)
    assert caught.value.errors == [
        {
            "pointer": f"/windows/{i}",
            "field": f"windows[{i}]",
            "problem": f"{needed} candles; at most {needed - 1} are accepted",
        }
        for i in (0, 1)
    ]
    values, times = checked_batch(model, windows, needed)
    assert values.shape == (2, needed, 5) and values.dtype == np.float64
    assert times.dtype == np.int64 and np.all(np.diff(times, axis=1) == model.interval_s)


class _SecondWindowRefused:
    """The served session, with the graph's window_ok false for the second window: the one
    case where the graph and the service's own checks could disagree."""

    def __init__(self, session) -> None:
        self.session = session

    def run(self, names, feeds):
        prices, ok = self.session.run(names, feeds)
        ok = ok.copy()
        ok[-1] = False  # the last (second of two, or the only one)
        return prices, ok


def test_batch_answer_shapes_and_a_window_the_graph_refuses(model, served_project):
    needed = model.bars_needed
    values, times = checked_batch(model, [columns(window(served_project, needed))] * 2, needed)
    refusing = dataclasses.replace(model, session=_SecondWindowRefused(model.session))
    answer = batch_answer(refusing, values, times)
    assert set(answer) == {"model", "interval", "quantile_levels", "forecasts"}
    assert answer["model"] == model.identity
    assert answer["interval"] == model.contract.interval
    assert answer["quantile_levels"] == list(model.contract.quantiles)
    first, second = answer["forecasts"]
    assert set(first) == {"last_time", "window_ok", "forecast"}
    assert first["window_ok"] is True and len(first["forecast"]) == model.contract.horizon
    assert second == {"last_time": first["last_time"], "window_ok": False, "forecast": []}
    assert (
        answer["forecasts"][0]["forecast"]
        == batch_answer(model, values, times)["forecasts"][0]["forecast"]
    )


def test_a_single_window_the_graph_refuses_is_a_422(model, served_project):
    needed = model.bars_needed
    values, times = checked_batch(model, [columns(window(served_project, needed))] * 2, needed)
    refusing = dataclasses.replace(model, session=_SecondWindowRefused(model.session))
    with pytest.raises(Problem) as caught:
        single_answer(refusing, values[:1], times[:1])
    assert (caught.value.status, caught.value.title) == (422, "Window refused")
    assert caught.value.detail == "the forecaster's window_ok check failed"
    assert caught.value.errors == [
        {"pointer": "/candles", "field": "candles", "problem": "window_ok false"}
    ]
    answer = single_answer(model, values[:1], times[:1])
    assert answer["window_ok"] is True and answer["model"] == model.identity


def test_candle_lists_longer_than_the_limit_and_every_bad_window_are_named(model, served_project):
    needed = model.bars_needed
    candles = [Candle(**c) for c in window(served_project, needed)]
    with pytest.raises(Problem) as caught:
        checked_windows(model, [candles], ["/windows/0/candles"], needed - 1)
    assert caught.value.errors == [
        {
            "pointer": "/windows/0/candles",
            "field": "windows.0.candles",
            "problem": f"{needed} candles; at most {needed - 1} are accepted",
        }
    ]
    assert checked_windows(model, [candles], ["/candles"], needed)[0].shape == (1, needed, 5)
    short = (np.ones((2, 5)), np.arange(2.0) * model.interval_s)
    with pytest.raises(Problem) as caught:
        checked_arrays(model, [(*short, "/windows/0/candles"), (*short, "/windows/1/candles")])
    assert [e["pointer"] for e in caught.value.errors] == [
        "/windows/0/candles",
        "/windows/1/candles",
    ]


def test_forecast_steps_are_one_interval_apart_after_the_last_bar(
    model, served_project, client_for
):
    """Step h opens h intervals after the window's last bar; the answer is JSON."""
    needed = model.bars_needed
    values, times = checked_batch(model, [columns(window(served_project, needed))], needed)
    answer = single_answer(model, values, times)
    last = int(times[0, -1])
    expected = [
        np.datetime_as_string(np.datetime64(last + h * model.interval_s, "s")) + "Z"
        for h in range(1, model.contract.horizon + 1)
    ]
    assert [step["time"] for step in answer["forecast"]] == expected
    assert [step["h"] for step in answer["forecast"]] == list(range(1, len(expected) + 1))
    response = client_for(served_project).post(
        "/v1/forecast", json={"candles": window(served_project)}
    )
    assert response.headers["content-type"] == "application/json"
    info = client_for(served_project).get("/openapi.json").json()["info"]
    assert info == {
        "title": "lstm-forecast",
        "version": "1",
        "summary": "Quantile forecasts of the next bars' closes from the published forecasters.",
    } | {k: v for k, v in info.items() if k not in ("title", "version", "summary")}
