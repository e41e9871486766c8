"""Question 1: CSV text -> model-ready windows, this project against the seed's approach.

Ours: ``clean_candles`` (parse + pandera validation + gaps) -> ``build_features`` ->
``split_chronologically`` -> ``fit_scaler`` -> ``make_windows`` (windows are end-row
indices into one float32 matrix).

Reference (the seed project's approach, written here): ``pd.read_csv``, the same features
computed row by row with ``DataFrame.iterrows``, a scaler fit on the first 70% of rows,
then one ``DataFrame.iloc`` slice per window kept in a list. It does no validation and no
gap handling, so it does less work than ours.

Both run on the shipped year and on a synthetic series 100x longer (a seeded geometric
random walk written in the shipped file's CSV layout). Every measurement is a fresh
process; peak memory is peak RSS minus the RSS after imports and after the CSV text is in
memory (both variants get the same text), with the high-water mark reset at that point.
"""

from __future__ import annotations

import json
import math
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as c

SCRIPT = Path(__file__).resolve()
WINDOW_LENGTH = 48
TRAIN_FRACTION = 0.7
GOAL_SPEED = 100.0
GOAL_MEMORY = 20.0


# ------------------------------------------------------------------------- synthetic data
def synthetic_csv(rows: int, seed: int = 7) -> str:
    """An hourly BTC-like series as CSV text, in the shipped file's column layout.

    A geometric random walk for the close; open is the previous close; high/low add
    half-normal excursions; volumes are log-normal. Deterministic for a given seed.
    """
    import pandas as pd

    rng = np.random.default_rng(seed)
    log_close = np.log(40_000.0) + np.cumsum(rng.normal(0.0, 0.008, rows))
    close = np.exp(log_close)
    open_ = np.concatenate([[close[0] * math.exp(rng.normal(0.0, 0.008))], close[:-1]])
    high = np.maximum(open_, close) * np.exp(np.abs(rng.normal(0.0, 0.003, rows)))
    low = np.minimum(open_, close) * np.exp(-np.abs(rng.normal(0.0, 0.003, rows)))
    volume = rng.lognormal(7.5, 0.5, rows)
    start = pd.Timestamp("2000-01-01 00:00:00")
    timestamps = pd.date_range(start, periods=rows, freq="h")
    open_time_ms = timestamps.as_unit("ms").asi8
    trades = rng.integers(10_000, 100_000, rows)
    taker = rng.uniform(0.3, 0.7, rows)
    frame = pd.DataFrame(
        {
            "timestamp": timestamps.strftime("%Y-%m-%d %H:%M:%S"),
            "open": open_,
            "high": high,
            "low": low,
            "close": close,
            "volume": volume,
            "close_time": open_time_ms + 3_599_999,
            "quote_av": volume * close,
            "trades": trades,
            "tb_base_av": volume * taker,
            "tb_quote_av": volume * taker * close,
            "ignore": 0,
        }
    )
    return frame.to_csv(float_format="%.8f")


def synthetic_file(rows: int, seed: int = 7) -> Path:
    """The synthetic CSV on disk, generated once and reused (writing it takes ~40 s at 100x)."""
    folder = Path(tempfile.gettempdir()) / "lstm-forecast-bench"
    folder.mkdir(exist_ok=True)
    path = folder / f"synthetic_{rows}_rows_seed{seed}.csv"
    if not path.exists():
        print(f"[preprocessing] generating {rows} synthetic rows -> {path}", flush=True)
        partial = path.with_suffix(".partial")
        partial.write_text(synthetic_csv(rows, seed))
        partial.replace(path)
    return path


# ------------------------------------------------------------------------------ variants
def ours(text: str, params: dict[str, Any]) -> int:
    from lstm_forecast.pipelines.features.nodes import (
        build_features,
        fit_scaler,
        make_windows,
        split_chronologically,
    )
    from lstm_forecast.pipelines.ingestion.nodes import clean_candles

    features = params["features"]
    candles, _ = clean_candles(text, params["ingestion"])
    table = build_features(candles, features)
    split = split_chronologically(table, features)
    scaler = fit_scaler(table, split, features)
    _, train, val, test = make_windows(table, scaler, split, WINDOW_LENGTH)
    return len(train) + len(val) + len(test)


def reference(text: str, params: dict[str, Any]) -> int:
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
    return len(windows) + 0 * len(targets)


VARIANTS = {"ours": ours, "reference": reference}


