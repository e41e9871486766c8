"""The skill study's Kedro environment (conf/study) stays in step with conf/base.

Configuration only, no run: every file a study run writes lies under its own folder (so a
study never overwrites the default run's data/), its raw candles are the long files named
in its catalog, its split is the rule it states, and its parameters pass every stage's
typed model. benchmarks/skill_study.py runs the environment itself.
"""

from __future__ import annotations

import re

import pandas as pd
import pytest
from kedro.config import OmegaConfigLoader

from lstm_forecast.models.training_params import TrainingParams
from lstm_forecast.pipelines.features.params import FeaturesParams
from lstm_forecast.pipelines.ingestion.params import IngestionParams
from lstm_forecast.pipelines.tuning.params import TuningParams
from lstm_forecast.pipelines.validation.params import ValidationParams
from tests.conftest import PROJECT_ROOT

INPUTS = {"raw_candle_files", "raw_candles", "fetched_candles"}  # read, or fetch's own folder


def _config(env: str, **runtime_params: str) -> OmegaConfigLoader:
    return OmegaConfigLoader(
        str(PROJECT_ROOT / "conf"),
        base_env="base",
        default_run_env=env,
        runtime_params=runtime_params,
        merge_strategy={"parameters": "soft", "catalog": "soft"},
    )


def _path(entry: dict) -> str | None:
    return entry.get("filepath") or entry.get("path")


def test_every_file_a_study_run_writes_lies_in_the_study_folder():
    base = _config("local")["catalog"]
    study = _config("study", study_dir="/tmp/elsewhere", assets_dir="/x")["catalog"]
    written = {
        name
        for name, entry in base.items()
        if not name.startswith("_")
        and name not in INPUTS
        and not name.startswith("inference.raw")
        and str(_path(entry) or "").startswith("data/")
    }
    assert len(written) > 40  # the whole catalog, not a few entries
    for name in written:
        assert _path(study[name]) == "/tmp/elsewhere/" + _path(base[name])[len("data/") :], name
    default = _config("study")["catalog"]
    for name, entry in study.items():  # the default folder is one of its own
        if name in written:
            assert _path(default[name]).startswith("data/study/"), name
        assert _path(entry) is None or "${" not in _path(entry), name


def test_the_raw_candles_are_the_long_files_and_the_split_is_the_last_twelve_months():
    catalog = _config("study", assets_dir="/assets")["catalog"]
    entry = catalog["raw_candle_files"]
    assert entry["type"] == "lstm_forecast.datasets.CandleFilesDataset"
    assert entry["path"] == "data/01_raw/candles"  # the shipped BTC year, as in conf/base
    files = entry["files"]
    assert sorted(files) == ["BNBUSDT", "ETHUSDT", "SOLUSDT", "XRPUSDT"]
    assert all(path.startswith("/assets/") for path in files.values())
    params = _config("study")["parameters"]
    ingestion = IngestionParams.model_validate(params["ingestion"])
    assert set(ingestion.assets) == {"BTCUSDT", *files} and ingestion.last_bar == "drop"
    # The files' names end with their last day: the test year is the 12 months before the
    # latest of them, validation the 6 before that (one calendar window for every asset).
    ends = [re.search(r"_(\d{4}-\d{2}-\d{2})\.csv$", path).group(1) for path in files.values()]
    split = FeaturesParams.model_validate(params["features"]).split
    test_start = pd.Timestamp(max(ends)) - pd.DateOffset(months=12)
    assert pd.Timestamp(split.test_start) == test_start
    assert pd.Timestamp(split.val_start) == test_start - pd.DateOffset(months=6)
    assert split.zero_shot_assets == ()  # the zero-shot run sets it with --params


@pytest.mark.parametrize(
    ("block", "model"),
    [
        ("ingestion", IngestionParams),
        ("features", FeaturesParams),
        ("training", TrainingParams),
        ("validation", ValidationParams),
        ("tuning", TuningParams),
    ],
)
def test_the_study_parameters_pass_each_stage_model(block, model):
    model.model_validate(_config("study")["parameters"][block])
