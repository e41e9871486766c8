"""The runtime inference serves with, checked against onnxruntime before it is trusted."""

from __future__ import annotations

import logging

import numpy as np
import onnx

from lstm_forecast.errors import ArtifactError
from lstm_forecast.onnx.contract import CLOSE_QUANTILES
from lstm_forecast.onnx.runtimes import Runtime, open_runtime
from lstm_forecast.params import OnnxRuntimeParams

from .params import InferenceParams

logger = logging.getLogger(__name__)


def open_checked_runtime(
    forecaster: onnx.ModelProto,
    inference: InferenceParams,
    onnxruntime: OnnxRuntimeParams,
    first_batch: dict[str, np.ndarray],
) -> Runtime:
    """Open the forecaster in ``inference.runtime``; any runtime but onnxruntime must first
    give onnxruntime's prices on ``first_batch``, within ``inference.runtime_max_price_diff``.

    Raises:
        ArtifactError: When the runtime is not installed, cannot read the file, or its
            prices differ from onnxruntime's (with the figure and what to do).
    """
    settings = onnxruntime.as_dict()
    session = open_runtime(forecaster, inference.runtime, settings)
    if inference.runtime == "onnxruntime":
        return session
    expected = open_runtime(forecaster, "onnxruntime", settings).run([CLOSE_QUANTILES], first_batch)
    found = session.run([CLOSE_QUANTILES], first_batch)
    reference, candidate = expected[0], found[0]
    same_gaps = np.array_equal(np.isnan(reference), np.isnan(candidate))
    known = ~np.isnan(reference)
    difference = float(np.abs(candidate[known] - reference[known]).max(initial=0.0))
    if not same_gaps or not difference <= inference.runtime_max_price_diff:
        raise ArtifactError(
            f"inference.runtime {inference.runtime!r} does not reproduce onnxruntime on the "
            f"first {len(reference)} window(s): max |price difference| {difference:.4g} > "
            f"{inference.runtime_max_price_diff:g} (inference.runtime_max_price_diff)"
            f"{'' if same_gaps else ', and its missing prices differ'}. OpenVINO's CPU plugin "
            "computes float64 as float32 and int64 as int32, which the forecaster's epoch-time "
            "features need; serve it with inference.runtime: onnxruntime."
        )
    logger.info(
        "Serving with %s: max |price difference| from onnxruntime %.3g on the first batch.",
        inference.runtime,
        difference,
    )
    return session
