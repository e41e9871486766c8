"""Project pipelines."""

from kedro.framework.project import find_pipelines
from kedro.pipeline import Pipeline

from lstm_forecast.pipelines import ingestion

# The stages of `__default__`, in the order a user reads them; Kedro orders nodes by data anyway.
DEFAULT_STAGES = (
    "ingestion",
    "features",
    "training",
    "export",
    "validation",
    "variants",
    "reporting",
)


def register_pipelines() -> dict[str, Pipeline]:
    """Register the project's pipelines.

    ``kedro run --pipelines=<name>`` makes ``find_pipelines`` import only the pipelines
    asked for (so a torch-free pipeline never imports torch); ``__default__`` exists
    whenever all its stages were loaded.

    Returns:
        A mapping from pipeline names to ``Pipeline`` objects.
    """
    pipelines = find_pipelines(raise_errors=True)
    if "inference" in pipelines:
        pipelines["inference"] = inference_with_ingestion(pipelines["inference"])
    if all(name in pipelines for name in DEFAULT_STAGES):
        pipelines["__default__"] = sum((pipelines[name] for name in DEFAULT_STAGES), Pipeline([]))
    return pipelines


def inference_with_ingestion(forecasting: Pipeline) -> Pipeline:
    """The ingestion pipeline renamed into the ``inference`` namespace, then ``forecasting``.

    A CSV for forecasting passes exactly the checks a training CSV does; composing here
    keeps the two stages from importing each other.
    """
    cleaning = Pipeline(
        ingestion.create_pipeline(),
        namespace="inference",
        parameters={"params:ingestion": "params:inference_ingestion"},
    )
    return Pipeline([cleaning, forecasting], tags=["inference"])
