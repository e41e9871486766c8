"""Question 6: a decade of one-minute candles through `kedro run --pipelines=ingestion,features`.

The synthetic decade (5.3 M one-minute bars, about 0.9 GB of CSV; ``_synthetic.py``) runs
through the real `kedro` CLI in a fresh copy of the project, with ``raw_csv`` pointing at
it and ``ingestion.interval=1min``. Printed: wall time, time per node, and the peak RSS of
the kedro process against the 4 GiB goal. ``--quick`` uses a synthetic series as long as
the shipped year instead.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as c
import _synthetic
from bench_end_to_end import breakdown, kedro_run

GOAL_BYTES = 4 * 1024**3


def main() -> None:
    args = c.parser(__doc__.splitlines()[0]).parse_args(sys.argv[1:])
    if args.quick:
        shipped_rows = sum(1 for _ in c.RAW_CSV.open()) - 1
        csv, interval, label = _synthetic.synthetic_file(shipped_rows), "1h", "1x year"
    else:
        csv, interval = _synthetic.synthetic_file(_synthetic.DECADE_MINUTES, "1min"), "1min"
        label = "decade of 1min"
    extra = [
        "--pipelines=ingestion,features",
        f"--params=raw_csv={csv},ingestion.interval={interval}",
    ]
    with tempfile.TemporaryDirectory(prefix="bench-scale-") as tmp:
        project = c.copy_project(Path(tmp) / "project")
        print(f"[scale] `kedro run {' '.join(extra)}` in {project} ...", flush=True)
        run = kedro_run(project, extra)
    print()
    print(f"{label}: {csv.stat().st_size / 1e9:.2f} GB of CSV, KEDRO_DISABLE_TELEMETRY=true:")
    c.print_table(["part", "seconds"], breakdown(run))
    print(f"kedro process peak RSS {c.fmt_bytes(run['peak_rss'])} (goal <= 4 GiB)")
    c.write_summary(
        args.summary,
        [
            c.summary_row(
                f"6. ingestion+features, {label}: wall / peak RSS",
                ours=f"{c.fmt_seconds(run['wall'])} / {c.fmt_bytes(run['peak_rss'])}",
                reference="-",
                ratio="-",
                goal="<= 4 GiB" if not args.quick else "(quick: runs at all)",
                met=run["peak_rss"] <= GOAL_BYTES if not args.quick else None,
            )
        ],
    )


if __name__ == "__main__":
    main()
