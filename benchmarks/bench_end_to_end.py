"""Question 5: wall time of the default `kedro run` on the shipped year, and where it goes.

The project is copied to a temporary directory (pyproject.toml, .telemetry, src, conf
without local, the raw CSV, empty data folders) so the checkout's own data/ is never
touched, and the real `kedro` CLI runs there once with telemetry off, inside
``_kedro_timing.py`` and ``-X importtime``, with the copy's src first on PYTHONPATH (so the
code measured is the checkout's). Printed: the wall time by phase (interpreter and Kedro
imports, the project's ``kedro.init`` plugin, the CLI, the session, the catalog, MLflow's
set-up before the first node, the nodes, the MLflow logging after the last, the exit),
each node's own time, every hook implementation's total, the slowest dataset loads and
saves, and the top-level imports that cost most. ``--quick`` runs ``--env=smoke
--pipelines=ingestion`` instead, which says only that the command works. ``uptime`` is
printed before and after: the figures mean little on a loaded machine.

``--single``: BTC alone (the single-asset default run); ``--repeats N``: each phase's
median of N runs (and CPU time); ``--before CHECKOUT``: another checkout's runs interleaved
(``git archive main | tar -x -C DIR``); ``--warm``: a second run in each copy (store and
outputs there); ``--cold-cache``: no cached empty MLflow store (a first run ever).

Issue 30, second pass (``--single --repeats 2 --warm --before <main>``, load 6.5-7.7,
seconds): a new store's MLflow set-up 11.41 -> 3.16 (copied, not migrated), the CLI 3.15
-> 0.21 (`kedro serve` listed without importing the service); a second run's set-up 3.06
-> 3.65 (unchanged: noise); nodes 37-48 in every column. Table: README, Performance.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as c

GOAL_SECONDS = 20.0
# The single-asset default run: the shipped BTC CSV alone (README, Performance).
SINGLE_ASSET = "--params=raw_csv=data/01_raw/candles/BTCUSDT.csv"
TIMING = Path(__file__).resolve().parent / "_kedro_timing.py"
_IMPORT_LINE = re.compile(r"^import time:\s+(\d+) \|\s+(\d+) \| (\s*)(\S+)")


def kedro_run(
    project: Path, extra: list[str], importtime: bool = False, cache: Path | None = None
) -> dict:
    """One `kedro run` in ``project``: wall time and the timing record; raises if it fails.

    With ``importtime``, the record's ``imports`` holds the seconds of each top-level import
    (``-X importtime``: what a module imports is counted where it is first imported).
    """
    record = project / "timing.json"
    env = c.bench_env()
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(project / "src"), env.get("PYTHONPATH")]))
    if cache is not None:  # an empty cache: no empty MLflow store to copy (mlflow_store)
        env["XDG_CACHE_HOME"] = str(cache)
    flags = ["-X", "importtime"] if importtime else []
    started = time.time()
    result = subprocess.run(
        [sys.executable, *flags, str(TIMING), str(record), str(started), "run", *extra],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=1800,
        check=False,
    )
    wall = time.time() - started
    if result.returncode != 0:
        raise RuntimeError(
            f"`kedro run {' '.join(extra)}` exited {result.returncode}:\n{result.stderr[-4000:]}"
        )
    run = json.loads(record.read_text()) | {"wall": wall}
    if importtime:
        run["imports"] = top_level_imports(result.stderr)
    return run


def top_level_imports(stderr: str) -> dict[str, float]:
    """Seconds spent importing each library: the sum of its modules' own times.

    ``-X importtime`` prints each module's own time and its time with what it imports; the
    own times add up without counting a library twice when another imports it.
    """
    seconds: dict[str, float] = defaultdict(float)
    for line in stderr.splitlines():
        match = _IMPORT_LINE.match(line)
        if match:
            seconds[match.group(4).split(".")[0]] += int(match.group(1)) / 1e6
    return dict(seconds)


def breakdown(run: dict) -> list[list[str]]:
    """Rows: start-up, each node, between nodes, after the last node, total."""
    nodes = sorted(run["nodes"], key=lambda n: n["start"])
    rows = [["before the first node", c.fmt_seconds(nodes[0]["start"] - run["started"])]]
    rows.append(
        ["  of which imports up to Kedro's CLI", c.fmt_seconds(run["imported"] - run["started"])]
    )
    for node in nodes:
        rows.append([f"  node {node['name']}", c.fmt_seconds(node["end"] - node["start"])])
    in_nodes = sum(n["end"] - n["start"] for n in nodes)
    between = nodes[-1]["end"] - nodes[0]["start"] - in_nodes
    rows.append(["between nodes (loads, saves, hooks)", c.fmt_seconds(between)])
    rows.append(
        ["after the last node", c.fmt_seconds(run["wall"] - (nodes[-1]["end"] - run["started"]))]
    )
    rows.append(["wall time", c.fmt_seconds(run["wall"])])
    return rows


_PHASES = (
    # (mark that ends the phase, what happened since the previous mark)
    ("kedro_imported", "interpreter start, Kedro's CLI imported"),
    ("plugins_initialised", "kedro.init plugins (the project's quiet start)"),
    ("cli_built", "CLI built (project settings, plugin commands)"),
    ("session_created", "session created (hook entry points)"),
    ("catalog_built", "context and catalog (after_catalog_created hooks)"),
    ("first_node", "set-up before the first node (before_pipeline_run: MLflow)"),
    ("last_node", "the nodes, with the loads, saves and hooks between them"),
    ("session_run_ended", "after the last node (after_pipeline_run: MLflow logging)"),
    ("exited", "exit (atexit)"),
    ("wall", "interpreter teardown"),
)


def phase_seconds(run: dict) -> list[tuple[str, float]]:
    """The run's wall time cut at each mark of ``_kedro_timing.py``, in order, then totals."""
    nodes = sorted(run["nodes"], key=lambda n: n["start"])
    marks = dict(run.get("marks", {}))
    marks["first_node"] = nodes[0]["start"]
    marks["last_node"] = nodes[-1]["end"]
    marks["exited"] = run["exited"]
    marks["wall"] = run["started"] + run["wall"]
    rows, previous = [], run["started"]
    for mark, label in _PHASES:
        if mark in marks:
            rows.append((label, marks[mark] - previous))
            previous = marks[mark]
    rows.append(("  of which node functions", sum(n["end"] - n["start"] for n in nodes)))
    for node in sorted(nodes, key=lambda n: n["start"] - n["end"])[:3]:
        rows.append((f"    node {node['name']}", node["end"] - node["start"]))
    rows.append(("  of which loads and saves", sum(run.get("io", {}).values())))
    if "gc" in run:
        rows.append(("of the wall time, garbage collection", sum(run["gc"])))
    rows.append(("wall time", run["wall"]))
    if "cpu" in run:
        rows.append(("CPU time (user + system)", run["cpu"]))
    return rows


