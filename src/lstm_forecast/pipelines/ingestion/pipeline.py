"""Ingestion pipeline."""

from kedro.pipeline import Node, Pipeline

from .nodes import clean_candles


def create_pipeline(**kwargs) -> Pipeline:
    """Create the ingestion pipeline: ``raw_candles`` -> ``candles`` + data-quality report."""
    return Pipeline(
        [
            Node(
                func=clean_candles,
                inputs=["raw_candles", "params:ingestion", "params:features.window_length"],
                outputs=["candles", "data_quality_report"],
                name="clean_candles",
                tags=["ingestion"],
            ),
        ]
    )
