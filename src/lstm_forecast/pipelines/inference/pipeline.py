"""Inference pipeline: ingestion's own checks, then a published ONNX model, no torch anywhere."""

from kedro.pipeline import Node, Pipeline

from ..ingestion import create_pipeline as ingestion_pipeline
from .nodes import (
    choose_forecaster,
    forecast_from_candles,
    format_forecasts,
    read_model_contract,
)


def create_pipeline(**kwargs) -> Pipeline:
    """Create the inference pipeline: ``inference.raw_candles`` -> ``inference_forecasts``.

    Not part of ``__default__``: run it with ``kedro run --pipelines=inference``.
    """
    # The ingestion pipeline itself, renamed into the `inference` namespace, so a CSV for
    # forecasting passes exactly the checks a training CSV does.
    cleaning = Pipeline(
        ingestion_pipeline(),
        namespace="inference",
        parameters={"params:ingestion": "params:inference_ingestion"},
    )
    forecasting = Pipeline(
        [
            Node(
                func=choose_forecaster,
                inputs=["published_onnx_files", "params:inference"],
                outputs="inference.forecaster",
                name="choose_forecaster",
            ),
            Node(
                func=read_model_contract,
                inputs="inference.forecaster",
                outputs="inference.model_contract",
                name="read_model_contract",
            ),
            Node(
                func=forecast_from_candles,
                inputs=[
                    "inference.candles",
                    "inference.data_quality_report",
                    "inference.forecaster",
                    "inference.model_contract",
                    "params:inference",
                    "params:onnxruntime",
                ],
                outputs="inference_forecasts",
                name="forecast_from_candles",
            ),
            Node(
                func=format_forecasts,
                inputs="inference_forecasts",
                outputs="inference_forecasts_csv",
                name="format_forecasts",
            ),
        ]
    )
    return Pipeline([cleaning, forecasting], tags=["inference"])
