"""The runtimes bench_variants.py times, each checked against onnxruntime fp32 first.

A runtime is a factory ``threads -> (prepare, call)``: ``prepare`` sets process-wide state
before a block of calls (torch's thread count), ``call(windows) -> forecast`` runs one batch.
Also: onnxruntime's session settings at one batch, and where the time goes (onnxruntime's
profiler, OpenVINO's per-node counters).
"""

from __future__ import annotations

import json
import tempfile
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

Call = Callable[[np.ndarray], np.ndarray]
Factory = Callable[[int], tuple[Callable[[], None], Call]]
# max |runtime - onnxruntime fp32| / std(onnxruntime fp32) a runtime may show before it is
# timed: float rounding for fp32 runtimes, a share of the spread for int8 / bf16 ones.
TOLERANCE = {"fp32": 1e-4, "reduced": 0.05}
# onnxruntime session settings tried at batch 256: name -> SessionOptions / config entries.
ORT_SETTINGS = {
    "project (intra=threads, inter=1, level all)": {},
    "intra_op_num_threads=0 (all cores)": {"intra": 0},
    "enable_cpu_mem_arena=False": {"arena": False},
    "session.intra_op.allow_spinning=0": {"spinning": "0"},
    "graph level disable": {"level": "disable"},
    "graph level basic": {"level": "basic"},
    "graph level extended": {"level": "extended"},
    "execution_mode=parallel, inter=threads": {"parallel": True},
}


def ort_session(payload: bytes, threads: int, profile: str | None = None, **settings: Any):
    """An onnxruntime CPU session: the project's settings, changed by ``settings``."""
    import onnxruntime as ort

    from lstm_forecast.onnx.contract import _OPTIMISATION_LEVELS

    options = ort.SessionOptions()
    options.intra_op_num_threads = settings.get("intra", threads)
    options.inter_op_num_threads = threads if settings.get("parallel") else 1
    if settings.get("parallel"):
        options.execution_mode = ort.ExecutionMode.ORT_PARALLEL
    options.graph_optimization_level = _OPTIMISATION_LEVELS[settings.get("level", "all")]
    options.enable_cpu_mem_arena = settings.get("arena", True)
    if "spinning" in settings:
        options.add_session_config_entry("session.intra_op.allow_spinning", settings["spinning"])
    if profile:
        options.enable_profiling = True
        options.profile_file_prefix = profile
    return ort.InferenceSession(payload, options, providers=["CPUExecutionProvider"])


def runtimes(model: Any, payloads: dict[str, bytes], openvino: bool) -> dict[str, Factory]:
    """Every runtime of the table: torch eager, onnxruntime on each file, OpenVINO."""
    import torch

    def torch_factory(threads: int):
        def call(windows: np.ndarray) -> np.ndarray:
            with torch.inference_mode():
                return model(torch.from_numpy(windows)).numpy()

        return (lambda: torch.set_num_threads(threads)), call

    def ort_factory(name: str) -> Factory:
        def make(threads: int):
            session = ort_session(payloads[name], threads)
            return (lambda: None), lambda w: session.run(None, {"window": w})[0]

        return make

    found: dict[str, Factory] = {"torch": torch_factory}
    found |= {f"ort {name}": ort_factory(name) for name in payloads}
    if openvino:
        found |= {
            "ov fp32": _ov_factory(payloads["fp32"], "f32"),
            "ov fp32 static": _ov_factory(payloads["fp32"], "f32", static=True),
            "ov int8 file": _ov_factory(payloads["int8"], "f32"),
            "ov fp32 bf16": _ov_factory(payloads["fp32"], "bf16"),
        }
    return found


def _ov_factory(payload: bytes, precision: str, static: bool = False) -> Factory:
    from lstm_forecast.onnx.runtimes import OpenVinoRuntime

    def make(threads: int):
        compiled: dict[int | None, OpenVinoRuntime] = {}

        def call(windows: np.ndarray) -> np.ndarray:
            # A static shape is compiled once per batch size, outside the timed calls
            # (the warm-up calls of each block compile it).
            key = len(windows) if static else None
            if key not in compiled:
                compiled[key] = OpenVinoRuntime(
                    payload, threads=threads, precision=precision, static_batch=key
                )
            return compiled[key].run(None, {"window": windows})[0]

        return (lambda: None), call

    return make


def reduced(name: str) -> bool:
    """Whether a runtime computes in less than fp32 (int8 weights or bf16)."""
    return "int8" in name or "bf16" in name


def check(name: str, found: np.ndarray, reference: np.ndarray) -> tuple[float, bool]:
    """``max |found - reference| / std(reference)`` and whether it is within tolerance."""
    error = float(np.abs(found - reference).max() / reference.std())
    return error, error <= TOLERANCE["reduced" if reduced(name) else "fp32"]


def ort_op_shares(payload: bytes, windows: np.ndarray, threads: int) -> dict[str, float]:
    """Share of onnxruntime's kernel time per op type over 10 calls at this batch."""
    with tempfile.TemporaryDirectory() as folder:
        profiled = ort_session(payload, threads, profile=str(Path(folder) / "profile"))
        for _ in range(10):
            profiled.run(None, {"window": windows})
        spent = kernel_time_by_op(profiled.end_profiling())
    total = sum(spent.values()) or 1
    return {op: spent[op] / total for op, _ in spent.most_common(4)}


def kernel_time_by_op(profile_file: str) -> Counter[str]:
    """Microseconds of kernel time per op type in an onnxruntime profile (JSON trace)."""
    spent: Counter[str] = Counter()
    for event in json.loads(Path(profile_file).read_text()):
        if event.get("cat") == "Node" and event["name"].endswith("_kernel_time"):
            spent[event["args"]["op_name"]] += event["dur"]
    return spent


def ov_op_shares(payload: bytes, windows: np.ndarray, threads: int) -> dict[str, float]:
    """Share of OpenVINO's per-node time (``PERF_COUNT``) per node type over 10 calls."""
    import openvino as ov

    core = ov.Core()
    config = {
        "PERF_COUNT": True,
        "INFERENCE_NUM_THREADS": threads,
        "INFERENCE_PRECISION_HINT": "f32",
        "PERFORMANCE_HINT": "LATENCY",
    }
    request = core.compile_model(
        core.read_model(payload, b""), "CPU", config
    ).create_infer_request()
    spent: Counter[str] = Counter()
    for _ in range(10):
        request.infer({"window": windows})
        for info in request.profiling_info:
            spent[f"{info.node_type}/{info.exec_type}"] += info.real_time.total_seconds()
    total = sum(spent.values()) or 1
    return {op: spent[op] / total for op, _ in spent.most_common(4)}
