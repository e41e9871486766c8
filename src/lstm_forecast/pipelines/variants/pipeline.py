"""Variants pipeline: per model kind and published file, opt and int8 copies, checked
against the float file in prices, published only when within tolerance."""

from kedro.pipeline import Node, Pipeline

from lstm_forecast import models
from lstm_forecast.integrations.node_binding import bind

from .nodes import (
    check_forecaster_variants,
    check_model_variants,
    optimise_variant,
    publish_variant,
    quantise_variant,
)

VARIANTS = ("opt", "int8")
# Published float file -> (the check node, which compares variants with it in prices, and
# the data it needs besides the files). Another published file is one more entry here and
# its `<file>_<variant>` / `<file>_variants_report` datasets in the catalog.
ARTIFACTS = {
    "onnx_model": (check_model_variants, ["features", "test_windows"]),
    "forecaster": (check_forecaster_variants, ["candles", "test_windows"]),
}
_SHARED_INPUTS = {"features", "candles", "test_windows"}
_PARAMETERS = {"params:variants", "params:onnxruntime"}


def create_pipeline(**kwargs) -> Pipeline:
    """Create the variants pipeline: per kind and artifact, optimise -> quantise -> check ->
    publish ``<artifact>_opt`` and ``<artifact>_int8``."""
    return Pipeline(
        [
            Pipeline(
                [node for artifact in ARTIFACTS for node in _artifact_nodes(artifact, kind)],
                namespace=kind,
                inputs=_SHARED_INPUTS,
                parameters=_PARAMETERS,
            )
            for kind in models.names()
        ],
        tags=["variants"],
    )


def _artifact_nodes(artifact: str, kind: str) -> list[Node]:
    check, data = ARTIFACTS[artifact]
    candidates = [f"{artifact}_{variant}_candidate" for variant in VARIANTS]
    report = f"{artifact}_variants_report"
    return [
        Node(
            func=optimise_variant,
            inputs=[artifact, "params:variants"],
            outputs=candidates[0],
            name=f"optimise_{artifact}",
        ),
        Node(
            func=quantise_variant,
            inputs=[artifact, "params:variants"],
            outputs=candidates[1],
            name=f"quantise_{artifact}",
        ),
        Node(
            func=models.for_kind(check, kind),
            inputs=[artifact, *candidates, *data, "params:variants", "params:onnxruntime"],
            outputs=report,
            name=f"check_{artifact}_variants",
        ),
        *(
            Node(
                func=bind(publish_variant, variant=variant),
                inputs=[candidate, report],
                outputs=f"{artifact}_{variant}",
                name=f"publish_{artifact}_{variant}",
            )
            for variant, candidate in zip(VARIANTS, candidates, strict=True)
        ),
    ]