def phases(run: dict) -> list[list[str]]:
    """Rows: the run's phases, formatted."""
    return [[label, c.fmt_seconds(seconds)] for label, seconds in phase_seconds(run)]


def median_phases(runs: dict[str, list[dict]]) -> list[list[str]]:
    """Rows: each phase (of the first variant's runs), its median per variant."""
    per_variant = [
        [dict(phase_seconds(run)) for run in variant_runs] for variant_runs in runs.values()
    ]
    labels = [label for label, _ in phase_seconds(next(iter(runs.values()))[0])]
    return [
        [label]
        + [
            c.fmt_seconds(statistics.median(p.get(label, 0.0) for p in variant))
            for variant in per_variant
        ]
        for label in labels
    ]


def top(seconds: dict[str, float], count: int) -> list[list[str]]:
    """The ``count`` largest entries, then the rest as one row, then the total."""
    ranked = sorted(seconds.items(), key=lambda item: -item[1])
    rows = [[name, c.fmt_seconds(value)] for name, value in ranked[:count]]
    rest = sum(value for _, value in ranked[count:])
    if rest:
        rows.append([f"({len(ranked) - count} others)", c.fmt_seconds(rest)])
    rows.append(["total", c.fmt_seconds(sum(seconds.values()))])
    return rows