def child(variant: str, csv_path: str) -> None:
    """Measure one variant once, in this fresh process; print one JSON line."""
    import pandas as pd  # noqa: F401  both variants pay the same imports before the baseline

    import lstm_forecast.pipelines.features.nodes
    import lstm_forecast.pipelines.ingestion.nodes  # noqa: F401

    params = c.load_params()
    text = Path(csv_path).read_text()
    baseline = c.start_peak_rss()
    seconds, windows = c.timed(lambda: VARIANTS[variant](text, params))
    print(
        json.dumps(
            {
                "seconds": seconds,
                "peak_bytes": c.peak_rss_bytes() - baseline,
                "baseline_bytes": baseline,
                "windows": windows,
            }
        )
    )


# ---------------------------------------------------------------------------------- main
def measure(csv_path: Path, repeats: dict[str, int]) -> dict[str, dict[str, Any]]:
    """Fresh process per repeat, variants alternating; medians of time and peak memory."""
    runs: dict[str, list[dict[str, Any]]] = {name: [] for name in VARIANTS}
    for index in range(max(repeats.values())):
        for name in VARIANTS:
            if index < repeats[name]:
                runs[name].append(c.run_child(SCRIPT, [name, str(csv_path)]))
    return {
        name: {
            "seconds": c.median([r["seconds"] for r in results]),
            "peak_bytes": c.median([r["peak_bytes"] for r in results]),
            "windows": results[0]["windows"],
            "repeats": len(results),
        }
        for name, results in runs.items()
    }


def main() -> None:
    args = c.parser(__doc__.splitlines()[0]).parse_args(sys.argv[1:])
    shipped_rows = sum(1 for _ in c.RAW_CSV.open()) - 1
    scale = 5 if args.quick else 100
    sizes = [
        (
            "shipped year",
            c.RAW_CSV,
            {"ours": 2 if args.quick else 5, "reference": 1 if args.quick else 5},
        ),
    ]
    big = synthetic_file(shipped_rows * scale)
    # At 100x the reference takes minutes: one repeat of it, three of ours.
    sizes.append((f"synthetic {scale}x", big, {"ours": 1 if args.quick else 3, "reference": 1}))

    rows, summary = [], []
    for label, path, repeats in sizes:
        print(f"[preprocessing] {label}: measuring {repeats} ...", flush=True)
        result = measure(path, repeats)
        o, r = result["ours"], result["reference"]
        speedup = r["seconds"] / o["seconds"]
        memory_ratio = r["peak_bytes"] / max(o["peak_bytes"], 1)
        for name, res in result.items():
            rows.append(
                [
                    label,
                    name,
                    str(res["windows"]),
                    c.fmt_seconds(res["seconds"]),
                    c.fmt_bytes(res["peak_bytes"]),
                    str(res["repeats"]),
                ]
            )
        rows.append([label, "ratio ref/ours", "", f"{speedup:.1f}x", f"{memory_ratio:.1f}x", ""])
        if label.startswith("synthetic"):
            summary.append(
                c.summary_row(
                    f"1. preprocessing time, {scale}x rows",
                    ours=c.fmt_seconds(o["seconds"]),
                    reference=c.fmt_seconds(r["seconds"]),
                    ratio=f"{speedup:.1f}x faster",
                    goal=f">= {GOAL_SPEED:.0f}x",
                    met=speedup >= GOAL_SPEED,
                )
            )
            summary.append(
                c.summary_row(
                    f"1. preprocessing peak memory, {scale}x rows",
                    ours=c.fmt_bytes(o["peak_bytes"]),
                    reference=c.fmt_bytes(r["peak_bytes"]),
                    ratio=f"1/{memory_ratio:.1f}",
                    goal=f"<= 1/{GOAL_MEMORY:.0f}",
                    met=memory_ratio >= GOAL_MEMORY,
                )
            )
        else:
            summary.append(
                c.summary_row(
                    "1. preprocessing time, shipped year",
                    ours=c.fmt_seconds(o["seconds"]),
                    reference=c.fmt_seconds(r["seconds"]),
                    ratio=f"{speedup:.1f}x faster",
                    goal="(informative)",
                    met=None,
                )
            )
    print()
    print(
        f"Preprocessing CSV text -> windows (L={WINDOW_LENGTH}); median wall time and median peak "
        "RSS above the post-import baseline, each run in a fresh process."
    )
    c.print_table(["data", "variant", "windows", "time", "peak mem", "repeats"], rows)
    c.write_summary(args.summary, summary)


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child(*sys.argv[2:])
    else:
        main()
