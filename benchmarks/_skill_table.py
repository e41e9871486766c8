"""The skill study's table, read from what the reporting stage wrote.

Every score comes from ``forecast_metrics.json`` (the reporting stage's CRPS skill, DM
tests, best baseline and 90% coverage, per asset and pooled); only the band's width is
recomputed, by the same ``scoring.interval_coverage``, in percent of each window's last
close, so that widths of a 90,000 USD coin and a 2 USD coin share one column.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from lstm_forecast.timeseries import forecasts, scoring
from lstm_forecast.timeseries.baselines import BASELINES

POOLED = "pooled"
MODEL = "lstm"
SHORT = {"random_walk": "RW", "ewma": "EWMA", "garch": "GARCH", "har": "HAR"}


def relative_widths(reports: Path, model: str = MODEL) -> dict[str, dict[int, float]]:
    """Mean width of the model's 90% band in % of the last close, by asset (and pooled) and h."""
    frame = pd.read_parquet(
        reports.parent / "07_model_output" / f"{model}_test_predictions.parquet"
    )
    values = forecasts.from_frame(frame)
    horizon = values["prices"].shape[1]
    baseline = pd.read_parquet(reports.parent / "07_model_output" / "baseline_forecasts.parquet")
    first = baseline[baseline["model"] == BASELINES[0]]
    assets = first["asset"].to_numpy()[::horizon] if "asset" in first else None
    last = values["last_close"][:, None]
    actual, prices = values["actual"] / last, values["prices"] / last[..., None]
    groups = {POOLED: np.ones(len(last), dtype=bool)}
    if assets is not None:
        groups |= {str(name): assets == name for name in dict.fromkeys(assets.tolist())}
    widths: dict[str, dict[int, float]] = {}
    for name, rows in groups.items():
        widths[name] = {}
        for h in range(1, horizon + 1):
            band = scoring.interval_coverage(
                actual[rows, h - 1], prices[rows, h - 1], list(values["levels"]), 0.9
            )
            widths[name][h] = float("nan") if band is None else 100.0 * band["mean_width"]
    return widths


def rows_of(
    metrics: dict[str, Any],
    widths: dict[str, dict[int, float]],
    horizons: list[int],
    *,
    only: list[str] | None = None,
    label: str = "",
    model: str = MODEL,
) -> list[dict[str, Any]]:
    """One row per asset (``only`` those) and pooled (unless ``only``), per horizon."""
    blocks = (
        {name: metrics["by_asset"][name] for name in only}
        if only
        else {
            **metrics["by_asset"],
            POOLED: metrics,
        }
    )
    if not only and len(metrics["by_asset"]) == 1:
        blocks = {POOLED: metrics}  # one asset: its row is the pooled one
    rows = []
    for name, block in blocks.items():
        for h in horizons:
            entry = block["models"][model]["by_horizon"][str(h)]
            best = block["best_baseline"][str(h)]
            coverage = entry["coverage"]["0.9"]
            rows.append(
                {
                    "asset": name + label,
                    "h": h,
                    "windows": block["test_period"]["windows"],
                    "skill": {base: entry["crps_skill"][base] for base in BASELINES},
                    "best": best,
                    "skill_vs_best": entry["crps_skill"][best],
                    "dm_p_vs_best": entry["diebold_mariano"][best]["p_value"],
                    "coverage90": None if coverage is None else coverage["coverage"],
                    "width90_pct": widths.get(name, {}).get(h),
                }
            )
    return rows


def markdown(rows: list[dict[str, Any]]) -> str:
    """The rows as a Markdown table (skills in %, p-values to two significant digits)."""
    bases = " | ".join(f"vs {SHORT[base]}" for base in BASELINES)
    lines = [
        f"| asset | h | {bases} | best | vs best | DM p vs best | 90% cover | 90% width |",
        "|---|---:|" + "---:|" * len(BASELINES) + "---|---:|---:|---:|---:|",
    ]
    for row in rows:
        skills = " | ".join(f"{100 * row['skill'][base]:+.2f}%" for base in BASELINES)
        lines.append(
            f"| {row['asset']} | {row['h']} | {skills} | {SHORT[row['best']]} | "
            f"{100 * row['skill_vs_best']:+.2f}% | {_p(row['dm_p_vs_best'])} | "
            f"{_pct(row['coverage90'], 1)} | {_pct(row['width90_pct'], 2, scale=1.0)} |"
        )
    return "\n".join(lines)


def goal_lines(rows: list[dict[str, Any]], alpha: float = 0.05) -> list[str]:
    """Issue 27's goals, met or missed and by how much (zero-shot rows are not goals)."""
    lines = []
    pooled = [row for row in rows if row["asset"] == POOLED and row["h"] == 1]
    for row in pooled:
        met = row["skill_vs_best"] > 0 and (row["dm_p_vs_best"] or 1.0) < alpha
        lines.append(
            f"h=1 pooled: CRPS skill vs the best baseline ({row['best']}) "
            f"{100 * row['skill_vs_best']:+.2f}%, DM p {_p(row['dm_p_vs_best'])}: "
            + ("met." if met else "NOT met (needs skill > 0 with p < 0.05).")
        )
    for row in rows:
        if row["h"] in (1, 24) and row["asset"] != POOLED and "zero-shot" not in row["asset"]:
            value = row["coverage90"]
            if value is not None and not 0.88 <= value <= 0.92:
                gap = 0.88 - value if value < 0.88 else value - 0.92
                side = "below 88%" if value < 0.88 else "above 92%"
                lines.append(
                    f"{row['asset']} h={row['h']}: 90% coverage {value:.1%}, "
                    f"{100 * gap:.1f} points {side}."
                )
    if len(lines) == len(pooled):
        lines.append("90% coverage within 88-92% at h=1 and h=24 for every asset: met.")
    return lines


def _p(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2g}"


def _pct(value: float | None, digits: int, scale: float = 100.0) -> str:
    return "n/a" if value is None or np.isnan(value) else f"{scale * value:.{digits}f}%"