def report(run: dict, command: str) -> None:
    """Print every table of one run."""
    print(f"`{command}` in a fresh copy of the project, KEDRO_DISABLE_TELEMETRY=true:")
    c.print_table(["phase", "seconds"], phases(run))
    print()
    nodes = sorted(run["nodes"], key=lambda n: n["start"])
    c.print_table(
        ["node", "seconds", "of which gc"],
        [
            [n["name"], c.fmt_seconds(n["end"] - n["start"]), c.fmt_seconds(n.get("gc", 0.0))]
            for n in nodes
        ],
    )
    print()
    c.print_table(["hook [plugin]", "seconds"], top(run.get("hooks", {}), 12))
    print()
    c.print_table(["dataset", "seconds"], top(run.get("io", {}), 10))
    if "imports" in run:
        print()
        print("imports per library (-X importtime: the sum of its modules' own times):")
        c.print_table(["package", "seconds"], top(run["imports"], 15))
    print(f"imported: {', '.join(run.get('heavy_imported', [])) or 'none of the heavy ones'}")
    print(f"main process peak RSS {c.fmt_bytes(run['peak_rss'])}")


def uptime() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True, check=False).stdout.strip()


def repeated(args: argparse.Namespace, extra: list[str], tmp: Path) -> dict[str, list[dict]]:
    """Runs of each variant, interleaved: this checkout and ``--before``, each in a new copy
    (new MLflow store), then with ``--warm`` once more in the same copy (store and outputs
    there)."""
    checkouts = {"this checkout": c.ROOT} | ({"before": args.before} if args.before else {})
    runs: dict[str, list[dict]] = defaultdict(list)
    for repeat in range(args.repeats):
        for label, root in checkouts.items():
            project = c.copy_project(tmp / f"{label}-{repeat}".replace(" ", "-"), root)
            cache = tmp / f"cache-{label}-{repeat}".replace(" ", "-") if args.cold_cache else None
            print(f"[end to end] {label}, run {repeat + 1}: {uptime()}", flush=True)
            runs[f"{label}, new store"].append(kedro_run(project, extra, cache=cache))
            if args.warm:
                runs[f"{label}, second run"].append(kedro_run(project, extra, cache=cache))
    return runs


def main() -> None:
    parser = c.parser(__doc__.splitlines()[0])
    parser.add_argument("--record", type=Path, help="also write the raw timing record (JSON)")
    parser.add_argument(
        "--single", action="store_true", help=f"one asset: {SINGLE_ASSET} (default: every asset)"
    )
    parser.add_argument("--repeats", type=int, default=0, help="medians of this many runs each")
    parser.add_argument(
        "--before", type=Path, help="also run this checkout (e.g. main), interleaved"
    )
    parser.add_argument("--warm", action="store_true", help="also a second run in each copy")
    parser.add_argument(
        "--cold-cache", action="store_true", help="no cached empty MLflow store (a first run ever)"
    )
    args = parser.parse_args(sys.argv[1:])
    extra = ["--env=smoke", "--pipelines=ingestion"] if args.quick else []
    if args.single:
        extra.append(SINGLE_ASSET)
    command = " ".join(["kedro run", *extra])
    if args.repeats:
        with tempfile.TemporaryDirectory(prefix="bench-e2e-") as tmp:
            runs = repeated(args, extra, Path(tmp))
        print(f"after: {uptime()}\n")
        print(f"`{command}`, median of {args.repeats} per column (seconds):")
        c.print_table(["phase", *runs], median_phases(runs))
        if args.record:
            args.record.write_text(json.dumps(runs, indent=1))
        return
    with tempfile.TemporaryDirectory(prefix="bench-e2e-") as tmp:
        project = c.copy_project(Path(tmp) / "project")
        print(f"[end to end] `{command}` in {project} ...", flush=True)
        print(f"before: {uptime()}", flush=True)
        run = kedro_run(project, extra, importtime=True)
        print(f"after:  {uptime()}", flush=True)
    if args.record:
        args.record.write_text(json.dumps(run, indent=1))
    first = sorted(n["start"] for n in run["nodes"])[0] - run["started"]
    print()
    report(run, command)
    c.write_summary(
        args.summary,
        [
            c.summary_row(
                f"5. end to end `{command}`",
                ours=c.fmt_seconds(run["wall"]),
                reference="-",
                ratio="-",
                goal=f"<= {GOAL_SECONDS:.0f} s" if not args.quick else "(smoke: runs at all)",
                met=run["wall"] <= GOAL_SECONDS if not args.quick else None,
            ),
            c.summary_row(
                f"5. time before the first node, `{command}`",
                ours=c.fmt_seconds(first),
                reference="-",
                ratio="-",
                goal="(informative)",
                met=None,
            ),
        ],
    )


if __name__ == "__main__":
    main()
