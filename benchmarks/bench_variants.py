"""Question 6: torch eager against onnxruntime fp32 / opt / int8, two model sizes, 1 and 2 threads.

Each model is the project's ``LSTMForecaster`` with seeded random weights (speed does not
depend on the values), exported by ``export_checkpoint`` with the project's export settings;
``opt`` and ``int8`` come from ``lstm_forecast.onnx.optimisation`` with the default
``params:variants``.
Torch runs in eval mode under ``torch.inference_mode`` with as many threads as the sessions
it is compared with. Latency: p50/p95 of single calls at batch 1; throughput: windows/s at
batch 256 (median call). Runtimes are timed in blocks of calls, the blocks interleaved over
rounds, so machine drift hits all alike without one runtime's spinning thread pool landing
inside another's timing. Also: session creation time, file size, and with ``--profile``
the share of onnxruntime's kernel time per op at batch 256.
"""

from __future__ import annotations

import json
import logging
import statistics
import sys
import tempfile
import time
import warnings
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as c

BIG_BATCH = 256
ROUNDS = 5
# (label, hidden size, layers): the default model and a larger one.
SIZES = (("default h32", 32, 1), ("large h128x2", 128, 2))
GOAL_BATCH1, GOAL_BATCH256, GOAL_SIZE = 4.0, 2.0, 1 / 3


def build_models(hidden: int, layers: int, params: dict) -> tuple[object, dict[str, object]]:
    """The torch model and its fp32 / opt / int8 ONNX files."""
    import torch

    from lstm_forecast.models.lstm_export import export_checkpoint
    from lstm_forecast.models.lstm_network import LSTMForecaster
    from lstm_forecast.onnx import optimisation as variants

    torch.manual_seed(0)
    model = LSTMForecaster(
        n_features=6,
        horizon=params["features"]["horizon"],
        quantiles=tuple(params["training"]["quantiles"]),
        hidden_size=hidden,
        num_layers=layers,
        window_length=params["features"]["window_length"],
    ).eval()
    checkpoint = {"state_dict": model.state_dict(), "hyper_parameters": dict(model.hparams)}
    fp32 = export_checkpoint(checkpoint, params["export"])
    settings = params["variants"]
    int8 = settings["int8"]
    return model, {
        "fp32": fp32,
        "opt": variants.optimise(fp32, settings["optimisation_level"]),
        "int8": variants.quantise_int8(
            fp32,
            weight_type=int8["weight_type"],
            per_channel=int8["per_channel"],
            reduce_range=int8["reduce_range"],
            op_types=tuple(int8["op_types"]),
        ),
    }


def session(payload: bytes, threads: int, profile: str | None = None):
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    if profile:
        options.enable_profiling = True
        options.profile_file_prefix = profile
    return ort.InferenceSession(payload, options, providers=["CPUExecutionProvider"])


