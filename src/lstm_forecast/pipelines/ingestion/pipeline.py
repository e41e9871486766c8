"""Ingestion pipeline."""

from kedro.pipeline import Node, Pipeline

from .nodes import clean_assets


def create_pipeline(**kwargs) -> Pipeline:
    """Create the ingestion pipeline: each asset's CSV -> ``candles`` + data-quality report.

    The assets are files of ``raw_candle_files`` (``ingestion.assets``), or the one file
    ``raw_candles`` when ``raw_csv`` is given.

    The node takes one parameter block, ``params:ingestion``, holding everything it needs,
    so the whole pipeline can be reused under a namespace with that block remapped.
    """
    return Pipeline(
        [
            Node(
                func=clean_assets,
                inputs=["raw_candle_files", "raw_candles", "params:ingestion"],
                outputs=["candles", "data_quality_report"],
                name="clean_candles",
                tags=["ingestion"],
            ),
        ]
    )
