"""Fetch pipeline (not part of ``__default__``: it is the only stage that needs the network)."""

from kedro.pipeline import Node, Pipeline

from .nodes import fetch_candles


def create_pipeline(**kwargs) -> Pipeline:
    """Create the fetch pipeline: ``params:fetch`` -> one CSV per symbol + a report.

    ``kedro run --pipelines=fetch --params=fetch.symbols=[ETHUSDT,SOLUSDT],fetch.start=2019-01``
    """
    return Pipeline(
        [
            Node(
                func=fetch_candles,
                inputs="params:fetch",
                outputs=["fetched_candles", "fetch_report"],
                name="fetch_candles",
                tags=["fetch"],
            ),
        ]
    )
