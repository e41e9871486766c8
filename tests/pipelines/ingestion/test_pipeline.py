"""The ingestion node, wired as in ``create_pipeline``, run by Kedro's own runner."""

from __future__ import annotations

import pandas as pd
from kedro.config import OmegaConfigLoader
from kedro.io import DataCatalog, MemoryDataset
from kedro.runner import SequentialRunner
from kedro.validation.type_extractor import TypeExtractor

from lstm_forecast.ohlcv_csv.layout import SourceParams
from lstm_forecast.pipelines.ingestion import create_pipeline
from lstm_forecast.pipelines.ingestion.params import IngestionParams

from ._helpers import PROJECT, SHIPPED


def test_pipeline_runs_on_the_shipped_file_with_the_project_parameters(
    shipped_text: str, shipped_clean
):
    config = OmegaConfigLoader(
        conf_source=str(PROJECT / "conf"), base_env="base", default_run_env="local"
    )
    ingestion = config["parameters"]["ingestion"]
    assert ingestion["source"]["path"] == SHIPPED  # the globals default reaches the node
    catalog = DataCatalog(
        {
            "raw_candles": MemoryDataset(shipped_text),
            "params:ingestion": MemoryDataset(ingestion),
        }
    )
    outputs = SequentialRunner().run(create_pipeline(), catalog)
    candles = outputs["candles"].load()
    report = outputs["data_quality_report"].load()
    pd.testing.assert_frame_equal(candles, shipped_clean[0])
    assert report == shipped_clean[1]


def test_the_project_parameters_are_the_model_defaults():
    """conf/base and ``IngestionParams`` say the same, so neither default can drift."""
    config = OmegaConfigLoader(
        conf_source=str(PROJECT / "conf"), base_env="base", default_run_env="local"
    )
    from_yaml = IngestionParams.model_validate(config["parameters"]["ingestion"])
    defaults = IngestionParams(source=SourceParams(path=SHIPPED))
    assert from_yaml == defaults
    assert from_yaml.min_segment_bars == 10


def test_the_node_is_typed_so_kedro_validates_its_parameters_before_the_run():
    requirements = TypeExtractor({"ingestion": create_pipeline()}).extract_types_from_pipelines()
    assert requirements == {"ingestion": IngestionParams}
