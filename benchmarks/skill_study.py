"""Skill study (issue 27): the global LSTM on years of five coins, scored on the last year.

Runs the project's own pipeline in the ``study`` Kedro environment (conf/study/) twice:

1. ``global``: one model trained on every asset (the long files of ``--assets-dir``, read
   where they lie, plus the shipped BTC year, which falls in training only);
2. ``zero-shot``: the same settings with ``--zero-shot`` (SOLUSDT) kept out of training and
   of the scaler fit (``features.split.zero_shot_assets``); its test year is forecast by a
   model that never saw the coin.

Then prints, per asset, pooled and for the zero-shot asset, at h = 1, 6, 24: the LSTM's
CRPS skill against each baseline and the best one, the DM p-value against the best one,
90% coverage and mean 90% width, all read from the reporting stage's
``forecast_metrics.json``, and the issue's goals, met or missed by how much. Writes the
table to ``<study_dir>/08_reporting/skill_study.{md,json}``. Each ``kedro run`` is printed,
so any part can be rerun alone.

    python benchmarks/skill_study.py [--quick] [--feature-set NAME] [--params K=V,...]
"""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as c
import _skill_table as table

PIPELINES = "ingestion,features,training,export,validation,reporting"  # not variants
HORIZONS = [1, 6, 24]
QUICK_DAYS = 40  # --quick: the last days of each file
QUICK_TRAINING = (
    "training.lstm.trainer.max_epochs=1,training.lstm.trainer.limit_train_batches=2,"
    "training.lstm.hidden_size=8"
)


def main() -> None:
    parser = c.parser(__doc__.splitlines()[0])
    parser.add_argument("--assets-dir", type=Path, default=c.ROOT.parent / "shared/data/assets")
    parser.add_argument("--study-dir", default="data/study", help="the global run's outputs")
    parser.add_argument("--zero-shot", default="SOLUSDT", help="the asset kept out of training")
    parser.add_argument("--feature-set", help="features.feature_set (default: conf's)")
    parser.add_argument("--params", default="", help="more --params for both runs")
    parser.add_argument("--timeout", type=float, default=3600, help="seconds per kedro run")
    args = parser.parse_args()
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="skill-study-") as tmp:
        extra = [args.params] if args.params else []
        if args.feature_set:
            extra.append(f"features.feature_set={args.feature_set}")
        assets_dir, study_dir = args.assets_dir, args.study_dir
        if args.quick:  # tiny copies of the files in a temporary folder, never in the project
            assets_dir, split = quick_assets(args.assets_dir, Path(tmp) / "assets")
            study_dir = str(Path(tmp) / "study")
            extra += [split, QUICK_TRAINING]
        elif not all(path.is_file() for path in study_files(assets_dir).values()):
            raise SystemExit(f"{assets_dir}: the long files are not there; give --assets-dir.")
        runs = {
            "global": study_dir,
            "zero-shot": f"{study_dir}-zero-shot-{args.zero_shot}",
        }
        walls = {}
        for name, folder in runs.items():
            params = [f"assets_dir={assets_dir}", f"study_dir={folder}", *extra]
            if name == "zero-shot":
                params.append(f"features.split.zero_shot_assets=[{args.zero_shot}]")
            log = Path(tmp) / f"{name}.log" if args.quick else None  # --quick: quiet
            walls[name] = kedro_run(",".join(params), args.timeout, log)
        report(args, runs, walls, time.perf_counter() - started)


def study_files(assets_dir: Path) -> dict[str, Path]:
    """The study catalog's long files (asset -> path) under ``assets_dir``."""
    catalog = c.load_config("catalog", env="study", runtime_params={"assets_dir": str(assets_dir)})
    return {name: Path(path) for name, path in catalog["raw_candle_files"]["files"].items()}


