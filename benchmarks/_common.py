"""Helpers shared by the benchmark scripts: parameters, timing, peak memory, summary rows.

Benchmarks print figures; they never fail. Machines are noisy, so every comparison is a
ratio of medians taken in the same run, with the variants interleaved.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
BENCH_DIR = ROOT / "benchmarks"
RAW_CSV = ROOT / "data" / "01_raw" / "candles" / "BTCUSDT.csv"
DATA_LAYERS = (
    "01_raw",
    "02_intermediate",
    "03_primary",
    "04_feature",
    "05_model_input",
    "06_models",
    "07_model_output",
    "08_reporting",
)


# ----------------------------------------------------------------------------- parameters
def load_params(env: str = "local") -> dict[str, Any]:
    """The project's parameters exactly as `kedro run` resolves them (base + ``env``)."""
    from kedro.config import OmegaConfigLoader

    with warnings.catch_warnings():
        # Kedro 1.7 registers its resolvers with an OmegaConf API that warns; not ours.
        warnings.simplefilter("ignore", UserWarning)
        loader = OmegaConfigLoader(
            conf_source=str(ROOT / "conf"), base_env="base", default_run_env=env
        )
        return loader["parameters"]


def load_config(
    kind: str, env: str = "local", runtime_params: dict[str, Any] | None = None
) -> dict[str, Any]:
    """One kind of the project's configuration (``catalog``, ``parameters``) as Kedro resolves
    it for ``env``, with ``runtime_params`` as ``--params`` would give them."""
    from kedro.config import OmegaConfigLoader

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        loader = OmegaConfigLoader(
            conf_source=str(ROOT / "conf"),
            base_env="base",
            default_run_env=env,
            runtime_params=runtime_params or {},
            merge_strategy={"parameters": "soft", "catalog": "soft"},
        )
        return loader[kind]


# --------------------------------------------------------------------------------- timing
def timed(func: Callable[[], Any]) -> tuple[float, Any]:
    """Seconds taken by one call of ``func``, and its result."""
    started = time.perf_counter()
    result = func()
    return time.perf_counter() - started, result


def interleaved_medians(
    variants: dict[str, Callable[[], Any]], repeats: int, warmup: int = 1
) -> dict[str, list[float]]:
    """Time each variant ``repeats`` times, alternating variants so drift hits all alike.

    Returns every sample (seconds) per variant; callers take the median.
    """
    for _ in range(warmup):
        for func in variants.values():
            func()
    samples: dict[str, list[float]] = {name: [] for name in variants}
    for _ in range(repeats):
        for name, func in variants.items():
            samples[name].append(timed(func)[0])
    return samples


def median(values: list[float]) -> float:
    return statistics.median(values)


def percentile(values: list[float], q: float) -> float:
    """The ``q``-th percentile (0..100) by linear interpolation."""
    ordered = sorted(values)
    position = (len(ordered) - 1) * q / 100.0
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


# ---------------------------------------------------------------------------- peak memory
def start_peak_rss() -> int:
    """Start a peak-RSS measurement here; returns the baseline (current RSS, bytes).

    ``ru_maxrss`` is a high-water mark since the process started, so a peak during imports
    would hide a smaller one later. Linux lets a process reset it (``clear_refs`` 5) to its
    current RSS; where that is refused, the baseline is the high-water mark so far.
    """
    gc.collect()
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return peak_rss_bytes()
    return _status_bytes("VmRSS")


def peak_rss_bytes() -> int:
    """This process's peak resident set size since start, or since ``start_peak_rss``."""
    try:
        return _status_bytes("VmHWM")
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # KiB on Linux


