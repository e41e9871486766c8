"""What experiment tracking adds to the default `kedro run`: tracking off against on.

Two fresh copies of the project (as in ``bench_end_to_end.py``): one runs with
``--params=tracking.enabled=false``, the other with the default (tracking on, into its own
new ``mlruns/`` store). The runs alternate, off first, so drift on a shared machine hits
both alike. The first tracked run also creates the SQLite store (schema migrations), so it
is reported apart from the later ones, which is what a user's second run costs.
``--quick`` runs ``kedro run --env=smoke --pipelines=ingestion`` instead, once off and twice
on (a first and a later run: every row of the table), interleaved off, on, on (the figures
then mean little: it checks that the script runs).

Then a new store alone, in this process, interleaved: MLflow migrating an empty SQLite file
(what every new store cost before) against a copy of the cached empty store
(``integrations/mlflow_store.py``, what a tracked run does now), each opened by
``MlflowClient``: wall and CPU seconds.

    .venv/bin/python benchmarks/bench_tracking.py              # 2 + 2 default runs, ~2-4 min
    .venv/bin/python benchmarks/bench_tracking.py --repeats 3

Measured (load 6.4-7 on the 2 shared cores, median of 5 interleaved): MLflow's migrations
7.39 s [6.10-8.19] of wall time but 0.99 s of CPU (the rest waits on the disk); the copy
0.09 s [0.08-0.16].
"""

from __future__ import annotations

import os
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as c
from bench_end_to_end import kedro_run

OFF = "--params=tracking.enabled=false"
ON = "--params=tracking.enabled=true"  # the default; explicit so --quick (smoke) tracks too


def new_store(repeats: int, folder: Path) -> dict[str, list[tuple[float, float]]]:
    """Wall and CPU seconds to make and open a new store, MLflow's way and copied."""
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    import mlflow

    from lstm_forecast.integrations import mlflow_store

    mlflow_store.empty_store()  # made once (a user's first store); each copy reads it

    def cpu() -> float:
        usage = resource.getrusage(resource.RUSAGE_SELF)
        return usage.ru_utime + usage.ru_stime

    results: dict[str, list[tuple[float, float]]] = {"migrated by MLflow": [], "copied": []}
    for index in range(repeats):
        for label, seconds in results.items():
            uri = f"sqlite:///{folder / f'{index}-{label[:6]}.db'}"
            wall, used = time.perf_counter(), cpu()
            if label == "copied":
                mlflow_store.seed_sqlite_store(uri, folder)
            mlflow.MlflowClient(uri).search_experiments()
            seconds.append((time.perf_counter() - wall, cpu() - used))
    return results


def main() -> None:
    parsed = c.parser(__doc__.splitlines()[0])
    parsed.add_argument(
        "--repeats", type=int, default=2, help="runs per variant (default and least 2)"
    )
    args = parsed.parse_args(sys.argv[1:])
    env = ["--env=smoke", "--pipelines=ingestion"] if args.quick else []
    # At least 2: the first tracked run makes the store; "later runs" are the rest.
    repeats = 2 if args.quick else max(2, args.repeats)
    off_times: list[float] = []
    on_times: list[float] = []
    with tempfile.TemporaryDirectory(prefix="bench-tracking-") as tmp:
        off_project = c.copy_project(Path(tmp) / "off")
        on_project = c.copy_project(Path(tmp) / "on")
        for index in range(repeats):
            for label, project, flag, times in (
                ("off", off_project, OFF, off_times),
                ("on", on_project, ON, on_times),
            ):
                if args.quick and label == "off" and off_times:
                    continue  # one off run is enough to check that it runs
                print(f"[tracking] {index + 1}/{repeats}, tracking {label} ...", flush=True)
                times.append(kedro_run(project, [*env, flag])["wall"])
        stored = [p.stat().st_size for p in (on_project / "mlruns").rglob("*") if p.is_file()]
    off = c.median(off_times)
    later = c.median(on_times[1:])
    command = " ".join(["kedro run", *env])
    print()
    print(f"`{command}` in fresh copies of the project, runs alternating off/on.")
    c.print_table(
        ["variant", "runs", "median wall time", "vs off"],
        [
            ["tracking off", str(len(off_times)), c.fmt_seconds(off), "-"],
            [
                "tracking on, first run (creates the store)",
                "1",
                c.fmt_seconds(on_times[0]),
                f"{on_times[0] - off:+.1f} s",
            ],
            [
                "tracking on, later runs (store exists)",
                str(len(on_times) - 1),
                c.fmt_seconds(later),
                f"{later - off:+.1f} s ({later / off - 1:+.0%})",
            ],
        ],
    )
    print(f"mlruns/ after {len(on_times)} tracked runs: {c.fmt_bytes(sum(stored))}")
    # --quick: in memory (/dev/shm) where there is one; MLflow's migrations wait on the
    # disk's syncs for most of their wall time (~6 s), which says nothing about whether it runs.
    memory = "/dev/shm" if args.quick and Path("/dev/shm").is_dir() else None
    with tempfile.TemporaryDirectory(prefix="bench-store-", dir=memory) as tmp:
        stores = new_store(1 if args.quick else 5, Path(tmp))
    print("\na new MLflow store, made and opened (median of the interleaved runs):")
    c.print_table(
        ["store", "wall", "range", "CPU"],
        [
            [
                label,
                c.fmt_seconds(c.median([wall for wall, _ in runs])),
                f"{min(w for w, _ in runs):.2f}-{max(w for w, _ in runs):.2f} s",
                c.fmt_seconds(c.median([used for _, used in runs])),
            ]
            for label, runs in stores.items()
        ],
    )
    c.write_summary(
        args.summary,
        [
            c.summary_row(
                f"6. tracking on vs off, `{command}`",
                ours=c.fmt_seconds(later),
                reference=f"{c.fmt_seconds(off)} (off)",
                ratio=f"{later - off:+.1f} s",
                goal="(informative)",
                met=None,
            )
        ],
    )


if __name__ == "__main__":
    main()
