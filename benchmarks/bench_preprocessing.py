"""Question 1: CSV text -> model-ready windows, against the CSV reader and the seed's method.

Ours: ``clean_candles`` (read + every check + gaps) -> ``build_features`` ->
``split_chronologically`` -> ``fit_feature_scaler`` -> ``make_windows`` (windows are end-row
indices into the feature table), with the project's parameters.

The floor: ``pyarrow.csv.read_csv`` of the same file, the six needed columns only, the
timestamps parsed; it does nothing else, so "ours / reader" says what all the checks,
features, targets, scaler and windows cost on top of reading the file once.

The seed's method (written here): ``pd.read_csv``, the same features computed row by row
with ``DataFrame.iterrows``, a scaler fit on the first 70% of rows, then one
``DataFrame.iloc`` slice per window kept in a list. No validation, no gap handling, one
target. It runs at 1x and 100x only: the decade would take it most of an hour.

Sizes: the shipped year (hourly), a synthetic series 100x longer (hourly) and a synthetic
decade of one-minute candles (5.3 M rows, about 0.9 GB), generated once into
``$TMPDIR/lstm-forecast-bench/`` (``_synthetic.py``). Every measurement is a fresh process;
peak memory is peak RSS above the RSS after imports with the CSV text already in memory
(the high-water mark is reset there), so the text itself is not counted.
"""

from __future__ import annotations

import json
import math
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as c
import _quick
import _synthetic

SCRIPT = Path(__file__).resolve()
WINDOW_LENGTH = 48
TRAIN_FRACTION = 0.7
GOAL_READER = 2.0  # ours within 2x the reader
GOAL_MEMORY = 2.0  # peak above the text within 2x the outputs
NEEDED = ["timestamp", "open", "high", "low", "close", "volume"]


# ------------------------------------------------------------------------------ variants
def ours(text: str, path: str, params: dict[str, Any], interval: str) -> dict[str, Any]:
    from lstm_forecast.pipelines.features.nodes import (
        build_features,
        fit_feature_scaler,
        make_windows,
        split_chronologically,
    )
    from lstm_forecast.pipelines.features.params import FeaturesParams
    from lstm_forecast.pipelines.ingestion.nodes import clean_candles

    features = FeaturesParams.model_validate(params["features"])
    ingestion = {**params["ingestion"], "interval": interval}
    stages: dict[str, float] = {}
    started = time.perf_counter()
    candles, _ = clean_candles(text, ingestion)
    stages["ingestion"] = time.perf_counter() - started
    table = build_features(candles, features)
    split = split_chronologically(table, features)
    scaler = fit_feature_scaler(table, split, features)
    windows = make_windows(table, scaler, split, features)
    stages["features"] = time.perf_counter() - started - stages["ingestion"]
    outputs = sum(
        int(frame.memory_usage(index=False, deep=True).sum())
        for frame in (candles, table, *windows)
    )
    return {
        "rows": len(candles),
        "windows": sum(len(w) for w in windows),
        "outputs": outputs,
        "stages": stages,
    }


def reader(text: str, path: str, params: dict[str, Any], interval: str) -> dict[str, Any]:
    import pyarrow as pa
    import pyarrow.csv as pcsv

    table = pcsv.read_csv(
        path,
        convert_options=pcsv.ConvertOptions(
            include_columns=NEEDED, column_types={"timestamp": pa.timestamp("ns")}
        ),
    )
    return {"rows": table.num_rows, "windows": 0, "outputs": table.nbytes}


def reference(text: str, path: str, params: dict[str, Any], interval: str) -> dict[str, Any]:
    """The seed's way: row-by-row features, one DataFrame slice per window."""
    import io

    import pandas as pd

    # Timestamps parsed column-wise, which is kinder to the reference than per row.
    df = pd.read_csv(io.StringIO(text), parse_dates=["timestamp"])
    records: list[dict[str, float]] = []
    prev_close = None
    for _, row in df.iterrows():
        close = row["close"]
        log_return = math.log(close / prev_close) if prev_close else float("nan")
        if records:
            records[-1]["target"] = log_return
        angle = 2.0 * math.pi * row["timestamp"].hour / 24.0
        records.append(
            {
                "log_return": log_return,
                "log_high_low": math.log(row["high"] / row["low"]),
                "log_close_open": math.log(close / row["open"]),
                "log_volume": math.log1p(row["volume"]),
                "hour_sin": math.sin(angle),
                "hour_cos": math.cos(angle),
                "target": float("nan"),
            }
        )
        prev_close = close
    table = pd.DataFrame(records)
    train = table.iloc[: int(len(table) * TRAIN_FRACTION)]
    scaled = (table - train.mean()) / train.std(ddof=0)
    inputs = scaled.drop(columns="target")
    # Row 0 has no return and the last row no target: windows end in 48 .. n-2.
    ends = range(WINDOW_LENGTH, len(scaled) - 1)
    windows = [inputs.iloc[end - WINDOW_LENGTH + 1 : end + 1] for end in ends]
    targets = [scaled["target"].iloc[end] for end in ends]
    return {"rows": len(df), "windows": len(windows) + 0 * len(targets), "outputs": 0}


VARIANTS = {"ours": ours, "pyarrow read": reader, "seed method": reference}


def child(variant: str, csv_path: str, interval: str) -> None:
    """Measure one variant once, in this fresh process; print one JSON line."""
    import pandas as pd  # noqa: F401  every variant pays the same imports before the baseline
    import pyarrow.csv  # noqa: F401

    import lstm_forecast.pipelines.features.nodes
    import lstm_forecast.pipelines.ingestion.nodes  # noqa: F401

    params = c.load_params()
    text = Path(csv_path).read_text()
    baseline = c.start_peak_rss()
    seconds, result = c.timed(lambda: VARIANTS[variant](text, csv_path, params, interval))
    result |= {"seconds": seconds, "peak_bytes": c.peak_rss_bytes() - baseline}
    print(json.dumps(result))


