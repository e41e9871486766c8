"""Reporting nodes: scores and verdicts on forecasts whose quality is known by construction."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import pytest
import yaml
from matplotlib.figure import Figure

from lstm_forecast import models
from lstm_forecast.pipelines.features.nodes import build_features
from lstm_forecast.pipelines.reporting import create_pipeline
from lstm_forecast.pipelines.reporting.nodes import (
    compute_forecast_metrics,
    forecast_baselines,
    plot_calibration,
    plot_fan_chart,
    plot_skill_by_horizon,
    summarise_run,
)
from lstm_forecast.pipelines.reporting.params import ReportingParams
from lstm_forecast.timeseries import baselines as baseline_kinds
from lstm_forecast.timeseries import forecasts
from tests.synthetic import make_candles

from ...conftest import PROJECT_ROOT
from ..conftest import FEATURES

REPORTING = ReportingParams.model_validate(
    yaml.safe_load((PROJECT_ROOT / "conf/base/parameters_reporting.yml").read_text())["reporting"]
)
LEVELS = (0.05, 0.5, 0.95)


def _model(stage_outputs: dict, quality: str) -> pd.DataFrame:
    """Test forecasts on the real test windows: an oracle band or a badly placed one."""
    table, test = stage_outputs["table"], stage_outputs["test"]
    ends = test["end_row"].to_numpy()
    close = table["close"].to_numpy()
    actual = close[ends[:, None] + np.arange(1, 4)[None, :]]
    if quality == "oracle":  # a narrow band around the realised close
        prices = actual[:, :, None] * np.array([0.999, 1.0, 1.001])[None, None, :]
    else:  # a median 10% off with a narrow band: far worse than any random walk
        prices = (
            (close[ends] * 1.1)[:, None, None] * np.array([0.999, 1.0, 1.001]) * np.ones((1, 3, 1))
        )
    return forecasts.to_frame(
        table["timestamp"].to_numpy()[ends], close[ends], prices, LEVELS, "1h", actual
    )


@pytest.fixture(scope="module")
def scored(feature_outputs):
    # Only the feature stage's outputs: no model is trained, so these tests stay fast.
    predictions = {"good": _model(feature_outputs, "oracle"), "bad": _model(feature_outputs, "bad")}
    baselines = forecast_baselines(
        feature_outputs["table"],
        feature_outputs["split"],
        feature_outputs["test"],
        REPORTING,
        **predictions,
    )
    return predictions, baselines, compute_forecast_metrics(baselines, REPORTING, **predictions)


def test_baselines_share_the_models_windows_and_have_the_last_close_as_median(scored):
    predictions, baselines, _ = scored
    assert set(baselines["model"]) == {"random_walk", "ewma", "garch", "har"}
    for _, frame in baselines.groupby("model"):
        np.testing.assert_array_equal(frame["origin_time"], predictions["good"]["origin_time"])
        np.testing.assert_array_equal(frame["actual_close"], predictions["good"]["actual_close"])
    # Every baseline but the random walk is centred on the last close by construction.
    gaussian = baselines[baselines["model"] != "random_walk"]
    np.testing.assert_allclose(gaussian["q0.5"], gaussian["last_close"])


def test_the_oracle_beats_and_the_bad_model_loses_to_every_baseline(scored):
    _, _, metrics = scored
    for base in ("random_walk", "ewma", "garch"):
        good = metrics["models"]["good"]["by_horizon"]["1"]
        bad = metrics["models"]["bad"]["by_horizon"]["3"]
        assert good["crps_skill"][base] > 0.5 and good["diebold_mariano"][base]["statistic"] < 0
        assert bad["crps_skill"][base] < 0 and bad["diebold_mariano"][base]["statistic"] > 0
        assert good["diebold_mariano"][base]["p_value"] < 0.05
    assert metrics["models"]["good"]["by_horizon"]["2"]["coverage"]["0.9"]["coverage"] == 1.0
    assert metrics["models"]["bad"]["by_horizon"]["2"]["relative_mae"] > 1.0
    assert metrics["headline"]["good_coverage90_h1"] == 1.0
    assert set(metrics["headline"]) >= {"good_crps_skill_vs_garch_h3", "bad_dm_p_vs_ewma_h1"}


def test_summary_states_beats_and_loses_and_coverage(scored, caplog):
    _, _, metrics = scored
    reports = {name: {"passed": True, "max_abs_error": 1e-7} for name in ("good", "bad")}
    with caplog.at_level(logging.INFO):
        summary = summarise_run(metrics, REPORTING, **reports)
    good, bad = summary["models"]["good"]["verdict"], summary["models"]["bad"]["verdict"]
    assert "h=1 beats random_walk" in good and "h=3 beats garch" in good
    assert "90% interval covers 100.0% at h=3 (outside 88-92%)" in good
    assert "h=1 loses to ewma" in bad
    assert "Run summary" in caplog.text and good in caplog.text


def test_plots_are_figures(scored):
    predictions, baselines, metrics = scored
    for figure in (
        plot_fan_chart(baselines, REPORTING, **predictions),
        plot_calibration(metrics),
        plot_skill_by_horizon(metrics, REPORTING),
    ):
        assert isinstance(figure, Figure) and figure.axes


def test_metrics_refuse_predictions_on_different_windows(scored):
    predictions, baselines, _ = scored
    shifted = predictions["bad"].iloc[3:].reset_index(drop=True)
    with pytest.raises(ValueError, match="not on the same windows"):
        compute_forecast_metrics(baselines, REPORTING, good=predictions["good"], bad=shifted)


def test_summary_files_match_the_catalog():
    catalog = yaml.safe_load((PROJECT_ROOT / "conf/base/catalog.yml").read_text())
    paths = set()
    for name, entry in catalog.items():
        if isinstance(entry, dict) and "filepath" in entry:
            kinds = models.names() if "{kind}" in name else [""]
            paths |= {entry["filepath"].replace("{kind}", kind) for kind in kinds}
    for name in REPORTING.report_files:
        assert f"{REPORTING.reports_dir}/{name}" in paths


def test_summary_runs_after_every_other_node():
    from kedro.pipeline import Pipeline

    from lstm_forecast.pipelines import export, features, ingestion, training, validation

    alone = create_pipeline()
    everything = (
        sum(
            (
                stage.create_pipeline()
                for stage in (ingestion, features, training, export, validation)
            ),
            Pipeline([]),
        )
        + alone
    )
    # `Pipeline.nodes` is the order the sequential runner runs them in.
    assert [node.name for node in everything.nodes][-1] == "summarise_run"


def test_baseline_table_keeps_the_bar_interval_and_a_fresh_index(scored, feature_outputs):
    _, baselines, _ = scored
    test = feature_outputs["test"]
    assert baselines.index.tolist() == list(range(len(baselines)))
    # Four baselines x every test window x 3 steps; step h is h hours after its origin.
    assert len(baselines) == 4 * len(test) * 3
    ahead = baselines["forecast_time"] - baselines["origin_time"]
    assert (ahead == pd.to_timedelta(baselines["h"], unit="h")).all()


def test_the_ewma_baseline_follows_the_configured_decay(feature_outputs, scored):
    predictions, baselines, _ = scored
    other = forecast_baselines(
        feature_outputs["table"],
        feature_outputs["split"],
        feature_outputs["test"],
        REPORTING.model_copy(update={"ewma_decay": 0.5}),
        **predictions,
    )
    ewma = baselines["model"] == "ewma"
    assert not np.allclose(other.loc[ewma, "q0.95"], baselines.loc[ewma, "q0.95"])
    others = baselines["model"] != "ewma"
    pd.testing.assert_frame_equal(other[others], baselines[others])


def test_metrics_layout_names_the_period_levels_and_horizons(scored, feature_outputs):
    predictions, baselines, metrics = scored
    assert set(metrics) == {
        "headline",
        "models",
        "baselines",
        "best_baseline",
        "quantiles",
        "interval",
        "horizon",
        "horizons_reported",
        "test_period",
        "definitions",
        "units",
        "assets",
        "by_asset",
    }
    assert metrics["units"] == "price" and metrics["assets"] == ["asset"]  # one, unnamed
    assert set(metrics["models"]) == {"good", "bad"}
    assert set(metrics["baselines"]) == {"random_walk", "ewma", "garch", "har"}
    for h, best in metrics["best_baseline"].items():
        lowest = min(b["by_horizon"][h]["crps"] for b in metrics["baselines"].values())
        assert metrics["baselines"][best]["by_horizon"][h]["crps"] == lowest
    assert metrics["quantiles"] == [0.05, 0.5, 0.95] and metrics["horizon"] == 3
    assert metrics["horizons_reported"] == [1]  # of the configured 1, 6, 12, 24
    origins = feature_outputs["table"]["timestamp"].iloc[feature_outputs["test"]["end_row"]]
    assert metrics["test_period"] == {
        "first_origin": origins.iloc[0].isoformat(),
        "last_origin": origins.iloc[-1].isoformat(),
        "windows": len(feature_outputs["test"]),
    }
    assert metrics["definitions"]["crps_skill"].startswith("1 - CRPS_model / CRPS_baseline")
    # A listed horizon equal to the forecast's last step is reported too.
    every = compute_forecast_metrics(
        baselines, REPORTING.model_copy(update={"horizons": (1, 2, 3, 4)}), **predictions
    )
    assert every["horizons_reported"] == [1, 2, 3]


def test_horizon_is_the_number_of_steps_not_of_levels(feature_outputs):
    # Two steps ahead and three levels: any mix-up of the two axes shows.
    predictions = {
        name: frame[frame["h"] <= 2].reset_index(drop=True)
        for name, frame in (("good", _model(feature_outputs, "oracle")),)
    }
    baselines = forecast_baselines(
        feature_outputs["table"],
        feature_outputs["split"],
        feature_outputs["test"],
        REPORTING,
        **predictions,
    )
    assert sorted(set(baselines["h"])) == [1, 2]
    metrics = compute_forecast_metrics(
        baselines, REPORTING.model_copy(update={"horizons": (1, 2, 3)}), **predictions
    )
    assert metrics["horizon"] == 2 and metrics["horizons_reported"] == [1, 2]
    assert set(metrics["models"]["good"]["by_horizon"]) == {"1", "2"}


def test_summary_layout_reports_and_log_lines(scored, caplog):
    _, _, metrics = scored
    reports = {"good": {"passed": True, "max_abs_error": 1e-7}, "bad": {"passed": 0}}
    params = REPORTING.model_copy(
        update={"reports_dir": "/out/reports/", "report_files": ("a.json", "b.png")}
    )
    with caplog.at_level(logging.INFO):
        summary = summarise_run(metrics, params, **reports)
    assert set(summary) == {"models", "headline", "reports", "text"}
    assert summary["headline"] == metrics["headline"]
    assert summary["reports"] == ["/out/reports/a.json", "/out/reports/b.png"]
    good, bad = summary["models"]["good"], summary["models"]["bad"]
    assert set(good) == {"onnx_parity_passed", "max_abs_error", "verdict", "verdict_by_asset"}
    assert good["verdict_by_asset"] == {}  # one asset: its verdict is the model's
    assert good["onnx_parity_passed"] is True and good["max_abs_error"] == 1e-7
    assert bad["onnx_parity_passed"] is False and bad["max_abs_error"] is None
    period = metrics["test_period"]
    lines = caplog.records[-1].getMessage().split("\n")
    assert lines[0] == (
        f"Run summary: {period['windows']} test origins {period['first_origin']} .. "
        f"{period['last_origin']}, forecasts 1..3 bars of 1h ahead, quantiles [0.05, 0.5, 0.95]."
    )
    assert lines[1:3] == [f"  {good['verdict']}", f"  {bad['verdict']}"]
    assert lines[3] == "  Reports in /out/reports/ (browse them with `kedro viz run`)."


def test_one_step_forecasts_keep_the_bar_interval(feature_outputs):
    # With one step per origin, the table's second row is the next origin, not step 2.
    good = _model(feature_outputs, "oracle")
    predictions = {"good": good[good["h"] == 1].reset_index(drop=True)}
    baselines = forecast_baselines(
        feature_outputs["table"],
        feature_outputs["split"],
        feature_outputs["test"],
        REPORTING,
        **predictions,
    )
    ahead = baselines["forecast_time"] - baselines["origin_time"]
    assert (ahead == pd.Timedelta(1, "h")).all()
    # One table of every baseline, numbered afresh (not each baseline's own 0..n-1).
    assert baselines.index.tolist() == list(range(len(baselines)))


def test_summary_text_is_its_log_lines_and_strips_trailing_slashes_only(scored, caplog):
    _, _, metrics = scored
    params = REPORTING.model_copy(update={"reports_dir": "out/RUN_X//", "report_files": ("a",)})
    with caplog.at_level(logging.INFO):
        summary = summarise_run(metrics, params, good={"passed": True})
    assert summary["reports"] == ["out/RUN_X/a"]
    assert summary["text"] == caplog.records[-1].getMessage().split("\n")
    assert summary["text"][-1] == "  Reports in out/RUN_X/ (browse them with `kedro viz run`)."


def test_two_assets_baselines_by_hand_from_each_assets_own_rows():
    # Two assets of 300 hourly bars on the same dates, BBB at a tenth of AAA's price.
    first, second = make_candles(300).assign(asset="AAA"), make_candles(300, seed=1)
    second = second.assign(asset="BBB", segment=second["segment"] + 1)
    second[["open", "high", "low", "close"]] *= 0.1
    table = build_features(pd.concat([first, second], ignore_index=True), FEATURES)
    ends = np.array([250, 260, 270, 555, 565])  # AAA's rows 250.., BBB's rows 255 and 265
    windows = pd.DataFrame(
        {"start_row": ends - 7, "end_row": ends, "asset": ["AAA"] * 3 + ["BBB"] * 2}
    )
    split = {"val_start": "2024-01-10T00:00:00+00:00"}  # bar 216 of each asset
    step = np.ones((len(ends), 2, 3))  # the model's numbers do not matter, its layout does
    model = forecasts.to_frame(
        table["timestamp"].iloc[ends], ends, step, LEVELS, "1h", step[..., 0]
    )
    out = forecast_baselines(table, split, windows, REPORTING, m=model)
    assert out.columns.tolist() == [
        "origin_time", "h", "forecast_time", "last_close", "actual_close",
        "q0.05", "q0.5", "q0.95", "model", "asset",
    ]  # fmt: skip
    assert out.index.equals(pd.RangeIndex(4 * 5 * 2))
    assert list(dict.fromkeys(out["model"])) == list(baseline_kinds.BASELINES)
    assert (out["forecast_time"] - out["origin_time"] == pd.to_timedelta(out["h"], "h")).all()
    # Each asset's baselines: forecast_all on that asset's rows alone, its rows counted there.
    expected = {
        name: baseline_kinds.forecast_all(
            table.iloc[rows].reset_index(drop=True),
            ends[windows["asset"] == name] - rows.start,
            pd.Timestamp(split["val_start"]),
            horizon=2,
            levels=np.array(LEVELS),
            window_length=8,
            decay=REPORTING.ewma_decay,
        )
        for name, rows in (("AAA", slice(0, 300)), ("BBB", slice(300, 600)))
    }
    close = table["close"].to_numpy()
    for base in baseline_kinds.BASELINES:
        mine = out[out["model"] == base]
        assert mine["asset"].tolist() == np.repeat(windows["asset"], 2).tolist()
        assert mine["origin_time"].tolist() == table["timestamp"].iloc[np.repeat(ends, 2)].tolist()
        np.testing.assert_array_equal(mine["actual_close"], close[ends[:, None] + [1, 2]].ravel())
        both = np.concatenate([expected["AAA"][base], expected["BBB"][base]]).reshape(-1, 3)
        np.testing.assert_allclose(mine[["q0.05", "q0.5", "q0.95"]], both, rtol=1e-12)
    # An asset without test windows (AAA here) is passed over, not the end of the loop.
    pd.testing.assert_frame_equal(
        forecast_baselines(table, split, windows.iloc[3:], REPORTING, m=model),
        out[out["asset"] == "BBB"].reset_index(drop=True),
    )
    # One asset without an asset column: the same numbers, and no asset column either.
    alone = forecast_baselines(
        table.iloc[:300].drop(columns="asset"), split, windows.iloc[:3].drop(columns="asset"),
        REPORTING, m=model,
    )  # fmt: skip
    assert "asset" not in alone
    pd.testing.assert_frame_equal(
        alone, out[out["asset"] == "AAA"].drop(columns="asset").reset_index(drop=True)
    )
