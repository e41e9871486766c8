"""Torch-to-ONNX conversion of the LSTM, guarded against the exporter's silent failures.

Measured with torch 2.13 (each guarded here, each with a test):
(a) the dynamo exporter fixes the batch axis to 1 when the example batch is 1;
(b) a second dynamo export of an ``nn.LSTM`` in one process fixes the sequence length;
(c) the dynamo exporter raises ``opset_version`` below 18 to 18 without a word;
(d) checkpoints load in train mode, and exporting in train mode keeps dropout active;
(e) the dynamo exporter writes debugging metadata into every node and value: Python stack
    traces with this machine's absolute paths, whose depth depends on the caller (a Dask
    worker's traces are ~4.7 kB longer), so the same weights gave files that differed by
    checkout and by runner. Exports keep none of it.

For (b) a process exports at most one LSTM: the first export of a process runs in it
(measured: neither Lightning training nor earlier dynamo exports of other modules in the
process pin its axes), every later one in a child forked from Python's forkserver
(``fresh_process``): it has imported torch and this module and exported nothing. A default
`kedro run` exports one LSTM, so it starts no child.
"""

from __future__ import annotations

import io
import threading
from concurrent.futures import ProcessPoolExecutor
from typing import Any

import onnx
import torch

from lstm_forecast.errors import ArtifactError
from lstm_forecast.onnx.contract import INPUT_NAME, OUTPUT_NAME
from lstm_forecast.onnx.exporter_metadata import without_exporter_metadata

from . import fresh_process
from .lstm_network import LSTMForecaster, model_from_checkpoint

EXPORTERS = ("dynamo", "torchscript")
# (a): batch 1 lets the exporter specialise the batch axis; any larger example is safe.
_EXAMPLE_BATCH = 2
# (b): whether this process has made a dynamo export of an LSTM already.
_STATE = {"lstm_exported_here": False}
_LOCK = threading.Lock()


def export_checkpoint(checkpoint: dict[str, Any], export: dict[str, Any]) -> onnx.ModelProto:
    """Convert a checkpoint to ONNX in a fresh process and check the result.

    Args:
        checkpoint: What the ``model_checkpoint`` dataset loads.
        export: ``exporter``, ``opset``, ``dynamic_window``, ``isolate_process``.

    Returns:
        The ONNX model, with input ``window`` and output ``forecast``.
    """
    if export["exporter"] not in EXPORTERS:
        raise ValueError(f"export.exporter must be one of {EXPORTERS}, not {export['exporter']!r}.")
    if export.get("isolate_process", True) and not _claim_this_process():
        payload = _export_in_a_fresh_process(checkpoint, export)
    else:
        payload = _export_bytes(checkpoint, export)
    model = onnx.load_model_from_string(payload)
    produced = {op.domain: op.version for op in model.opset_import}.get("")
    if produced != export["opset"]:
        # (c): never ship an opset other than the one asked for.
        raise ArtifactError(
            f"Asked for ONNX opset {export['opset']} but the {export['exporter']} exporter "
            f"produced opset {produced}. Set export.opset={produced}, or use "
            "export.exporter=torchscript for opsets below 18."
        )
    return model


def _claim_this_process() -> bool:
    """True once per process: the caller may make this process's one LSTM export here."""
    with _LOCK:
        if _STATE["lstm_exported_here"]:
            return False
        _STATE["lstm_exported_here"] = True
        return True


def _export_in_a_fresh_process(checkpoint: dict[str, Any], export: dict[str, Any]) -> bytes:
    # (b): a new child per export, so no export sees another's exporter state.
    with ProcessPoolExecutor(max_workers=1, mp_context=fresh_process.context()) as pool:
        state = fresh_process.caller_state()
        return pool.submit(_export_in_child, state, checkpoint, export).result()


def _export_in_child(
    state: fresh_process.CallerState, checkpoint: dict[str, Any], export: dict[str, Any]
) -> bytes:
    fresh_process.adopt(state)
    return _export_bytes(checkpoint, export)


def _export_bytes(checkpoint: dict[str, Any], export: dict[str, Any]) -> bytes:
    model = model_from_checkpoint(checkpoint)
    return export_module(model, export)


def export_module(model: LSTMForecaster, export: dict[str, Any]) -> bytes:
    """Export ``model`` in eval mode with a symbolic batch (and optionally window) axis.

    Args:
        model: The LSTM forecaster.
        export: ``exporter``, ``opset``, ``dynamic_window``.

    Returns:
        The serialised ONNX model.
    """
    with _LOCK:
        _STATE["lstm_exported_here"] = True  # (b): whoever called, this process has one now
    model = model.eval()  # (d): also when the caller forgot; dropout must be off.
    window_length = int(model.hparams.window_length)
    n_features = int(model.hparams.n_features)
    example = torch.zeros(_EXAMPLE_BATCH, window_length, n_features)
    dynamic_window = bool(export.get("dynamic_window", True))
    buffer = io.BytesIO()
    with torch.no_grad():
        if export["exporter"] == "dynamo":
            axes = {0: torch.export.Dim("batch", min=1)}
            if dynamic_window:
                axes[1] = torch.export.Dim("window", min=2)
            program = torch.onnx.export(
                model,
                (example,),
                dynamo=True,
                input_names=[INPUT_NAME],
                output_names=[OUTPUT_NAME],
                opset_version=export["opset"],
                dynamic_shapes={INPUT_NAME: axes},
                verbose=False,
            )
            return without_exporter_metadata(program.model_proto).SerializeToString()
        else:
            axes = {0: "batch", 1: "window"} if dynamic_window else {0: "batch"}
            torch.onnx.export(
                model,
                (example,),
                buffer,
                dynamo=False,
                input_names=[INPUT_NAME],
                output_names=[OUTPUT_NAME],
                opset_version=export["opset"],
                dynamic_axes={INPUT_NAME: axes, OUTPUT_NAME: {0: "batch"}},
            )
    model = without_exporter_metadata(onnx.load_model_from_string(buffer.getvalue()))
    return model.SerializeToString()