def quick_assets(source: Path, folder: Path) -> tuple[Path, str]:
    """The rows of each study file from ``QUICK_DAYS`` before the earliest file's end on,
    written unchanged into ``folder``; where the long files are absent (a fresh clone), the
    shipped ETH year stands in for each, in that file's layout. Returns the folder and the
    split for ``--params``: the same rule as conf/study, in days instead of months."""
    import pandas as pd

    folder.mkdir(parents=True)
    layouts = c.load_config("parameters", "study")["ingestion"]["asset_layouts"]
    files = {}
    for asset, path in study_files(source).items():
        unit = layouts.get(asset, {}).get("source", {}).get("epoch_unit")
        if path.is_file():
            header, *rows = path.read_text().splitlines()
        else:
            frame = pd.read_csv(c.RAW_CSV.with_name("ETHUSDT.csv"))
            if unit:  # that file's layout writes epoch numbers
                since = pd.to_datetime(frame["timestamp"], utc=True) - pd.Timestamp(0, tz="UTC")
                frame["timestamp"] = since // pd.Timedelta(1, unit=unit)
            header, *rows = frame.to_csv(index=False).splitlines()
        first = pd.Series([row.split(",", 1)[0] for row in rows])
        stamps = pd.to_datetime(first.astype("int64") if unit else first, unit=unit, utc=True)
        files[folder / path.name] = (header, rows, stamps)
    end = min(stamps.max() for _, _, stamps in files.values()).floor("D")
    for target, (header, rows, stamps) in files.items():
        keep = (stamps >= end - pd.Timedelta(days=QUICK_DAYS)).to_numpy()
        kept = [row for row, ok in zip(rows, keep, strict=True) if ok]
        target.write_text("\n".join([header, *kept]) + "\n")
    test = (end - pd.Timedelta(days=10)).date()  # test: the last 10 days, val: 5 before
    val = test - pd.Timedelta(days=5)
    return folder, f"features.split.val_start={val},features.split.test_start={test}"


def kedro_run(params: str, timeout: float, log: Path | None) -> float:
    """One ``kedro run --env=study`` (its output in ``log`` when given); its wall time in
    seconds. Fails loudly, with the end of the log."""
    command = [
        sys.executable, "-m", "kedro", "run", "--env=study", f"--pipelines={PIPELINES}",
        f"--params={params}",
    ]  # fmt: skip
    print("$ " + shlex.join(["kedro", *command[3:]]), flush=True)
    started = time.perf_counter()
    with open(log or "/dev/null", "w") as out:
        result = subprocess.run(
            command, cwd=c.ROOT, env=c.bench_env(), check=False, timeout=timeout,
            stdout=out if log else None, stderr=subprocess.STDOUT if log else None,
        )  # fmt: skip
    if result.returncode != 0:
        tail = log.read_text()[-4000:] if log else ""
        raise SystemExit(f"{tail}\nkedro run failed (exit {result.returncode}): {command}")
    return time.perf_counter() - started


def report(args: Any, runs: dict[str, str], walls: dict[str, float], wall: float) -> None:
    """Print the table, the goals and the wall times; write them beside the reports."""
    reports = {name: c.ROOT / folder / "08_reporting" for name, folder in runs.items()}
    metrics = {
        name: json.loads((folder / "forecast_metrics.json").read_text())
        for name, folder in reports.items()
    }
    horizons = [h for h in HORIZONS if h <= metrics["global"]["horizon"]]
    rows = table.rows_of(metrics["global"], table.relative_widths(reports["global"]), horizons)
    rows += table.rows_of(
        metrics["zero-shot"],
        table.relative_widths(reports["zero-shot"]),
        horizons,
        only=[args.zero_shot],
        label=" zero-shot",
    )
    text = table.markdown(rows)
    goals = table.goal_lines(rows)
    period = metrics["global"]["test_period"]
    lines = [
        f"LSTM CRPS skill (1 - CRPS_lstm / CRPS_baseline; > 0 beats it), test origins "
        f"{period['first_origin'][:10]} .. {period['last_origin'][:10]}, "
        f"{period['windows']} windows; pooled in units of each window's last close.",
        text,
        *goals,
        "Wall time: "
        + ", ".join(f"{name} run {seconds / 60:.1f} min" for name, seconds in walls.items())
        + f"; total {wall / 60:.1f} min.",
    ]
    print("\n\n".join(lines[:2]) + "\n\n" + "\n".join(lines[2:]))
    (reports["global"] / "skill_study.md").write_text("\n\n".join(lines) + "\n")
    result = {"rows": rows, "goals": goals, "wall_s": wall, "run_wall_s": walls}
    (reports["global"] / "skill_study.json").write_text(json.dumps(result, indent=2))
    pooled = next(row for row in rows if row["asset"] == table.POOLED and row["h"] == 1)
    c.write_summary(
        args.summary,
        [
            c.summary_row(
                "skill study: LSTM vs the best baseline, h=1 pooled, last 12 months",
                ours=f"CRPS skill {100 * pooled['skill_vs_best']:+.2f}% "
                f"(p {table._p(pooled['dm_p_vs_best'])}), {wall / 60:.1f} min",
                reference=pooled["best"],
                ratio="",
                goal="skill > 0 with DM p < 0.05",
                met=pooled["skill_vs_best"] > 0 and (pooled["dm_p_vs_best"] or 1) < 0.05,
            )
        ],
    )


if __name__ == "__main__":
    main()