def _status_bytes(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    raise OSError(f"{field} not in /proc/self/status")


def run_child(script: Path, args: list[str], timeout: float | None = None) -> dict[str, Any]:
    """Run ``script --child ...`` in a fresh interpreter and return the JSON it prints last.

    A fresh process per measured variant is what makes peak-RSS figures comparable: no
    variant inherits the high-water mark of another.
    """
    result = subprocess.run(
        [sys.executable, str(script), "--child", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=bench_env(),
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(
            f"{script.name} {' '.join(args)} exited {result.returncode}:\n{result.stderr[-3000:]}"
        )
    return json.loads(result.stdout.strip().splitlines()[-1])


def bench_env() -> dict[str, str]:
    """Telemetry off and one thread per numeric library, as the project runs."""
    return {
        **os.environ,
        "KEDRO_DISABLE_TELEMETRY": "true",
        "DO_NOT_TRACK": "1",
        "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1"),
    }


# -------------------------------------------------------------------------- project copy
def copy_project(destination: Path, root: Path = ROOT) -> Path:
    """Copy what `kedro run` needs (src, no outputs, no conf/local) of the checkout ``root``
    into ``destination``."""
    destination.mkdir(parents=True, exist_ok=True)
    for name in ("pyproject.toml", ".telemetry"):
        if (root / name).exists():
            shutil.copy2(root / name, destination / name)
    shutil.copytree(
        root / "conf",
        destination / "conf",
        ignore=lambda folder, names: [
            n for n in names if Path(folder).name == "local" and n != ".gitkeep"
        ],
    )
    # Kedro's bootstrap refuses a project without its source_dir.
    shutil.copytree(root / "src", destination / "src", ignore=shutil.ignore_patterns("__pycache__"))
    for layer in DATA_LAYERS:
        (destination / "data" / layer).mkdir(parents=True, exist_ok=True)
    candles = root / RAW_CSV.parent.relative_to(ROOT)
    shutil.copytree(candles, destination / "data" / "01_raw" / "candles")
    return destination


# ------------------------------------------------------------------------------- summary
# Set by ``run_all.py --quick``: a project folder after a whole `kedro run --env=smoke`,
# shared by every script that needs a run's outputs (``_quick.smoke_project``); made there
# by the first script that asks when it does not exist yet.
SMOKE_RUN_ENV = "LSTM_FORECAST_BENCH_SMOKE_RUN"


def session_run(project: Path, env: str | None = None, pipelines: list[str] | None = None) -> None:
    """A Kedro session run of ``project`` in this process (what `kedro run` does), for a
    script's set-up: forked by ``run_all.py --quick``, it pays no imports of its own."""
    from kedro.framework.session import KedroSession
    from kedro.framework.startup import bootstrap_project

    bootstrap_project(project)
    with KedroSession.create(project_path=project, env=env) as session:
        session.run(pipeline_names=pipelines)


def summary_row(
    question: str, *, ours: str, reference: str, ratio: str, goal: str, met: bool | None
) -> dict[str, Any]:
    """One line of run_all's table; ``met`` is None where there is no comparison to make."""
    return {
        "question": question,
        "ours": ours,
        "reference": reference,
        "ratio": ratio,
        "goal": goal,
        "met": met,
    }


def parser(description: str) -> argparse.ArgumentParser:
    """The options every benchmark script understands."""
    parsed = argparse.ArgumentParser(description=description)
    parsed.add_argument(
        "--quick", action="store_true", help="tiny sizes and few repeats, to check it runs"
    )
    parsed.add_argument(
        "--summary", type=Path, help="write the summary rows for run_all.py to this JSON file"
    )
    return parsed


def write_summary(path: Path | None, rows: list[dict[str, Any]]) -> None:
    if path is not None:
        path.write_text(json.dumps(rows, indent=2))


def fmt_seconds(seconds: float) -> str:
    if seconds < 1e-3:
        return f"{seconds * 1e6:.0f} µs"
    if seconds < 1:
        return f"{seconds * 1e3:.1f} ms"
    return f"{seconds:.2f} s"


def fmt_bytes(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if abs(n) < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} GiB"


def print_table(headers: list[str], rows: list[list[str]]) -> None:
    """A plain aligned text table."""
    widths = [max(len(str(x)) for x in column) for column in zip(headers, *rows, strict=True)]
    line = "  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True))
    print(line)
    print("  ".join("-" * w for w in widths))
    for row in rows:
        print("  ".join(str(x).ljust(w) for x, w in zip(row, widths, strict=True)))
