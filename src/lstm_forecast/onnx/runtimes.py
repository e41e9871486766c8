"""One ONNX file, two CPU runtimes behind one call: onnxruntime or OpenVINO.

Both are opened with :func:`open_runtime` and answer ``run(output_names, inputs)`` the way
``onnxruntime.InferenceSession.run`` does (``None`` = every output), so the code that feeds
windows to a session does not change with the runtime.

OpenVINO is an optional extra (``pip install 'lstm_forecast[openvino]'``); its ONNX
frontend reads the file directly and its CPU plugin runs the ``LSTM`` as one fused
``LSTMSequence``. It is opened with ``INFERENCE_PRECISION_HINT: f32``: on a CPU with
bfloat16 (``avx512_bf16``, AMX) the plugin's default is bf16, which moves the scaled
forecasts by about 1e-3 and is not the fp32 model any more.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

import numpy as np
import onnx

from lstm_forecast.errors import ArtifactError
from lstm_forecast.onnx.contract import make_session

RUNTIMES = ("onnxruntime", "openvino")
OPENVINO_PRECISIONS = ("f32", "bf16")


class Runtime(Protocol):
    """What callers need of a session: onnxruntime's ``run`` signature."""

    def run(
        self, output_names: Sequence[str] | None, inputs: Mapping[str, np.ndarray]
    ) -> list[np.ndarray]: ...


class RuntimeUnavailableError(ArtifactError):
    """The runtime asked for is not installed (or cannot read this file)."""


def openvino_missing() -> str | None:
    """Why OpenVINO cannot be used here, or ``None`` when it can."""
    try:
        importlib.import_module("openvino")
    except ImportError as error:
        return (
            f"openvino is not installed ({error}); install the extra with "
            "`pip install 'lstm_forecast[openvino]'`"
        )
    return None


class OpenVinoRuntime:
    """An ONNX model compiled by OpenVINO's CPU plugin, run like an onnxruntime session."""

    def __init__(
        self,
        model: onnx.ModelProto | bytes,
        *,
        threads: int = 1,
        precision: str = "f32",
        static_batch: int | None = None,
    ) -> None:
        """Compile ``model`` for the CPU.

        Args:
            model: The ONNX model, or its serialised bytes (read directly, no conversion file).
            threads: ``INFERENCE_NUM_THREADS``; 0 lets OpenVINO choose.
            precision: ``f32`` (the fp32 model) | ``bf16`` (faster where the CPU has it,
                not the same numbers).
            static_batch: Fix the first dimension of every input (OpenVINO plans a static
                shape once; calls must then use exactly this batch).
        """
        reason = openvino_missing()
        if reason:
            raise RuntimeUnavailableError(reason)
        if precision not in OPENVINO_PRECISIONS:
            raise ValueError(f"precision must be one of {OPENVINO_PRECISIONS}, not {precision!r}.")
        # Imported here: the extra is optional, and its import costs up to 1 s.
        ov = importlib.import_module("openvino")

        payload = model if isinstance(model, bytes) else model.SerializeToString()
        core = ov.Core()
        try:
            graph = core.read_model(payload, b"")
        except RuntimeError as error:
            raise RuntimeUnavailableError(f"OpenVINO cannot read this ONNX file: {error}") from None
        if static_batch is not None:
            graph.reshape(
                {
                    port.get_any_name(): [static_batch, *port.get_partial_shape()[1:]]
                    for port in graph.inputs
                }
            )
        config: dict[str, Any] = {
            "PERFORMANCE_HINT": "LATENCY",
            "NUM_STREAMS": 1,
            "INFERENCE_PRECISION_HINT": precision,
        }
        if threads:
            config["INFERENCE_NUM_THREADS"] = int(threads)
        self.compiled = core.compile_model(graph, "CPU", config)
        self._request = self.compiled.create_infer_request()
        self.input_names = [port.get_any_name() for port in self.compiled.inputs]
        self.output_names = [port.get_any_name() for port in self.compiled.outputs]
        self.version = ov.__version__

    def run(
        self, output_names: Sequence[str] | None, inputs: Mapping[str, np.ndarray]
    ) -> list[np.ndarray]:
        """Outputs named by ``output_names`` (``None`` = all), copied out of OpenVINO's
        buffers so that the next call cannot overwrite them."""
        results = self._request.infer(dict(inputs))
        by_name = {port.get_any_name(): value for port, value in results.items()}
        return [np.array(by_name[name]) for name in (output_names or self.output_names)]

    def perf_counts(self) -> list[tuple[str, str, float]]:
        """``(node, type, microseconds)`` of the last call (needs ``PERF_COUNT``)."""
        return [
            (info.node_name, info.node_type, info.real_time.total_seconds() * 1e6)
            for info in self._request.profiling_info
        ]


def open_runtime(
    model: onnx.ModelProto | bytes,
    runtime: str,
    settings: Mapping[str, Any],
    *,
    precision: str = "f32",
) -> Runtime:
    """Open ``model`` in ``runtime`` with the project's session settings.

    Args:
        model: The ONNX model, or its serialised bytes.
        runtime: ``onnxruntime`` | ``openvino``.
        settings: ``params:onnxruntime`` as a dict; OpenVINO takes its
            ``intra_op_num_threads`` as its thread count.
        precision: OpenVINO's inference precision (``f32`` unless asked otherwise).

    Raises:
        ValueError: For an unknown runtime.
        RuntimeUnavailableError: When OpenVINO is asked for and not installed, or cannot
            read the file.
    """
    if runtime == "onnxruntime":
        return make_session(model, dict(settings))
    if runtime == "openvino":
        return OpenVinoRuntime(
            model, threads=int(settings.get("intra_op_num_threads", 1)), precision=precision
        )
    raise ValueError(f"runtime must be one of {RUNTIMES}, not {runtime!r}.")
