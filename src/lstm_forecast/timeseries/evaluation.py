"""Scoring every model and baseline on the same test windows, per horizon step.

Shared by the reporting and backtest stages; numpy and scoringrules only (no torch).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from . import metrics, scoring

DEFINITIONS = {
    "crps": "mean CRPS in USD, from the quantiles: 2/Q sum_q pinball_q (scoringrules)",
    "pinball": "mean pinball loss per quantile level, USD (scikit-learn mean_pinball_loss)",
    "relative_mae": "MAE of the median / MAE of persistence (last close) at that horizon",
    "coverage": "share of actual closes inside the central interval; mean_width in USD",
    "crps_skill": "1 - CRPS_model / CRPS_baseline; above 0 beats the baseline",
    "diebold_mariano": "DM test on per-window CRPS vs each baseline, HLN correction, "
    "autocovariances up to lag h-1, Student t(n-1), two-sided; statistic < 0 = lower CRPS",
    "best_baseline": "per step, the baseline with the lowest mean CRPS on the test windows; "
    "headline's *_vs_best_h* numbers compare each model with it",
}


def score_all(
    actual: np.ndarray,
    last_close: np.ndarray,
    forecasts: dict[str, np.ndarray],
    baselines: tuple[str, ...],
    levels: np.ndarray,
) -> dict[str, Any]:
    """Scores of each forecast at each horizon, with skill and DM against every baseline.

    Args:
        actual: ``[n, horizon]`` realised closes.
        last_close: ``[n]`` close at each origin.
        forecasts: name -> ``[n, horizon, q]`` price quantiles (models and baselines).
        baselines: Which of ``forecasts`` are baselines.
        levels: ``[q]`` quantile levels.

    Returns:
        name -> ``{"by_horizon": {h: scores}}``.
    """
    horizon = actual.shape[1]
    crps = {
        name: scoring.crps_per_forecast(actual, prices, levels)
        for name, prices in forecasts.items()
    }
    scores: dict[str, Any] = {}
    for name, prices in forecasts.items():
        by_horizon = {}
        for h in range(horizon):
            entry = scoring.score_horizon(actual[:, h], prices[:, h], list(levels), last_close)
            entry["crps_skill"] = {
                base: 1.0 - entry["crps"] / float(crps[base][:, h].mean())
                for base in baselines
                if base != name
            }
            entry["diebold_mariano"] = {
                base: metrics.diebold_mariano_losses(crps[name][:, h], crps[base][:, h], h + 1)
                for base in baselines
                if base != name
            }
            by_horizon[str(h + 1)] = entry
        scores[name] = {"by_horizon": by_horizon, "mean_crps": float(crps[name].mean())}
    return scores


def best_baselines(scores: dict[str, Any], baselines: tuple[str, ...]) -> dict[str, str]:
    """The baseline with the lowest mean CRPS at each horizon step (``{"1": "har", ...}``);
    empty when ``scores`` holds none of the baselines."""
    present = [base for base in baselines if base in scores]
    if not present:
        return {}
    steps = scores[present[0]]["by_horizon"]
    return {h: min(present, key=lambda base: scores[base]["by_horizon"][h]["crps"]) for h in steps}


def headline(
    scores: dict[str, Any], models: list[str], baselines: tuple[str, ...], horizon: int
) -> dict[str, float | None]:
    """The few numbers a reader (and the experiment tracker) compares between runs: per
    model and baseline at h=1 and h=H, and against the best baseline at that step."""
    numbers: dict[str, float | None] = {}
    best = best_baselines(scores, baselines)
    for name in models:
        for h in sorted({1, horizon}):
            entry = scores[name]["by_horizon"][str(h)]
            if str(h) in best:
                numbers[f"{name}_crps_skill_vs_best_h{h}"] = entry["crps_skill"][best[str(h)]]
                numbers[f"{name}_dm_p_vs_best_h{h}"] = entry["diebold_mariano"][best[str(h)]][
                    "p_value"
                ]
            numbers[f"{name}_relative_mae_h{h}"] = entry["relative_mae"]
            coverage = entry["coverage"]["0.9"]
            numbers[f"{name}_coverage90_h{h}"] = coverage["coverage"] if coverage else None
            for base in baselines:
                numbers[f"{name}_crps_skill_vs_{base}_h{h}"] = entry["crps_skill"][base]
                numbers[f"{name}_dm_p_vs_{base}_h{h}"] = entry["diebold_mariano"][base]["p_value"]
    return numbers


def verdict_line(
    name: str,
    scores: dict[str, Any],
    baselines: tuple[str, ...],
    horizon: int,
    alpha: float,
    best: dict[str, str] | None = None,
) -> str:
    """One line: does the model beat each baseline significantly on CRPS at h=1 and h=H,
    which baseline is the best one there, and does its 90% interval cover 88-92%?"""
    parts = []
    best = best_baselines(scores, baselines) if best is None else best
    for h in sorted({1, horizon}):
        entry = scores[name]["by_horizon"][str(h)]
        for base in baselines:
            dm = entry["diebold_mariano"][base]
            skill = entry["crps_skill"][base]
            significant = dm["p_value"] is not None and dm["p_value"] < alpha
            if significant and dm["statistic"] < 0:
                word = "beats"
            elif significant:
                word = "loses to"
            else:
                word = "ties"
            parts.append(f"h={h} {word} {base} (skill {skill:+.3f}, p={_fmt(dm['p_value'])})")
    if best:
        named = ", ".join(f"h={h} {best[str(h)]}" for h in sorted({1, horizon}))
        parts.append(f"best baseline {named}")
    coverage = scores[name]["by_horizon"][str(horizon)]["coverage"]["0.9"]
    if coverage is None:
        calibration = "no 90% interval"
    else:
        value = coverage["coverage"]
        ok = "within" if 0.88 <= value <= 0.92 else "outside"
        calibration = f"90% interval covers {value:.1%} at h={horizon} ({ok} 88-92%)"
    return f"{name}: " + "; ".join(parts) + f"; {calibration}."


def _fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3g}"
