"""Question 5: wall time of the default `kedro run` on the shipped year, and where it goes.

The project is copied to a temporary directory (pyproject.toml, .telemetry, conf without
local, the raw CSV, empty data folders) so the checkout's own data/ is never touched, and
the real `kedro` CLI runs there with telemetry off, inside ``_kedro_timing.py``, which
records when each node ran. Printed: the wall time, the time before the first node
(interpreter start, imports, Kedro's session, catalog and parameter validation), each
node's own time, and the rest (loads, saves, hooks). ``--quick`` runs ``--env=smoke
--pipelines=ingestion`` instead, which says only that the command works.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as c

GOAL_SECONDS = 15.0
TIMING = Path(__file__).resolve().parent / "_kedro_timing.py"


def kedro_run(project: Path, extra: list[str]) -> dict:
    """One `kedro run` in ``project``: wall time and the timing record; raises if it fails."""
    record = project / "timing.json"
    started = time.time()
    result = subprocess.run(
        [sys.executable, str(TIMING), str(record), str(started), "run", *extra],
        cwd=project,
        env=c.bench_env(),
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
    return json.loads(record.read_text()) | {"wall": wall}


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


def main() -> None:
    args = c.parser(__doc__.splitlines()[0]).parse_args(sys.argv[1:])
    extra = ["--env=smoke", "--pipelines=ingestion"] if args.quick else []
    command = " ".join(["kedro run", *extra])
    with tempfile.TemporaryDirectory(prefix="bench-e2e-") as tmp:
        project = c.copy_project(Path(tmp) / "project")
        print(f"[end to end] `{command}` in {project} ...", flush=True)
        run = kedro_run(project, extra)
    first = sorted(n["start"] for n in run["nodes"])[0] - run["started"]
    print()
    print(f"`{command}` in a fresh copy of the project, KEDRO_DISABLE_TELEMETRY=true:")
    c.print_table(["part", "seconds"], breakdown(run))
    print(f"main process peak RSS {c.fmt_bytes(run['peak_rss'])}")
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
