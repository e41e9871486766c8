"""Question 4: torch eager against onnxruntime for the exported LSTM.

The model is the project's ``LSTMForecaster`` with the project's model parameters, window
length and feature count, with seeded random weights (speed does not depend on the
values). It is exported with ``export_module`` and the project's ``export`` settings,
and run by ``make_session`` with the project's top-level ``onnxruntime`` settings, plus a
few other session settings for comparison. Torch runs in eval mode under
``torch.inference_mode`` with as many intra-op threads as the session it is compared with.

Latency: p50/p95 of single calls at batch 1. Throughput: windows/s at batch 256 (median
call). Variants are interleaved in rounds so machine noise hits all of them alike.
"""

from __future__ import annotations

import logging
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as c

GOAL_BATCH1 = 1.5
GOAL_BATCH256 = 1.15
BIG_BATCH = 256
ROUNDS = 5


Variant = tuple[Callable[[], object], Callable[[], object]]  # (prepare a block, one call)


def latencies(
    variants: dict[str, Variant], calls: int, rounds: int = ROUNDS
) -> dict[str, list[float]]:
    """Per-call seconds of each variant: ``calls`` calls each, split over interleaved rounds."""
    per_round = max(1, calls // rounds)
    samples: dict[str, list[float]] = {name: [] for name in variants}
    for prepare, func in variants.values():
        prepare()
        for _ in range(min(per_round, 20)):  # warm-up: allocator, thread pools, caches
            func()
    for _ in range(rounds):
        for name, (prepare, func) in variants.items():
            prepare()
            for _ in range(per_round):
                started = time.perf_counter()
                func()
                samples[name].append(time.perf_counter() - started)
    return samples


def main() -> None:
    args = c.parser(__doc__.splitlines()[0]).parse_args(sys.argv[1:])
    import torch

    from lstm_forecast.models.lstm_export import export_module
    from lstm_forecast.models.lstm_network import LSTMForecaster
    from lstm_forecast.onnx.contract import INPUT_NAME, OUTPUT_NAME, make_session

    # The exporter's progress lines and deprecation notes are not benchmark output.
    logging.disable(logging.WARNING)
    warnings.filterwarnings("ignore")

    # --quick: the smoke settings' model (window 12, hidden 8); the dynamo export's time
    # grows with the window.
    params = c.load_config("parameters", "smoke") if args.quick else c.load_params()
    length = params["features"]["window_length"]
    n_features = 6
    project_runtime = params["onnxruntime"]
    torch.manual_seed(params["training"]["seed"])
    lstm = params["training"]["lstm"]
    model = LSTMForecaster(
        n_features=n_features,
        horizon=params["features"]["horizon"],
        quantiles=params["training"]["quantiles"],
        window_length=length,
        feature_names=[f"f{i}" for i in range(n_features)],
        **{k: lstm[k] for k in ("hidden_size", "num_layers", "dropout")},
    ).eval()
    print("[inference] exporting with the export settings ...", flush=True)
    onnx_bytes = export_module(model, params["export"])

    runtimes = {
        "project": project_runtime,
        "intra 2": {**project_runtime, "intra_op_num_threads": 2},
        "opt basic": {**project_runtime, "graph_optimization_level": "basic"},
        "opt disable": {**project_runtime, "graph_optimization_level": "disable"},
    }
    sessions = {name: make_session(onnx_bytes, rt) for name, rt in runtimes.items()}
    project_threads = int(project_runtime.get("intra_op_num_threads", 0)) or 1

    rng = np.random.default_rng(0)
    windows = rng.standard_normal((BIG_BATCH, length, n_features)).astype(np.float32)
    single = windows[:1].copy()
    torch_single, torch_big = torch.from_numpy(single), torch.from_numpy(windows)

    with torch.inference_mode():
        reference = model(torch_big).numpy()
    for name, session in sessions.items():
        got = session.run([OUTPUT_NAME], {INPUT_NAME: windows})[0]
        print(f"[inference] {name}: max |onnx - torch| = {np.abs(got - reference).max():.2e}")

    def torch_call(batch: torch.Tensor, threads: int) -> Variant:
        def call() -> object:
            with torch.inference_mode():
                return model(batch)

        # Thread count is set once per block: changing it per call would time the pool.
        return (lambda: torch.set_num_threads(threads)), call

    def ort_call(name: str, batch: np.ndarray) -> Variant:
        session = sessions[name]
        return (lambda: None), (lambda: session.run([OUTPUT_NAME], {INPUT_NAME: batch}))

    def variants(batch_np: np.ndarray, batch_t: torch.Tensor) -> dict[str, Variant]:
        found = {
            f"torch eager, {project_threads} thread(s)": torch_call(batch_t, project_threads),
            "torch eager, 2 threads": torch_call(batch_t, 2),
        }
        found |= {f"onnxruntime {name}": ort_call(name, batch_np) for name in sessions}
        return found

    # --quick (does each variant run?): 2 calls and 1 call, in one round.
    calls_single, calls_big, rounds = (2, 1, 1) if args.quick else (2000, 100, ROUNDS)
    print(f"[inference] batch 1: {calls_single} calls per variant ...", flush=True)
    one = latencies(variants(single, torch_single), calls_single, rounds)
    print(f"[inference] batch {BIG_BATCH}: {calls_big} calls per variant ...", flush=True)
    big = latencies(variants(windows, torch_big), calls_big, rounds)

    torch_name = f"torch eager, {project_threads} thread(s)"
    p50 = {name: c.percentile(s, 50) for name, s in one.items()}
    p95 = {name: c.percentile(s, 95) for name, s in one.items()}
    rate = {name: BIG_BATCH / c.median(s) for name, s in big.items()}

    def compared_with(name: str) -> str:
        # Each session is compared with torch at the same intra-op thread count.
        return "torch eager, 2 threads" if name == "onnxruntime intra 2" else torch_name

    rows = []
    for name in one:
        base = compared_with(name)
        rows.append(
            [
                name,
                c.fmt_seconds(p50[name]),
                c.fmt_seconds(p95[name]),
                f"{rate[name]:.0f}",
                "" if name.startswith("torch") else f"{p50[base] / p50[name]:.2f}x",
                "" if name.startswith("torch") else f"{rate[name] / rate[base]:.2f}x",
            ]
        )
    print()
    print(
        f"Inference, window {length} x {n_features} features, hidden "
        f"{lstm['hidden_size']}; onnxruntime 'project' = "
        f"{project_runtime}. Speed-ups are against torch at the same thread count."
    )
    c.print_table(
        [
            "variant",
            "p50 batch 1",
            "p95 batch 1",
            f"windows/s @{BIG_BATCH}",
            "speed-up b1 (p50)",
            f"speed-up b{BIG_BATCH}",
        ],
        rows,
    )

    ours = "onnxruntime project"
    speed1 = p50[torch_name] / p50[ours]
    speed256 = rate[ours] / rate[torch_name]
    c.write_summary(
        args.summary,
        [
            c.summary_row(
                "4. inference latency batch 1 (p50/p95)",
                ours=f"{c.fmt_seconds(p50[ours])}/{c.fmt_seconds(p95[ours])} ORT",
                reference=(
                    f"{c.fmt_seconds(p50[torch_name])}/{c.fmt_seconds(p95[torch_name])} torch"
                ),
                ratio=f"{speed1:.2f}x faster",
                goal=f">= {GOAL_BATCH1}x",
                met=speed1 >= GOAL_BATCH1,
            ),
            c.summary_row(
                f"4. inference throughput batch {BIG_BATCH}",
                ours=f"{rate[ours]:.0f}/s ORT",
                reference=f"{rate[torch_name]:.0f}/s torch",
                ratio=f"{speed256:.2f}x faster",
                goal=f">= {GOAL_BATCH256}x",
                met=speed256 >= GOAL_BATCH256,
            ),
        ],
    )


if __name__ == "__main__":
    main()
