"""The Node.js client (clients/node) against the Python path, after a real smoke run.

The client is installed from its lockfile with `npm ci` once per session in a temporary copy
(``ONNXRUNTIME_NODE_INSTALL=skip``: the CPU binaries ship in the npm package, the CUDA ones
are not downloaded). Where node or npm is missing, these tests skip and say so.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from lstm_forecast.timeseries.reference import python_path_prices
from tests.conftest import PROJECT_ROOT, RAW_CSV, copy_project, run_kedro

from .conftest import Published, last_window, relative_difference, window_inputs

pytestmark = pytest.mark.e2e

CLIENT_DIR = PROJECT_ROOT / "clients" / "node"
# Node and Python onnxruntime run the same graph with the same CPU kernels.
SAME_GRAPH_RTOL = 1e-12
# Against the Python path (numpy features -> model.onnx -> prices): the sidecar's tolerance.
PYTHON_PATH_RTOL = 1e-6
_OFFLINE = ("ENOTFOUND", "EAI_AGAIN", "ECONNREFUSED", "ETIMEDOUT", "ENETUNREACH")


@pytest.fixture(scope="session")
def client(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """forecast.mjs in a temporary copy of clients/node, installed with `npm ci`."""
    missing = [tool for tool in ("node", "npm") if shutil.which(tool) is None]
    if missing:
        pytest.skip(
            f"{' and '.join(missing)} not on PATH: install Debian's nodejs and npm packages "
            "(.ci/run does) to run the Node client tests"
        )
    folder = tmp_path_factory.mktemp("node-client")
    for name in ("package.json", "package-lock.json", "forecast.mjs"):
        shutil.copy2(CLIENT_DIR / name, folder / name)
    installed = subprocess.run(
        ["npm", "ci", "--prefer-offline", "--no-audit", "--no-fund"],
        cwd=folder,
        env={**os.environ, "ONNXRUNTIME_NODE_INSTALL": "skip"},
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    if installed.returncode != 0:
        output = installed.stdout + installed.stderr
        if any(code in output for code in _OFFLINE):
            pytest.skip(f"`npm ci` needs the npm registry or a filled npm cache:\n{output[-800:]}")
        pytest.fail(f"`npm ci` in clients/node exited {installed.returncode}:\n{output[-3000:]}")
    return folder / "forecast.mjs"


def node(
    client: Path, project: Path, *args: str, tz: str = "UTC"
) -> subprocess.CompletedProcess[str]:
    """Run the client in ``project`` (its default --model/--sidecar paths resolve there)."""
    return subprocess.run(
        ["node", str(client), *args],
        cwd=project,
        env={**os.environ, "TZ": tz},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def forecast_json(result: subprocess.CompletedProcess[str]) -> dict:
    assert result.stdout, f"no output (exit {result.returncode}):\n{result.stderr}"
    return json.loads(result.stdout)


def prices_of(output: dict) -> np.ndarray:
    return np.array([[row["quantiles"] for row in output["forecast"]]], dtype=np.float64)


@pytest.fixture(scope="module")
def node_output(client: Path, published: Published) -> dict:
    result = node(client, published.project, str(RAW_CSV), "--json")
    assert result.returncode == 0, result.stderr
    return forecast_json(result)


@pytest.fixture(scope="module")
def inference_forecasts(published: Published, tmp_path_factory: pytest.TempPathFactory):
    """`kedro run --pipelines=inference` on the same CSV, in a copy holding the smoke models."""
    project = copy_project(tmp_path_factory.mktemp("inference") / "project")
    shutil.copytree(
        published.project / "data" / "06_models", project / "data" / "06_models", dirs_exist_ok=True
    )
    run_kedro(project, "run", "--pipelines=inference", "--env=smoke")
    return pd.read_parquet(project / "data" / "07_model_output" / "inference_forecasts.parquet")


def test_node_forecast_equals_python(node_output, published: Published, inference_forecasts):
    rows = last_window(published)
    horizon, levels = published.contract.horizon, list(published.contract.quantiles)
    got = prices_of(node_output)
    assert got.shape == (1, horizon, len(levels))
    assert node_output["window_ok"] is True
    # The graph's own flag, as Python's onnxruntime reads it from the same window.
    flag = published.forecaster.run(["extrapolating"], window_inputs(last_window(published)))[0]
    assert node_output["extrapolating"] is bool(flag[0])
    assert node_output["quantiles"] == levels
    origin = rows["timestamp"].iloc[-1]
    assert pd.Timestamp(node_output["origin_time"]) == origin
    steps = pd.to_timedelta(np.arange(1, horizon + 1) * pd.Timedelta(published.contract.interval))
    assert [pd.Timestamp(r["forecast_time"]) for r in node_output["forecast"]] == list(
        origin + steps
    )

    # 1. The same graph in Python onnxruntime, on the same window.
    same_graph, ok = published.run(window_inputs(rows))
    assert ok.tolist() == [True]
    # 2. The Python path: numpy features -> scaler -> model.onnx -> prices.
    python_path = python_path_prices(published.predict, published.contract, rows)
    # 3. The inference pipeline's forecast for the same origin.
    forecasts = inference_forecasts[inference_forecasts["asset"] == "BTCUSDT"]
    latest = forecasts[forecasts["origin_time"] == origin].sort_values("h")
    pipeline = latest[[f"q{level:g}" for level in levels]].to_numpy()[None]

    differences = {
        "python onnxruntime, same graph": relative_difference(got, same_graph),
        "python path (features + model.onnx)": relative_difference(got, python_path),
        "inference pipeline": relative_difference(got, pipeline),
    }
    print(f"\nNode client vs Python, max relative difference: {differences}")
    assert differences["python onnxruntime, same graph"] <= SAME_GRAPH_RTOL, differences
    assert differences["python path (features + model.onnx)"] <= PYTHON_PATH_RTOL, differences
    assert differences["inference pipeline"] <= PYTHON_PATH_RTOL, differences
    assert (
        0
        <= node_output["reference_error"]
        <= published.sidecar["reference_example"]["relative_tolerance"]
    )


def test_node_reads_timestamps_as_utc_whatever_the_local_zone(
    client: Path, published: Published, node_output
):
    # `new Date("2022-03-06 16:00:00")` would be local time: the hour features would move.
    eastern = forecast_json(
        node(client, published.project, str(RAW_CSV), "--json", tz="America/New_York")
    )
    assert eastern == node_output


def test_node_prints_a_readable_forecast(client: Path, published: Published, node_output):
    result = node(client, published.project, str(RAW_CSV))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    levels = published.contract.quantiles
    assert lines[0].split() == ["forecast_time", *[f"q{level:g}" for level in levels]]
    assert lines[-2] == "window_ok true"
    assert lines[-1] == f"extrapolating {str(node_output['extrapolating']).lower()}"
    first = lines[1].split()
    assert first[0] == node_output["forecast"][0]["forecast_time"]
    assert [float(v) for v in first[1:]] == pytest.approx(
        node_output["forecast"][0]["quantiles"], abs=0.005
    )
    assert len(lines) == published.contract.horizon + 3  # header, steps, window_ok, extrapolating


def _sidecar_copy(published: Published, folder: Path, change) -> Path:
    sidecar = json.loads(json.dumps(published.sidecar))
    change(sidecar["reference_example"])
    path = folder / "forecaster.json"
    path.write_text(json.dumps(sidecar))
    return path


def test_node_refuses_a_tampered_reference_example(client: Path, published: Published, tmp_path):
    def nudge(example: dict) -> None:
        example["close_quantiles"][0][0] *= 1 + 1e-4  # $4 on a $40,000 price

    sidecar = _sidecar_copy(published, tmp_path, nudge)
    result = node(client, published.project, str(RAW_CSV), "--sidecar", str(sidecar))
    assert result.returncode == 1
    assert "reference example does not reproduce" in result.stderr
    assert "max relative difference" in result.stderr
    assert result.stdout == ""  # no forecast is printed from an unverified setup


def test_node_refuses_a_forecaster_that_is_not_the_sidecars(client: Path, published: Published):
    # Another model's forecaster with this sidecar: what a mixed-up deployment looks like.
    other = published.forecaster_path.with_name("ridge.forecaster.onnx")
    if not other.exists():
        pytest.skip("the smoke run published no ridge forecaster")
    result = node(client, published.project, str(RAW_CSV), "--model", str(other))
    assert result.returncode == 1
    assert "reference example does not reproduce" in result.stderr


@pytest.mark.parametrize("damage", ["newest_first", "gap"])
def test_node_flags_a_window_the_graph_rejects(
    client: Path, published: Published, tmp_path: Path, damage: str
):
    table = pd.read_csv(RAW_CSV, index_col=0)
    if damage == "newest_first":  # a source that lists the latest bar first
        table = table.iloc[::-1]
    else:  # one missing hour inside the last window
        table = table.drop(table.index[-published.rows // 2])
    csv = tmp_path / "candles.csv"
    table.to_csv(csv)
    result = node(client, published.project, str(csv), "--json")
    assert result.returncode == 2
    assert forecast_json(result)["window_ok"] is False
    assert "window_ok is false" in result.stderr


def test_node_names_a_missing_column(client: Path, published: Published, tmp_path: Path):
    csv = tmp_path / "candles.csv"
    pd.read_csv(RAW_CSV, index_col=0).drop(columns="volume").to_csv(csv)
    result = node(client, published.project, str(csv))
    assert result.returncode == 1
    assert 'no "volume" column' in result.stderr