def blocks(
    calls: dict[str, tuple[Callable[[], object], Callable[[], object]]], total: int
) -> dict[str, list[float]]:
    """Per-call seconds: ``total`` calls per entry, in ``ROUNDS`` interleaved blocks."""
    per_block = max(1, total // ROUNDS)
    samples: dict[str, list[float]] = {name: [] for name in calls}
    for prepare, call in calls.values():
        prepare()
        for _ in range(min(per_block, 10)):
            call()
    for _ in range(ROUNDS):
        for name, (prepare, call) in calls.items():
            prepare()
            for _ in range(per_block):
                started = time.perf_counter()
                call()
                samples[name].append(time.perf_counter() - started)
    return samples


def op_shares(payload: bytes, windows: np.ndarray, threads: int) -> dict[str, float]:
    """Share of onnxruntime's kernel time per op type over 10 calls at this batch."""
    with tempfile.TemporaryDirectory() as folder:
        profiled = session(payload, threads, profile=str(Path(folder) / "profile"))
        for _ in range(10):
            profiled.run(None, {"window": windows})
        events = json.loads(Path(profiled.end_profiling()).read_text())
    spent: Counter[str] = Counter()
    for event in events:
        if event.get("cat") == "Node" and event["name"].endswith("_kernel_time"):
            spent[event["args"]["op_name"]] += event["dur"]
    total = sum(spent.values()) or 1
    return {op: spent[op] / total for op, _ in spent.most_common(4)}


def measure(
    label: str, hidden: int, layers: int, params: dict, args
) -> tuple[list[list[str]], dict[str, float]]:
    """Table rows for one model size, and its goal figures (worst thread count of the best
    variant at each batch size; int8 size ratio)."""
    import torch

    print(f"[variants] {label}: export, optimise, quantise ...", flush=True)
    model, files = build_models(hidden, layers, params)
    payloads = {name: proto.SerializeToString() for name, proto in files.items()}
    length = params["features"]["window_length"]
    windows = np.random.default_rng(0).standard_normal((BIG_BATCH, length, 6)).astype(np.float32)
    created = {name: [] for name in payloads}
    for _ in range(3 if args.quick else 7):
        for name, payload in payloads.items():
            created[name].append(c.timed(lambda p=payload: session(p, 1))[0])
    with torch.inference_mode():
        expected = model(torch.from_numpy(windows)).numpy()
    rows = []
    best: dict[str, list[float]] = {"b1": [], "b256": []}
    for threads in (1, 2):
        sessions = {name: session(p, threads) for name, p in payloads.items()}
        for name, ort_session in sessions.items():
            error = np.abs(ort_session.run(None, {"window": windows})[0] - expected).max()
            print(f"  {name}, {threads} thread(s): max |onnx - torch| {error:.2e}")
        figures: dict[int, dict[str, list[float]]] = {}
        for batch, total in ((1, 60 if args.quick else 500), (BIG_BATCH, 5 if args.quick else 20)):
            numpy_batch = windows[:batch].copy()
            torch_batch = torch.from_numpy(numpy_batch)

            def torch_call(tensor=torch_batch):
                with torch.inference_mode():
                    return model(tensor)

            calls = {"torch": (lambda t=threads: torch.set_num_threads(t), torch_call)}
            for name, ort_session in sessions.items():
                calls[name] = (
                    lambda: None,
                    lambda s=ort_session, b=numpy_batch: s.run(None, {"window": b}),
                )
            figures[batch] = blocks(calls, total)
        p50 = {n: c.percentile(s, 50) for n, s in figures[1].items()}
        p95 = {n: c.percentile(s, 95) for n, s in figures[1].items()}
        rate = {n: BIG_BATCH / c.median(s) for n, s in figures[BIG_BATCH].items()}
        best["b1"].append(max(p50["torch"] / p50[n] for n in payloads))
        best["b256"].append(max(rate[n] / rate["torch"] for n in payloads))
        for name in ("torch", *payloads):
            is_onnx = name != "torch"
            rows.append(
                [
                    label,
                    str(threads),
                    name,
                    c.fmt_seconds(p50[name]),
                    c.fmt_seconds(p95[name]),
                    f"{p50['torch'] / p50[name]:.2f}x" if is_onnx else "",
                    f"{rate[name]:.0f}",
                    f"{rate[name] / rate['torch']:.2f}x" if is_onnx else "",
                    c.fmt_seconds(statistics.median(created[name])) if is_onnx else "",
                    c.fmt_bytes(len(payloads[name])) if is_onnx else "",
                    f"{len(payloads[name]) / len(payloads['fp32']):.2f}" if is_onnx else "",
                ]
            )
    if args.profile:
        for name in ("fp32", "int8"):
            for threads in (1, 2):
                shares = op_shares(payloads[name], windows, threads)
                text = ", ".join(f"{op} {share:.0%}" for op, share in shares.items())
                print(f"  profile {name}, batch {BIG_BATCH}, {threads} thread(s): {text}")
    goals = {
        "b1": min(best["b1"]),
        "b256": min(best["b256"]),
        "int8_size": len(payloads["int8"]) / len(payloads["fp32"]),
    }
    return rows, goals


def main() -> None:
    parsed = c.parser(__doc__.splitlines()[0])
    parsed.add_argument("--profile", action="store_true", help="op shares at batch 256")
    args = parsed.parse_args(sys.argv[1:])
    import onnxruntime
    import torch

    from lstm_forecast.onnx.optimisation import cpu_flags

    logging.disable(logging.WARNING)
    warnings.filterwarnings("ignore")
    params = c.load_params()
    print(
        f"[variants] CPU flags that matter: {', '.join(cpu_flags()) or 'none found'}; "
        f"onnxruntime {onnxruntime.__version__}, torch {torch.__version__}",
        flush=True,
    )
    sizes = SIZES[:1] if args.quick else SIZES
    rows, goals = [], {}
    for label, hidden, layers in sizes:
        found, goals[label] = measure(label, hidden, layers, params, args)
        rows += found
    print()
    print(
        f"Window {params['features']['window_length']} x 6 features, horizon "
        f"{params['features']['horizon']}, {len(params['training']['quantiles'])} quantiles. "
        "Speed-ups are against torch eager at the same thread count."
    )
    c.print_table(
        [
            "model",
            "threads",
            "runtime",
            "p50 b1",
            "p95 b1",
            "speed-up b1",
            f"windows/s b{BIG_BATCH}",
            f"speed-up b{BIG_BATCH}",
            "session",
            "file",
            "size",
        ],
        rows,
    )
    summary = []
    for label, figures in goals.items():
        summary += [
            c.summary_row(
                f"6. best variant vs torch, batch {batch}, worse of 1/2 threads ({label})",
                ours="best of fp32/opt/int8",
                reference="torch eager",
                ratio=f"{figures[key]:.2f}x faster",
                goal=f">= {goal}x",
                met=figures[key] >= goal,
            )
            for key, batch, goal in (("b1", 1, GOAL_BATCH1), ("b256", BIG_BATCH, GOAL_BATCH256))
        ]
        summary.append(
            c.summary_row(
                f"6. int8 file size / fp32 ({label})",
                ours=f"{figures['int8_size']:.2f} of fp32",
                reference="fp32",
                ratio=f"{figures['int8_size']:.2f}",
                goal=f"<= {GOAL_SIZE:.2f}",
                met=figures["int8_size"] <= GOAL_SIZE,
            )
        )
        print(
            f"{label}: best variant {figures['b1']:.2f}x torch at batch 1 and "
            f"{figures['b256']:.2f}x at batch {BIG_BATCH} (worse of 1 and 2 threads); "
            f"int8 file {figures['int8_size']:.2f} of fp32."
        )
    c.write_summary(args.summary, summary)


if __name__ == "__main__":
    main()
