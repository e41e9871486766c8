"""The whole pipeline on daily and one-minute bars: interval-correct features and wording."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from tests.conftest import copy_project, run_kedro

pytestmark = pytest.mark.e2e


def _write_candles(path, rows: int, freq: str, start: str) -> None:
    rng = np.random.default_rng(1)
    close = 30_000 * np.exp(np.cumsum(rng.normal(0, 0.01, rows)))
    open_ = np.concatenate([[close[0]], close[:-1]])
    spread = np.abs(rng.normal(0, 0.003, rows)) * close
    stamps = pd.date_range(start, periods=rows, freq=freq)
    pd.DataFrame(
        {
            "timestamp": stamps.strftime("%Y-%m-%d %H:%M:%S"),
            "open": open_,
            "high": np.maximum(open_, close) + spread,
            "low": np.minimum(open_, close) - spread,
            "close": close,
            "volume": rng.uniform(10, 1_000, rows),
        }
    ).to_csv(path, index=False)


@pytest.mark.parametrize(
    ("rows", "freq", "interval", "hour_features"),
    [(730, "D", "1D", False), (14_400, "min", "1min", True)],
    ids=["two_years_daily", "ten_days_of_minutes"],
)
def test_a_run_on_other_intervals_speaks_in_their_bars(
    tmp_path, rows, freq, interval, hour_features
):
    project = copy_project(tmp_path / "project")
    _write_candles(project / "data/01_raw/bars.csv", rows, freq, "2022-01-01")
    run_kedro(
        project,
        "run",
        "--env=smoke",
        f"--params=raw_csv=data/01_raw/bars.csv,ingestion.interval={interval}",
    )
    sidecar = json.loads((project / "data/06_models/forecaster.json").read_text())
    assert sidecar["contract"]["interval"] == interval
    # The hour of day is constant on daily bars: left out, and the contract says so.
    assert ("hour_sin" in sidecar["contract"]["feature_names"]) is hour_features
    metrics = json.loads((project / "data/08_reporting/forecast_metrics.json").read_text())
    assert metrics["interval"] == interval
    summary = json.loads((project / "data/08_reporting/run_summary.json").read_text())
    assert f"bars of {interval} ahead" in summary["text"][0]
    assert "hour" not in " ".join(summary["text"])
