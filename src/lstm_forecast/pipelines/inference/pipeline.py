"""Inference pipeline: ingestion's own checks, then the ONNX model, no torch anywhere."""

from kedro.pipeline import Node, Pipeline

from ..ingestion import create_pipeline as ingestion_pipeline
from .nodes import forecast_next_closes, format_forecasts, read_model_contract


def create_pipeline(**kwargs) -> Pipeline:
    """Create the inference pipeline: ``inference.raw_candles`` -> ``inference_forecasts``.

    Not part of ``__default__``: run it with ``kedro run --pipelines=inference``.
    """
    # The ingestion pipeline itself, renamed into the `inference` namespace, so a CSV for
    # forecasting passes exactly the checks a training CSV does.
    cleaning = Pipeline(
        ingestion_pipeline(),
        namespace="inference",
        parameters={"params:ingestion": "params:inference.ingestion"},
    )
    forecasting = Pipeline(
        [
            Node(
                func=read_model_contract,
                inputs=["lstm.onnx_model", "params:inference"],
                outputs="inference.model_contract",
                name="read_model_contract",
            ),
            Node(
                func=forecast_next_closes,
                inputs=[
                    "inference.candles",
                    "lstm.onnx_model",
                    "inference.model_contract",
                    "params:inference",
                    "params:validation.onnxruntime",
                ],
                outputs="inference_forecasts",
                name="forecast_next_closes",
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
