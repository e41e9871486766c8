"""Question 5: wall time of the default `kedro run` on the shipped year.

The project is copied to a temporary directory (pyproject.toml, .telemetry, conf without
local, the raw CSV, empty data folders) so the checkout's own data/ is never touched, and
the real `kedro` CLI runs there with telemetry off. ``--quick`` runs the small ``smoke``
environment instead, which says only that the command works.
"""

from __future__ import annotations

import resource
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as c

GOAL_SECONDS = 120.0
KEDRO = str(Path(sys.executable).parent / "kedro")


def kedro_run(project: Path, extra: list[str]) -> float:
    """Seconds taken by one `kedro run` in ``project``; raises with its output if it fails."""
    seconds, result = c.timed(
        lambda: subprocess.run(
            [KEDRO, "run", *extra],
            cwd=project,
            env=c.bench_env(),
            capture_output=True,
            text=True,
            timeout=1800,
            check=False,
        )
    )
    if result.returncode != 0:
        raise RuntimeError(
            f"`kedro run {' '.join(extra)}` exited {result.returncode}:\n{result.stderr[-4000:]}"
        )
    return seconds


def main() -> None:
    args = c.parser(__doc__.splitlines()[0]).parse_args(sys.argv[1:])
    extra = ["--env=smoke"] if args.quick else []
    runs = 1
    command = " ".join(["kedro run", *extra])
    times = []
    for index in range(runs):
        with tempfile.TemporaryDirectory(prefix="bench-e2e-") as tmp:
            project = c.copy_project(Path(tmp) / "project")
            print(f"[end to end] `{command}` run {index + 1}/{runs} in {project} ...", flush=True)
            times.append(kedro_run(project, extra))
    # Only kedro and its children have been waited for, so this is their peak.
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024
    seconds = c.median(times)
    print()
    print(
        f"`{command}` in a fresh copy of the project, {runs} run(s), KEDRO_DISABLE_TELEMETRY=true."
    )
    c.print_table(
        ["command", "runs", "median wall time", "largest process peak RSS"],
        [[command, str(runs), c.fmt_seconds(seconds), c.fmt_bytes(peak)]],
    )
    c.write_summary(
        args.summary,
        [
            c.summary_row(
                f"5. end to end `{command}`",
                ours=c.fmt_seconds(seconds),
                reference="-",
                ratio="-",
                goal=f"<= {GOAL_SECONDS:.0f} s" if not args.quick else "(smoke: runs at all)",
                met=seconds <= GOAL_SECONDS if not args.quick else None,
            )
        ],
    )


if __name__ == "__main__":
    main()
