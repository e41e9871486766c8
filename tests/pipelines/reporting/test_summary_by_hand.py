"""The reporting stage by hand: ``summarise_run``'s verdicts from scores written by hand (the
best baseline it is given, not one it works out; a line per asset only when there are
several), and ``compute_forecast_metrics``'s scores of point forecasts worked out by hand."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

from lstm_forecast.pipelines.reporting.nodes import _scores as scores_of
from lstm_forecast.pipelines.reporting.nodes import compute_forecast_metrics, summarise_run
from lstm_forecast.pipelines.reporting.params import ReportingParams
from lstm_forecast.timeseries import forecasts
from lstm_forecast.timeseries.baselines import BASELINES

REPORTING = ReportingParams(alpha=0.05, horizons=(1,), reports_dir="out", report_files=())


def _scores(coverage: float) -> dict[str, Any]:
    """Model ``m`` at h=1 against the four baselines, and two baselines' own CRPS (garch
    lower: the best baseline that would be worked out from these scores)."""
    entry = {
        "diebold_mariano": {
            "random_walk": {"p_value": 0.01, "statistic": -2.0},  # beats
            "ewma": {"p_value": 0.01, "statistic": 2.0},  # loses to
            "garch": {"p_value": 0.5, "statistic": -1.0},  # ties
            "har": {"p_value": None, "statistic": None},  # ties, p=n/a
        },
        "crps_skill": {"random_walk": 0.1, "ewma": -0.2, "garch": 0.0, "har": 0.05},
        "coverage": {"0.9": {"coverage": coverage}},
    }
    return {
        "m": {"by_horizon": {"1": entry}},
        "garch": {"by_horizon": {"1": {"crps": 1.0}}},
        "har": {"by_horizon": {"1": {"crps": 2.0}}},
    }


def _verdict(best: str | None, covers: str) -> str:
    return (
        "m: h=1 beats random_walk (skill +0.100, p=0.01); "
        "h=1 loses to ewma (skill -0.200, p=0.01); "
        "h=1 ties garch (skill +0.000, p=0.5); h=1 ties har (skill +0.050, p=n/a); "
        + (f"best baseline h=1 {best}; " if best else "")
        + f"90% interval covers {covers} at h=1"
        + (" (within 88-92%)." if covers == "90.0%" else " (outside 88-92%).")
    )


def _metrics(**extra: Any) -> dict[str, Any]:
    return {
        "horizon": 1,
        "interval": "1h",
        "quantiles": [0.05, 0.5, 0.95],
        "test_period": {"windows": 3, "first_origin": "t0", "last_origin": "t2"},
        "headline": {},
        "models": _scores(0.9),
    } | extra


def test_the_best_baseline_is_the_one_given_overall_and_per_asset():
    metrics = _metrics(
        best_baseline={"1": "har"},
        by_asset={
            "AAA": {"models": _scores(0.5), "best_baseline": {"1": "ewma"}},
            "BBB": {"models": _scores(0.9), "best_baseline": {"1": "random_walk"}},
        },
    )
    summary = summarise_run(metrics, REPORTING, m={"passed": True})
    model = summary["models"]["m"]
    assert model["verdict"] == _verdict("har", "90.0%")
    assert model["verdict_by_asset"] == {
        "AAA": "AAA: " + _verdict("ewma", "50.0%"),
        "BBB": "BBB: " + _verdict("random_walk", "90.0%"),
    }
    assert summary["text"][1:4] == [
        "  " + _verdict("har", "90.0%"),
        "    AAA: " + _verdict("ewma", "50.0%"),
        "    BBB: " + _verdict("random_walk", "90.0%"),
    ]


def test_no_best_baseline_given_names_none_and_no_assets_give_no_lines():
    summary = summarise_run(_metrics(), REPORTING, m={"passed": True})
    assert summary["models"]["m"]["verdict"] == _verdict(None, "90.0%")
    assert summary["models"]["m"]["verdict_by_asset"] == {}
    assert len(summary["text"]) == 3  # the period, the verdict, the reports


def test_an_asset_without_its_best_baseline_names_none():
    metrics = _metrics(
        best_baseline={"1": "har"},
        by_asset={"AAA": {"models": _scores(0.9)}, "BBB": {"models": _scores(0.9)}},
    )
    by_asset = summarise_run(metrics, REPORTING, m={"passed": True})["models"]["m"][
        "verdict_by_asset"
    ]
    assert by_asset == {
        "AAA": "AAA: " + _verdict(None, "90.0%"),
        "BBB": "BBB: " + _verdict(None, "90.0%"),
    }


def test_a_single_asset_has_no_line_of_its_own():
    metrics = _metrics(by_asset={"AAA": {"models": _scores(0.5), "best_baseline": {"1": "ewma"}}})
    summary = summarise_run(metrics, REPORTING, m={"passed": True})
    assert summary["models"]["m"]["verdict_by_asset"] == {}


# Point forecasts as three equal quantiles at levels 0.25, 0.5, 0.75: their CRPS
# 2/3 * sum_tau pinball_tau(y, x) = 2/3 * 1.5 |y - x| is the absolute error |y - x|.
POINT_LEVELS = (0.25, 0.5, 0.75)
# Two assets, four windows each, two steps: actual = last close * (1 + r).
LAST = {"AAA": 100.0, "BBB": 1000.0}
RETURNS = {
    "AAA": np.array([[0.03, 0.05], [0.01, -0.02], [-0.04, 0.02], [0.02, 0.06]]),
    "BBB": np.array([[-0.01, 0.04], [0.05, 0.01], [0.0, -0.03], [0.03, 0.02]]),
}
# Every forecast is last close * (1 + g): the model and the four baselines.
GROWTH = {"m": 0.01, "random_walk": 0.0, "ewma": 0.02, "garch": -0.02, "har": 0.005}


def _point_frame(asset: str, growth: float) -> pd.DataFrame:
    first_hour = 0 if asset == "AAA" else 100  # each asset's windows at its own hours
    origins = pd.Timestamp("2024-01-01", tz="UTC") + pd.to_timedelta(first_hour + np.arange(4), "h")
    last = np.full(4, LAST[asset])
    point = last[:, None] * (1.0 + growth) * np.ones((1, 2))
    prices = np.repeat(point[:, :, None], 3, axis=2)
    actual = last[:, None] * (1.0 + RETURNS[asset])
    return forecasts.to_frame(origins, last, prices, POINT_LEVELS, "1h", actual)


def _inputs(assets: tuple[str, ...]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The model's test forecasts and the baselines' table, as forecast_baselines lays it out."""
    model = pd.concat([_point_frame(a, GROWTH["m"]) for a in assets], ignore_index=True)
    blocks = [
        _point_frame(a, GROWTH[base]).assign(
            model=base, **({"asset": a} if len(assets) > 1 else {})
        )
        for base in BASELINES
        for a in assets
    ]
    return model, pd.concat(blocks, ignore_index=True)


