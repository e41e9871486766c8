"""Question 6: wall time of a `kedro run`, sequential runner vs DaskRunner with 2 workers.

Each timed run is the real `kedro` CLI in a fresh copy of the project (made after the
untimed SETUP run, if any), telemetry off, the two runners alternating. The Dask time
includes starting the LocalCluster and its worker processes (each imports the project,
torch included), as a user pays it. Kedro's own "Pipeline execution completed in" figure
(the runner alone, without project start-up) is shown beside the wall time.

To time another pipeline, change TIMED (and SETUP, which makes its inputs once).
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as c

KEDRO = str(Path(sys.executable).parent / "kedro")
# The run to time, and an untimed run that makes its inputs first (none for the default).
# The backtest: three folds in their own namespaces, the work a cluster can spread.
TIMED = ("run", "--env=smoke", "--pipelines=backtest")
SETUP: tuple[str, ...] = ("run", "--env=smoke", "--pipelines=ingestion,features")
# --quick: does each runner run at all? The shortest real run, no set-up.
QUICK_TIMED = ("run", "--env=smoke", "--pipelines=ingestion")
RUNNERS = {
    "sequential": (),
    "dask, 2 workers": (
        "--runner=lstm_forecast.integrations.dask_runner.DaskRunner",
        "--runner-params=n_workers=2",
    ),
}
_PIPELINE_SECONDS = re.compile(r"Pipeline execution completed\s+successfully in ([\d.]+) sec")


def kedro(project: Path, args: tuple[str, ...]) -> tuple[float, float | None]:
    """Wall seconds of one `kedro` call, and the runner's own seconds from its log."""
    seconds, result = c.timed(
        lambda: subprocess.run(
            [KEDRO, *args],
            cwd=project,
            env={**c.bench_env(), "COLUMNS": "250"},  # unwrapped log lines
            capture_output=True,
            text=True,
            timeout=1800,
            check=False,
        )
    )
    if result.returncode != 0:
        raise RuntimeError(
            f"`kedro {' '.join(args)}` exited {result.returncode}:\n{result.stderr[-4000:]}"
        )
    found = _PIPELINE_SECONDS.search(result.stdout + result.stderr)
    return seconds, float(found.group(1)) if found else None


def main() -> None:
    parsed = c.parser(__doc__.splitlines()[0])
    parsed.add_argument("--repeats", type=int, default=3, help="timed runs per runner")
    args = parsed.parse_args(sys.argv[1:])
    repeats = 1 if args.quick else args.repeats
    timed, setup = (QUICK_TIMED, ()) if args.quick else (TIMED, SETUP)
    wall: dict[str, list[float]] = {name: [] for name in RUNNERS}
    inner: dict[str, list[float]] = {name: [] for name in RUNNERS}
    with tempfile.TemporaryDirectory(prefix="bench-runners-") as tmp:
        template = c.copy_project(Path(tmp) / "template")
        if setup:
            kedro(template, setup)
        for index in range(repeats):
            for name, extra in RUNNERS.items():
                project = Path(tmp) / f"{index}-{len(wall[name])}-{name.split(',')[0]}"
                shutil.copytree(template, project)
                print(f"[runners] {name}, run {index + 1}/{repeats} ...", flush=True)
                seconds, pipeline_seconds = kedro(project, (*timed, *extra))
                wall[name].append(seconds)
                if pipeline_seconds is not None:
                    inner[name].append(pipeline_seconds)
                shutil.rmtree(project)

    command = "kedro " + " ".join(TIMED)
    sequential, dask = (c.median(wall[name]) for name in RUNNERS)
    print()
    print(f"`{command}`, {repeats} run(s) per runner, alternating, in fresh project copies.")
    c.print_table(
        ["runner", "median wall time", "runner alone (Kedro's figure)", "runs"],
        [
            [
                name,
                c.fmt_seconds(c.median(wall[name])),
                c.fmt_seconds(c.median(inner[name])) if inner[name] else "-",
                ", ".join(f"{s:.1f}" for s in wall[name]),
            ]
            for name in RUNNERS
        ],
    )
    print(f"Dask / sequential wall time: {dask / sequential:.2f}x")
    c.write_summary(
        args.summary,
        [
            c.summary_row(
                f"6. `{command}`, Dask 2 workers vs sequential",
                ours=c.fmt_seconds(dask),
                reference=f"{c.fmt_seconds(sequential)} sequential",
                ratio=f"{dask / sequential:.2f}x",
                goal="(informative)",
                met=None,
            )
        ],
    )


if __name__ == "__main__":
    main()
