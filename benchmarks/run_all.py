"""Run the benchmarks, each in its own process, and print one summary table.

At full size each script is a new interpreter; with --quick each is a fork of this one,
which imports torch, Lightning and Kedro once for all of them.

    .venv/bin/python benchmarks/run_all.py            # full sizes (about 5-10 minutes)
    .venv/bin/python benchmarks/run_all.py --quick    # tiny sizes, every script: do all run?
    .venv/bin/python benchmarks/run_all.py --only training,inference
    .venv/bin/python benchmarks/run_all.py --only runners,ddp   # not in the default set (slow)

Every ``bench_*.py`` in this folder is a benchmark (``bench_<name>.py`` -> ``<name>``); a
new script joins by being there. It must accept ``--quick`` (tiny sizes: seconds) and
``--summary FILE``. A missed goal is a figure (``NO`` in the table), not a failure; a
script that fails (non-zero exit, no summary, or past ``--timeout``) makes this exit 1,
so ``make bench`` and the test that runs ``--quick`` fail instead of printing FAILED in a
table nobody reads.
"""

from __future__ import annotations

import argparse
import atexit
import contextlib
import gc
import json
import multiprocessing.forkserver
import os
import platform
import runpy
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as c

# Run at full size only when named with --only: minutes of `kedro run`s (repeated default
# runs, with and without tracking, each starting a
# Dask cluster, of spawned DDP workers, each importing torch and Lightning afresh, or a
# uvicorn server and a load client sharing the cores.
# --quick runs them too (tiny), so they cannot rot either.
OPTIONAL = ("assets", "atomic_writes", "ddp", "runners", "serving", "tracking")


def discover(folder: Path = c.BENCH_DIR) -> dict[str, Path]:
    """Every ``bench_<name>.py`` in ``folder``, by ``<name>``, in name order."""
    return {path.stem.removeprefix("bench_"): path for path in sorted(folder.glob("bench_*.py"))}


def run_one(script: Path, quick: bool, timeout: float) -> tuple[list[dict[str, object]], str]:
    """The script's summary rows, and why it failed ("" when it did not)."""
    # mkdtemp, not TemporaryDirectory: a forked child's exit handlers would delete the latter.
    tmp = tempfile.mkdtemp(prefix="bench-summary-")
    try:
        summary = Path(tmp) / "summary.json"
        argv = [str(script), "--summary", str(summary)]
        if quick:
            returncode = run_forked([*argv, "--quick"], timeout)
        else:
            try:
                returncode = subprocess.run(
                    [sys.executable, *argv], env=c.bench_env(), check=False, timeout=timeout
                ).returncode
            except subprocess.TimeoutExpired:
                returncode = None
        if returncode is None:
            return [], f"FAILED (over {timeout:.0f} s)"
        if returncode != 0:
            return [], f"FAILED (exit {returncode}), see its output above"
        if not summary.exists():
            return [], "FAILED (wrote no --summary file)"
        return json.loads(summary.read_text()), ""
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def preload() -> None:
    """Import, once, what every script imports, for ``run_forked``'s children to share."""
    os.environ.update(c.bench_env())  # before torch reads OMP_NUM_THREADS
    import kedro.framework.session  # noqa: F401
    import onnxruntime  # noqa: F401
    import pandas  # noqa: F401
    import pytorch_lightning  # noqa: F401
    import torch  # noqa: F401

    import lstm_forecast.pipeline_registry  # noqa: F401
    from lstm_forecast.models import lstm  # noqa: F401

    # Out of the collector's sight: each full collection in a child would otherwise walk
    # these ~0.5 M objects again (0.2 s each; the scripts collect before every memory figure).
    gc.freeze()


def run_forked(argv: list[str], timeout: float) -> int | None:
    """Run a script as ``__main__`` in a fork of this process: its exit code, None on timeout.

    --quick asks "does every script still run?", and importing torch, Lightning and Kedro
    afresh for each of them took most of that time; the full sizes keep one process each.
    """
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:
        forget_inherited_forkserver()
        code: object = 0
        try:
            sys.argv = list(argv)
            runpy.run_path(argv[0], run_name="__main__")
        except SystemExit as stop:
            code = stop.code
        except BaseException:
            traceback.print_exc()
            code = 1
        if code is None:
            code = 0
        elif not isinstance(code, int):
            print(code, file=sys.stderr)
            code = 1
        # Not the interpreter's own exit: C++ destructors of libraries whose threads live
        # only in the parent would abort; the script's exit handlers still run.
        atexit._run_exitfuncs()
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return os.waitstatus_to_exitcode(status)
        time.sleep(0.05)
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    return None


