"""The skill study's table is the reporting stage's scores, read back unchanged.

Reads the shared smoke run's outputs (two assets, h = 1..6); benchmarks/skill_study.py
builds its table the same way from the study environment's run.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from ..conftest import PROJECT_ROOT

sys.path.insert(0, str(PROJECT_ROOT / "benchmarks"))
import _skill_table as table


def test_rows_per_asset_and_pooled_carry_the_reported_skill_dm_and_coverage(smoke_project: Path):
    reports = smoke_project / "data" / "08_reporting"
    metrics = json.loads((reports / "forecast_metrics.json").read_text())
    widths = table.relative_widths(reports)
    rows = table.rows_of(metrics, widths, [1, 6])
    assets = metrics["assets"]
    assert len(assets) == 2
    assert [row["asset"] for row in rows] == [a for a in [*assets, "pooled"] for _ in (1, 6)]
    for row in rows:
        block = metrics if row["asset"] == "pooled" else metrics["by_asset"][row["asset"]]
        entry = block["models"]["lstm"]["by_horizon"][str(row["h"])]
        best = block["best_baseline"][str(row["h"])]
        assert row["best"] == best
        assert row["skill_vs_best"] == entry["crps_skill"][best]
        assert row["dm_p_vs_best"] == entry["diebold_mariano"][best]["p_value"]
        assert row["coverage90"] == entry["coverage"]["0.9"]["coverage"]
        assert row["skill"]["har"] == entry["crps_skill"]["har"]
    # The width is the 90% band over the last close, in percent, computed here by hand.
    frame = pd.read_parquet(smoke_project / "data/07_model_output/lstm_test_predictions.parquet")
    first = frame[frame["h"] == 1]
    by_hand = 100 * np.mean((first["q0.95"] - first["q0.05"]) / first["last_close"])
    assert np.isclose(widths["pooled"][1], by_hand, rtol=1e-12)
    assert 0 < widths[assets[0]][6] < 100


def test_markdown_zero_shot_rows_and_goals(smoke_project: Path):
    reports = smoke_project / "data" / "08_reporting"
    metrics = json.loads((reports / "forecast_metrics.json").read_text())
    widths = table.relative_widths(reports)
    asset = metrics["assets"][1]
    rows = table.rows_of(metrics, widths, [1, 6])
    zero = table.rows_of(metrics, widths, [1], only=[asset], label=" zero-shot")
    assert [row["asset"] for row in zero] == [f"{asset} zero-shot"]
    text = table.markdown(rows + zero)
    assert len(text.splitlines()) == 2 + len(rows) + 1
    assert f"| {asset} zero-shot | 1 |" in text and "| vs HAR |" in text
    goals = table.goal_lines(rows + zero)
    assert goals[0].startswith("h=1 pooled: CRPS skill vs the best baseline")
    outside = [r for r in rows if r["asset"] != "pooled" and not 0.88 <= r["coverage90"] <= 0.92]
    outside = [r for r in outside if r["h"] == 1]  # h=24 is beyond the smoke horizon
    assert len(goals) == 1 + (len(outside) or 1)


def test_quick_mode_files_keep_each_layout_and_split_by_the_rule(tmp_path: Path):
    import skill_study

    from lstm_forecast.pipelines.ingestion.nodes import clean_assets

    # A fresh clone: no long files, so the shipped ETH year stands in for each, in its layout.
    folder, split = skill_study.quick_assets(tmp_path / "absent", tmp_path / "assets")
    params = skill_study.c.load_config("parameters", "study")["ingestion"]
    files = {
        name: (folder / Path(path).name).read_text
        for name, path in skill_study.study_files(tmp_path / "absent").items()
    }
    assert files["ETHUSDT"]().splitlines()[1].split(",")[0].isdigit()  # epoch ms, as the file
    candles, _ = clean_assets(files, "", params | {"assets": sorted(files)})
    days = candles.groupby("asset")["timestamp"].agg(["min", "max"])
    assert (days["max"] - days["min"] >= pd.Timedelta(days=skill_study.QUICK_DAYS - 1)).all()
    end = days["max"].min().floor("D")
    test = end - pd.Timedelta(days=10)
    assert split == (
        f"features.split.val_start={(test - pd.Timedelta(days=5)).date()},"
        f"features.split.test_start={test.date()}"
    )
