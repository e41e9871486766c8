"""``summarise_run``'s verdicts from scores written by hand: the best baseline it is given
(not one it works out), and a line per asset only when there are several."""

from __future__ import annotations

from typing import Any

from lstm_forecast.pipelines.reporting.nodes import summarise_run
from lstm_forecast.pipelines.reporting.params import ReportingParams

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
