"""Ingestion pipeline."""

from kedro.pipeline import Node, Pipeline

from .nodes import clean_candles


def create_pipeline(**kwargs) -> Pipeline:
    """Create the ingestion pipeline: ``raw_candles`` -> ``candles`` + data-quality report.

    The node takes one parameter block, ``params:ingestion``, holding everything it needs,
    so the whole pipeline can be reused under a namespace with that block remapped.
    """
    return Pipeline(
        [
            Node(
                func=clean_candles,
                inputs=["raw_candles", "params:ingestion"],
                outputs=["candles", "data_quality_report"],
                name="clean_candles",
                tags=["ingestion"],
            ),
        ]
    )
