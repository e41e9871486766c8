"""Question 10: the forecasting service under load, against onnxruntime called directly.

`kedro serve` (one uvicorn worker, the project's logging) runs on a free port of
127.0.0.1 over a project's published files; an asyncio client (aiohttp) sends
``POST /v1/forecast`` (one window) and ``POST /v1/forecast/batch`` (64 windows) from 1, 8
and 64 concurrent connections, each scenario bounded in requests and seconds. In the same
run, the same windows go through the same forecaster in onnxruntime directly (same session
settings), and the service's throughput is shown as a share of that. Client and server share
the machine's cores, as on a one-box deployment.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as c
import _quick

CLIENTS = (1, 8, 64)
BATCH = 64
GOALS = "≥1000 single forecasts/s, p99 ≤ 50 ms at 8 clients, ≥20000 windows/s batched, 0 errors"


def main() -> None:
    parsed = c.parser(__doc__.splitlines()[0])
    parsed.add_argument(
        "--project",
        type=Path,
        default=c.ROOT,
        help="a project whose data/06_models holds published forecasters",
    )
    args = parsed.parse_args()
    project = args.project.resolve()
    with tempfile.TemporaryDirectory(prefix="bench-serving-") as tmp:
        if args.quick and not (project / "data/06_models/forecaster.onnx").exists():
            # A fresh clone has published nothing: --quick serves a smoke run's files, so
            # the script runs (and cannot rot) without a `make run` first (set-up, not timed).
            print("[serving] no published model: a `kedro run --env=smoke`'s files ...")
            project = _quick.smoke_project(Path(tmp) / "project")
        if not (project / "data/06_models/forecaster.onnx").exists():
            sys.exit(
                f"{project}/data/06_models/forecaster.onnx is missing: run `kedro run` there first"
            )
        _bench(project, args)


def _bench(project: Path, args: Any) -> None:
    max_requests, max_seconds = (300, 3.0) if args.quick else (4000, 10.0)
    single, batch, columns, feed = _payloads(project)
    direct = _direct(project, feed, 0.3 if args.quick else max_seconds)  # 3 s: most of --quick
    server, url = _start(project)
    try:
        rows = []
        scenarios = (
            ("single", single, 1),
            (f"batch-{BATCH}", batch, BATCH),
            (f"batch-{BATCH} columns", columns, BATCH),
        )
        for name, body, windows in scenarios:
            path = "/v1/forecast" if windows == 1 else "/v1/forecast/batch"
            for clients in CLIENTS:
                limit = max_requests if windows == 1 else max(max_requests // 8, 50)
                cpu = _cpu_seconds(server.pid)
                result = asyncio.run(_load(url + path, body, clients, limit, max_seconds))
                # Server CPU per request: what the figures would be on idle cores, roughly.
                result["cpu_ms"] = (_cpu_seconds(server.pid) - cpu) / result["requests"] * 1000
                rows.append((name, clients, windows, result))
                print(f"[serving] {name} x{clients}: {result['rps']:.0f} req/s", flush=True)
    finally:
        _stop(server)
    _report(rows, direct)
    met = _goals_met(rows)
    c.write_summary(
        args.summary,
        [
            c.summary_row(
                "10. forecasting service, one worker",
                ours=f"{_rate(rows, 'single', 8):.0f}/s, p99 {_p99(rows, 'single', 8):.1f} ms at 8",
                reference=f"{direct['single']:.0f}/s onnxruntime direct",
                ratio=f"{_rate(rows, 'single', 8) / direct['single']:.2f} of direct",
                goal=GOALS,
                met=met,
            )
        ],
    )


def _payloads(project: Path) -> tuple[bytes, bytes, bytes, dict[str, np.ndarray]]:
    sidecar = json.loads((project / "data/06_models/forecaster.json").read_text())
    contract = sidecar["contract"]
    # context_length + 1 bars (older sidecars: window_length + 1).
    needed = (contract.get("context_length") or contract["window_length"]) + 1
    frame = pd.read_parquet(project / "data/02_intermediate/candles.parquet").tail(needed + BATCH)
    candles = [
        {
            "time": int(t.timestamp()),
            "open": r.open,
            "high": r.high,
            "low": r.low,
            "close": r.close,
            "volume": r.volume,
        }
        for t, r in zip(frame["timestamp"], frame.itertuples(), strict=True)
    ]
    windows = [candles[i : i + needed] for i in range(BATCH)]
    values = frame[["open", "high", "low", "close", "volume"]].to_numpy(np.float64)
    times = np.array([c_["time"] for c_ in candles], np.int64)
    feed = {
        "candles": np.stack([values[i : i + needed] for i in range(BATCH)]),
        "open_time": np.stack([times[i : i + needed] for i in range(BATCH)]),
    }
    return (
        json.dumps({"candles": windows[-1]}).encode(),
        json.dumps({"windows": [{"candles": w} for w in windows]}).encode(),
        json.dumps({"windows": [{k: [c_[k] for c_ in w] for k in w[0]} for w in windows]}).encode(),
        feed,
    )


def _direct(project: Path, feed: dict[str, np.ndarray], seconds: float) -> dict[str, float]:
    """Windows/s through onnxruntime alone: one window per call, and 64 per call."""
    from lstm_forecast.onnx.contract import make_session

    session = make_session(
        (project / "data/06_models/forecaster.onnx").read_bytes(),
        {"intra_op_num_threads": 1, "inter_op_num_threads": 1},
    )
    one = {k: v[-1:] for k, v in feed.items()}
    rates = {}
    for name, inputs, windows in (("single", one, 1), ("batch", feed, BATCH)):
        for _ in range(20):
            session.run(None, inputs)
        calls, started = 0, time.perf_counter()
        while time.perf_counter() - started < min(seconds, 3.0):
            session.run(None, inputs)
            calls += 1
        rates[name] = calls * windows / (time.perf_counter() - started)
    return rates


async def _load(url: str, body: bytes, clients: int, limit: int, seconds: float) -> dict:
    import aiohttp

    latencies: list[float] = []
    errors = [0]
    left = [limit]
    headers = {"Content-Type": "application/json"}
    connector = aiohttp.TCPConnector(limit=clients)
    async with aiohttp.ClientSession(connector=connector, trust_env=False) as session:
        for _ in range(min(20, limit)):  # warm-up: connections, allocator, caches
            async with session.post(url, data=body, headers=headers) as response:
                await response.read()
        deadline = time.perf_counter() + seconds

        async def client() -> None:
            while left[0] > 0 and time.perf_counter() < deadline:
                left[0] -= 1
                started = time.perf_counter()
                try:
                    async with session.post(url, data=body, headers=headers) as response:
                        await response.read()
                        ok = response.status == 200
                except aiohttp.ClientError:
                    ok = False
                latencies.append(time.perf_counter() - started)
                errors[0] += not ok

        started = time.perf_counter()
        await asyncio.gather(*(client() for _ in range(clients)))
        elapsed = time.perf_counter() - started
    return {
        "requests": len(latencies),
        "errors": errors[0],
        "rps": len(latencies) / elapsed,
        "p50_ms": c.percentile(latencies, 50) * 1000,
        "p99_ms": c.percentile(latencies, 99) * 1000,
    }


def _start(project: Path) -> tuple[subprocess.Popen, str]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    kedro = str(Path(sys.executable).parent / "kedro")
    log = open(project / "bench-serving.log", "w")  # noqa: SIM115 - open for the server's life
    server = subprocess.Popen(
        [kedro, "serve", "--host", "127.0.0.1", "--port", str(port), "--workers", "1"],
        cwd=project,
        env=c.bench_env() | {"LSTM_FORECAST_SERVE_POLL_SECONDS": "0"},
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if server.poll() is not None:
            sys.exit(f"`kedro serve` exited {server.returncode}; see {log.name}")
        try:
            with opener.open(url + "/readyz", timeout=2):
                return server, url
        except OSError:
            time.sleep(0.3)
    _stop(server)
    sys.exit("`kedro serve` was not ready within 90 s")


def _stop(server: subprocess.Popen) -> None:
    if server.poll() is None:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait(timeout=10)


def _cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _rate(rows: list, name: str, clients: int) -> float:
    return next(r["rps"] * w for n, k, w, r in rows if n == name and k == clients)


def _p99(rows: list, name: str, clients: int) -> float:
    return next(r["p99_ms"] for n, k, w, r in rows if n == name and k == clients)


def _goals_met(rows: list) -> bool:
    best_batch = max(r["rps"] * w for n, k, w, r in rows if w > 1)
    return (
        max(r["rps"] for n, k, w, r in rows if w == 1) >= 1000
        and _p99(rows, "single", 8) <= 50
        and best_batch >= 20000
        and all(r["errors"] == 0 for *_, r in rows)
    )


def _report(rows: list, direct: dict[str, float]) -> None:
    print(
        f"\nonnxruntime direct: {direct['single']:.0f} windows/s one per call, "
        f"{direct['batch']:.0f} windows/s {BATCH} per call. Goals: {GOALS}."
    )
    table = []
    for name, clients, windows, r in rows:
        reference = direct["single" if windows == 1 else "batch"]
        busy_core = f"{1000 / r['cpu_ms'] * windows:.0f}" if r["cpu_ms"] > 0 else "-"
        table.append(
            [
                name,
                str(clients),
                str(r["requests"]),
                str(r["errors"]),
                f"{r['rps']:.0f}",
                f"{r['rps'] * windows:.0f}",
                f"{r['p50_ms']:.1f}",
                f"{r['p99_ms']:.1f}",
                f"{r['rps'] * windows / reference:.3f}",
                f"{r['cpu_ms']:.2f}",
                busy_core,
            ]
        )
    headers = [
        "requests",
        "clients",
        "sent",
        "errors",
        "req/s",
        "windows/s",
        "p50 ms",
        "p99 ms",
        "share of direct",
        "server CPU ms/req",
        "windows/s per busy core",
    ]
    c.print_table(headers, table)
    print(f"load average at the end: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
