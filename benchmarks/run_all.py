"""Run the benchmarks, each in its own process, and print one summary table.

    .venv/bin/python benchmarks/run_all.py            # full sizes (about 5-10 minutes)
    .venv/bin/python benchmarks/run_all.py --quick    # tiny sizes, to check that all run
    .venv/bin/python benchmarks/run_all.py --only training,inference
    .venv/bin/python benchmarks/run_all.py --only runners,ddp   # not in the default set (slow)

Benchmarks print figures, they do not judge the build: this exits 0 even when a goal is
missed or a script fails (the table says which).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as c

SCRIPTS = {
    "preprocessing": "bench_preprocessing.py",
    "windows_memory": "bench_windows_memory.py",
    "training": "bench_training.py",
    "inference": "bench_inference.py",
    "forecaster": "bench_forecaster.py",
    "variants": "bench_variants.py",
    "end_to_end": "bench_end_to_end.py",
    "scale": "bench_scale.py",
}
# Run only when named with --only: minutes of `kedro run`s, each starting a Dask cluster,
# or of spawned DDP workers, each importing torch and Lightning afresh.
OPTIONAL = {
    "runners": "bench_runners.py",
    "ddp": "bench_ddp.py",
    "serving": "bench_serving.py",  # a uvicorn server and a load client share the cores
}


def versions() -> str:
    from importlib.metadata import version

    names = ("torch", "pytorch-lightning", "onnxruntime", "pandas", "numpy", "kedro")
    return ", ".join(f"{name} {version(name)}" for name in names)


def main() -> None:
    parsed = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parsed.add_argument("--quick", action="store_true", help="tiny sizes and few repeats")
    parsed.add_argument(
        "--only", help=f"comma-separated subset of {', '.join([*SCRIPTS, *OPTIONAL])}"
    )
    args = parsed.parse_args()
    scripts = {**SCRIPTS, **OPTIONAL}
    chosen = args.only.split(",") if args.only else list(SCRIPTS)
    unknown = set(chosen) - set(scripts)
    if unknown:
        parsed.error(f"unknown benchmark(s): {', '.join(sorted(unknown))}")

    load = os.getloadavg()[0]
    started = time.perf_counter()
    rows: list[dict[str, object]] = []
    with tempfile.TemporaryDirectory(prefix="bench-summary-") as tmp:
        for name in chosen:
            summary = Path(tmp) / f"{name}.json"
            command = [sys.executable, str(c.BENCH_DIR / scripts[name]), "--summary", str(summary)]
            if args.quick:
                command.append("--quick")
            print(f"\n===== {scripts[name]}{' --quick' if args.quick else ''}", flush=True)
            result = subprocess.run(command, env=c.bench_env(), check=False)
            if result.returncode == 0 and summary.exists():
                rows.extend(json.loads(summary.read_text()))
            else:
                failed = f"FAILED (exit {result.returncode}), see its output above"
                rows.append(
                    c.summary_row(name, ours=failed, reference="", ratio="", goal="", met=None)
                )
    minutes = (time.perf_counter() - started) / 60

    print()
    print("=" * 100)
    print(
        f"Summary ({'--quick, NOT representative' if args.quick else 'full sizes'}); "
        f"{os.cpu_count()} CPUs, load average {load:.2f} at start, {minutes:.1f} min in all."
    )
    print(f"{platform.python_implementation()} {platform.python_version()}; {versions()}.")
    print("Medians of repeats, variants interleaved; compare ratios, not absolute times.")
    met_text = {True: "yes", False: "NO", None: "-"}
    c.print_table(
        ["question", "ours", "reference", "ratio", "goal", "met?"],
        [
            [
                str(row["question"]),
                str(row["ours"]),
                str(row["reference"]),
                str(row["ratio"]),
                str(row["goal"]),
                met_text[row["met"]],  # type: ignore[index]
            ]
            for row in rows
        ],
    )


if __name__ == "__main__":
    main()