def _crps(name: str, assets: tuple[str, ...], h: int, relative: bool) -> float:
    """Mean |actual - forecast| at step h, in prices or in fractions of the last close."""
    errors = [
        abs(r - GROWTH[name]) * (1.0 if relative else LAST[a])
        for a in assets
        for r in RETURNS[a][:, h - 1]
    ]
    return sum(errors) / len(errors)


def test_two_assets_are_scored_pooled_in_fractions_and_each_in_its_own_prices():
    model, baselines = _inputs(("AAA", "BBB"))
    metrics = compute_forecast_metrics(baselines, REPORTING, m=model)
    assert metrics["units"] == "fraction of the last close"
    assert metrics["assets"] == ["AAA", "BBB"] and list(metrics["by_asset"]) == ["AAA", "BBB"]
    assert metrics["quantiles"] == [0.25, 0.5, 0.75]
    assert (metrics["interval"], metrics["horizon"], metrics["horizons_reported"]) == ("1h", 2, [1])
    for h in (1, 2):
        for name in GROWTH:
            kind = "models" if name == "m" else "baselines"
            pooled = metrics[kind][name]["by_horizon"][str(h)]["crps"]
            assert pooled == pytest.approx(_crps(name, ("AAA", "BBB"), h, True), rel=1e-12)
            for asset in ("AAA", "BBB"):
                alone = metrics["by_asset"][asset][kind][name]["by_horizon"][str(h)]["crps"]
                assert alone == pytest.approx(_crps(name, (asset,), h, False), rel=1e-12)
    # BBB's windows alone: its four origins, 100 hours after AAA's.
    assert metrics["by_asset"]["BBB"]["test_period"] == {
        "first_origin": "2024-01-05T04:00:00+00:00",
        "last_origin": "2024-01-05T07:00:00+00:00",
        "windows": 4,
    }
    assert metrics["test_period"]["windows"] == 8


def test_one_asset_is_scored_in_its_prices_and_named_as_the_only_asset():
    model, baselines = _inputs(("BBB",))
    metrics = compute_forecast_metrics(baselines, REPORTING, m=model)
    assert metrics["units"] == "price" and metrics["assets"] == ["asset"]
    crps = metrics["models"]["m"]["by_horizon"]["2"]["crps"]
    assert crps == pytest.approx(_crps("m", ("BBB",), 2, False), rel=1e-12)
    assert metrics["by_asset"]["asset"]["models"] == metrics["models"]


def test_scores_of_some_windows_in_prices_by_default_or_relative_to_the_last_close():
    model, baselines = _inputs(("AAA", "BBB"))
    arrays = {"m": forecasts.from_frame(model)} | {
        base: forecasts.from_frame(frame.drop(columns=["model", "asset"]))
        for base, frame in baselines.groupby("model", sort=False)
    }
    bbb = np.arange(8) >= 4
    scores = scores_of(arrays, ["m"], bbb, 2)  # prices unless told otherwise
    assert scores["models"]["m"]["by_horizon"]["1"]["crps"] == pytest.approx(
        _crps("m", ("BBB",), 1, False), rel=1e-12
    )
    assert scores["test_period"]["windows"] == 4
    relative = scores_of(arrays, ["m"], slice(None), 2, relative=True)
    m, rw = (_crps(name, ("AAA", "BBB"), 2, True) for name in ("m", "random_walk"))
    assert relative["models"]["m"]["by_horizon"]["2"]["crps"] == pytest.approx(m, rel=1e-12)
    assert relative["headline"]["m_crps_skill_vs_random_walk_h2"] == pytest.approx(1 - m / rw)
    # Relative MAE: the median's error over the last close's, both in fractions here.
    assert relative["models"]["m"]["by_horizon"]["2"]["relative_mae"] == pytest.approx(m / rw)
    # The best baseline per step is the lowest CRPS worked out above.
    best = {
        str(h): min(BASELINES, key=lambda base, h=h: _crps(base, ("AAA", "BBB"), h, True))
        for h in (1, 2)
    }
    assert relative["best_baseline"] == best
    assert set(relative["baselines"]) == set(BASELINES) and set(relative["models"]) == {"m"}
