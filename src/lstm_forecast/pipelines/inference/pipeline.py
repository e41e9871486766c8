"""Inference pipeline: a published ONNX forecaster on cleaned candles, no torch anywhere."""

from kedro.pipeline import Node, Pipeline

from .nodes import (
    choose_forecaster,
    forecast_from_candles,
    format_forecasts,
    read_model_contract,
)


def create_pipeline(**kwargs) -> Pipeline:
    """Create the forecasting nodes: ``inference.candles`` -> ``inference_forecasts``.

    ``pipeline_registry`` puts the ingestion pipeline in front of these (under the
    ``inference`` namespace), so ``kedro run --pipelines=inference`` reads a raw CSV. Not
    part of ``__default__``.
    """
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
    return Pipeline(forecasting, tags=["inference"])