def forget_inherited_forkserver() -> None:
    """In a forked child: forget a multiprocessing forkserver that this process inherited.

    The tests run this runner in a fork of their pre-imported process, which starts a
    forkserver first (tests/_kedro_forker.py): it is not this child's child, and
    multiprocessing would wait on it as one and fail. The script starts its own on first
    use, as it does in a new interpreter. Nothing to forget otherwise.
    """
    server = multiprocessing.forkserver._forkserver
    server._forkserver_pid = server._forkserver_address = server._forkserver_alive_fd = None


def versions() -> str:
    from importlib.metadata import version

    names = ("torch", "pytorch-lightning", "onnxruntime", "pandas", "numpy", "kedro")
    return ", ".join(f"{name} {version(name)}" for name in names)


def main() -> int:
    scripts = discover()
    parsed = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parsed.add_argument("--quick", action="store_true", help="tiny sizes, every script")
    parsed.add_argument("--only", help=f"comma-separated subset of {', '.join(scripts)}")
    parsed.add_argument(
        "--smoke-project",
        type=Path,
        help="with --quick: a project after `kedro run --env=smoke` for the scripts that need "
        "a run's outputs to read (copied; default: one run, made by the first that asks)",
    )
    parsed.add_argument(
        "--timeout",
        type=float,
        default=None,
        help="seconds per script (default: 300 with --quick, none otherwise)",
    )
    args = parsed.parse_args()
    if args.only:
        chosen = args.only.split(",")
    else:
        chosen = [n for n in scripts if args.quick or n not in OPTIONAL]
    unknown = set(chosen) - set(scripts)
    if unknown:
        parsed.error(f"unknown benchmark(s): {', '.join(sorted(unknown))}")
    timeout = args.timeout or (300 if args.quick else None)
    if args.smoke_project and not (args.smoke_project / "data" / "06_models").is_dir():
        parsed.error(f"--smoke-project {args.smoke_project}: no data/06_models, no smoke run there")
    if args.quick:
        preload()
        with shared_smoke_run(args.smoke_project):
            return run_scripts(scripts, chosen, True, timeout)
    return run_scripts(scripts, chosen, False, timeout)


@contextlib.contextmanager
def shared_smoke_run(given: Path | None) -> Iterator[None]:
    """Name one smoke run for every --quick script that needs a run's outputs (they copy
    it): ``given``, or one that the first script to ask makes in a folder removed after."""
    folder = None if given else tempfile.mkdtemp(prefix="bench-smoke-")
    os.environ[c.SMOKE_RUN_ENV] = str(given.resolve() if given else Path(folder) / "project")
    try:
        yield
    finally:
        del os.environ[c.SMOKE_RUN_ENV]
        if folder:
            shutil.rmtree(folder, ignore_errors=True)


def run_scripts(
    scripts: dict[str, Path], chosen: list[str], quick: bool, timeout: float | None
) -> int:
    """Run the ``chosen`` scripts one after the other, print the summary; 1 if any failed."""
    load = os.getloadavg()[0]
    started = time.perf_counter()
    rows: list[dict[str, object]] = []
    failed: list[str] = []
    for name in chosen:
        print(f"\n===== {scripts[name].name}{' --quick' if quick else ''}", flush=True)
        began = time.perf_counter()
        found, failure = run_one(scripts[name], quick, timeout)
        print(f"===== {scripts[name].name}: {time.perf_counter() - began:.1f} s", flush=True)
        if failure:
            failed.append(name)
            found = [c.summary_row(name, ours=failure, reference="", ratio="", goal="", met=None)]
        rows.extend(found)
    minutes = (time.perf_counter() - started) / 60

    print()
    print("=" * 100)
    print(
        f"Summary ({'--quick, NOT representative' if quick else 'full sizes'}); "
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

    if failed:
        print(f"\n{len(failed)} benchmark(s) FAILED: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
