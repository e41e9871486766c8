"""Project pipelines."""

from kedro.framework.project import find_pipelines
from kedro.pipeline import Pipeline

# The stages of `__default__`, in the order a user reads them; Kedro orders nodes by data anyway.
DEFAULT_STAGES = ("ingestion", "features", "training", "export", "validation")


def register_pipelines() -> dict[str, Pipeline]:
    """Register the project's pipelines.

    Returns:
        A mapping from pipeline names to ``Pipeline`` objects.
    """
    pipelines = find_pipelines(raise_errors=True)
    pipelines["__default__"] = sum((pipelines[name] for name in DEFAULT_STAGES), Pipeline([]))
    return pipelines