# ---------------------------------------------------------------------------------- main
def measure(
    csv_path: Path, interval: str, repeats: dict[str, int], quick: bool = False
) -> dict[str, dict[str, Any]]:
    """Fresh process per repeat, variants alternating; medians of time and peak memory.

    --quick: only the first run is a new interpreter (``--child`` and its JSON line still
    run); the others are forks of this one, whose imports are done (0.1 s, not 1.6 s).
    """
    runs: dict[str, list[dict[str, Any]]] = {name: [] for name in repeats}
    for index in range(max(repeats.values())):
        for name, count in repeats.items():
            if index < count:
                args = [name, str(csv_path), interval]
                if quick and (index or name != next(iter(repeats))):
                    runs[name].append(_quick.forked_child(child, args))
                else:
                    runs[name].append(c.run_child(SCRIPT, args))
    return {
        name: results[0]
        | {
            "seconds": c.median([r["seconds"] for r in results]),
            "peak_bytes": c.median([r["peak_bytes"] for r in results]),
            "repeats": len(results),
        }
        for name, results in runs.items()
    }


def main() -> None:
    args = c.parser(__doc__.splitlines()[0]).parse_args(sys.argv[1:])
    shipped_rows = sum(1 for _ in c.RAW_CSV.open()) - 1
    if args.quick:
        sizes = [
            ("shipped year", c.RAW_CSV, "1h", {"ours": 1, "pyarrow read": 1, "seed method": 1}),
        ]
    else:
        sizes = [
            ("shipped year", c.RAW_CSV, "1h", {"ours": 5, "pyarrow read": 5, "seed method": 3}),
            # At 100x the seed's method takes minutes: one run of it.
            (
                "synthetic 100x",
                _synthetic.synthetic_file(shipped_rows * 100),
                "1h",
                {"ours": 3, "pyarrow read": 3, "seed method": 1},
            ),
            # The seed's method would take most of an hour here: not run.
            (
                "decade of 1min",
                _synthetic.synthetic_file(_synthetic.DECADE_MINUTES, "1min"),
                "1min",
                {"ours": 2, "pyarrow read": 2},
            ),
        ]

    rows, summary = [], []
    for label, path, interval, repeats in sizes:
        print(f"[preprocessing] {label}: measuring {repeats} ...", flush=True)
        result = measure(path, interval, repeats, args.quick)
        o, floor = result["ours"], result["pyarrow read"]
        for name, res in result.items():
            rows.append(
                [
                    label,
                    name,
                    f"{res['rows']:,}",
                    f"{res['windows']:,}" if name != "pyarrow read" else "-",
                    c.fmt_seconds(res["seconds"]),
                    f"{res['rows'] / res['seconds']:,.0f}",
                    f"{res['seconds'] / floor['seconds']:.1f}x",
                    c.fmt_bytes(res["peak_bytes"]),
                    c.fmt_bytes(res["outputs"]) if res["outputs"] else "-",
                    str(res["repeats"]),
                ]
            )
        split = ", ".join(f"{k} {c.fmt_seconds(v)}" for k, v in o["stages"].items())
        print(f"[preprocessing] {label}: ours = {split} (one run)", flush=True)
        if "seed method" not in result:
            rows.append([label, "seed method", "not run (too slow)", "", "", "", "", "", "", ""])
        to_reader = o["seconds"] / floor["seconds"]
        memory = o["peak_bytes"] / max(o["outputs"], 1)
        summary.append(
            c.summary_row(
                f"1. CSV -> windows vs pyarrow read, {label}",
                ours=c.fmt_seconds(o["seconds"]),
                reference=c.fmt_seconds(floor["seconds"]),
                ratio=f"{to_reader:.1f}x the reader",
                goal=f"<= {GOAL_READER:.0f}x" if label != "shipped year" else "(informative)",
                met=to_reader <= GOAL_READER if label != "shipped year" else None,
            )
        )
        summary.append(
            c.summary_row(
                f"1. peak memory above the text / outputs, {label}",
                ours=c.fmt_bytes(o["peak_bytes"]),
                reference=c.fmt_bytes(o["outputs"]),
                ratio=f"{memory:.2f}x the outputs",
                goal=f"<= {GOAL_MEMORY:.0f}x" if label != "shipped year" else "(informative)",
                met=memory <= GOAL_MEMORY if label != "shipped year" else None,
            )
        )
        if "seed method" in result:
            speedup = result["seed method"]["seconds"] / o["seconds"]
            summary.append(
                c.summary_row(
                    f"1. CSV -> windows vs the seed's method, {label}",
                    ours=c.fmt_seconds(o["seconds"]),
                    reference=c.fmt_seconds(result["seed method"]["seconds"]),
                    ratio=f"{speedup:.1f}x faster",
                    goal="(informative)",
                    met=None,
                )
            )
    print()
    print(
        f"CSV text -> windows (L={WINDOW_LENGTH}); median wall time and median peak RSS above "
        "the baseline with the text in memory, each run in a fresh process; x reader = time "
        "/ pyarrow.csv.read_csv of the 6 needed columns; outputs = candles + feature table + "
        "window indices (for the reader: its arrow table)."
    )
    c.print_table(
        [
            "data",
            "variant",
            "rows",
            "windows",
            "time",
            "rows/s",
            "x reader",
            "peak mem",
            "outputs",
            "repeats",
        ],
        rows,
    )
    c.write_summary(args.summary, summary)


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child(*sys.argv[2:])
    else:
        main()
