"""Question 6: torch, onnxruntime fp32 / opt / int8, OpenVINO; batch 1 / 64 / 256; 1 and 2 threads.

Each model is the project's ``LSTMForecaster`` with seeded random weights (speed does not
depend on the values), exported by ``export_checkpoint`` with the project's export settings;
``opt`` and ``int8`` come from ``lstm_forecast.onnx.optimisation`` with the default
``params:variants``.
OpenVINO (when installed) reads the same ONNX files through ``lstm_forecast.onnx.runtimes``:
fp32 (dynamic shape, and a static shape compiled per batch size), the int8 file, and fp32
computed in bf16. Torch runs in eval mode under ``torch.inference_mode`` with as many
threads as the runtimes it is compared with. Every runtime's output on 256 windows is first
compared with onnxruntime fp32 (``_runtimes.check``); one outside tolerance is not timed.
Per batch size, the median call; runtimes are timed in blocks of calls, interleaved over
rounds, so machine drift hits all alike. Also: onnxruntime's session settings at batch 256
(threads, arena, spinning, graph level), and with ``--profile`` where the time goes at
batch 256 (onnxruntime's profiler, OpenVINO's per-node counters). Prints the load average.
"""

from __future__ import annotations

import logging
import os
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as c
import _runtimes as R

BIG_BATCH = 256
BATCHES = (1, 64, BIG_BATCH)
ROUNDS = 5
# (label, hidden size, layers): the default model and a larger one.
SIZES = (("default h32", 32, 1), ("large h128x2", 128, 2))
GOAL_BATCH1, GOAL_BATCH256, GOAL_SIZE = 4.0, 2.0, 1 / 3


_BUILT: dict[tuple[int, int], tuple[object, dict[str, object]]] = {}


def build_models(hidden: int, layers: int, params: dict) -> tuple[object, dict[str, object]]:
    """The torch model and its fp32 / opt / int8 ONNX files (made once per size)."""
    if (hidden, layers) not in _BUILT:
        _BUILT[hidden, layers] = _build_models(hidden, layers, params)
    return _BUILT[hidden, layers]


def _build_models(hidden: int, layers: int, params: dict) -> tuple[object, dict[str, object]]:
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


def blocks(
    calls: dict[str, tuple[Callable[[], object], Callable[[], object]]],
    total: int,
    rounds: int = ROUNDS,
) -> dict[str, list[float]]:
    """Per-call seconds: ``total`` calls per entry, in ``rounds`` interleaved blocks."""
    per_block = max(1, total // rounds)
    samples: dict[str, list[float]] = {name: [] for name in calls}
    for prepare, call in calls.values():
        prepare()
        for _ in range(min(per_block, 10)):
            call()
    for _ in range(rounds):
        for name, (prepare, call) in calls.items():
            prepare()
            for _ in range(per_block):
                started = time.perf_counter()
                call()
                samples[name].append(time.perf_counter() - started)
    return samples


def validated(factories: dict, threads: int, windows: np.ndarray, reference: np.ndarray):
    """The runtimes whose output is within tolerance of onnxruntime fp32, and every error."""
    kept, errors = {}, {}
    for name, factory in factories.items():
        prepare, call = factory(threads)
        prepare()
        errors[name], ok = R.check(name, call(windows), reference)
        if ok:
            kept[name] = (prepare, call)
        else:
            print(f"  {name}, {threads} thread(s): REFUSED, error {errors[name]:.2e}; not timed")
    return kept, errors


def measure(label: str, hidden: int, layers: int, params: dict, args) -> tuple[list, dict]:
    """Table rows for one model size, and per (threads, batch) each runtime's speed-up."""
    print(f"[variants] {label}: export, optimise, quantise ...", flush=True)
    model, files = build_models(hidden, layers, params)
    payloads = {name: proto.SerializeToString() for name, proto in files.items()}
    length = params["features"]["window_length"]
    windows = np.random.default_rng(0).standard_normal((BIG_BATCH, length, 6)).astype(np.float32)
    reference = R.ort_session(payloads["fp32"], 1).run(None, {"window": windows})[0]
    factories = R.runtimes(model, payloads, openvino=args.openvino)
    # --quick: one warm-up and one timed call per runtime and batch (does each run?).
    calls = {1: 1, 64: 1, BIG_BATCH: 1} if args.quick else {1: 500, 64: 60, BIG_BATCH: 40}
    rows, speedups = [], {}
    for threads in (1, 2):
        kept, errors = validated(factories, threads, windows, reference)
        medians = {}
        for batch in BATCHES:
            part = windows[:batch].copy()
            timed = {n: (prep, lambda f=call, x=part: f(x)) for n, (prep, call) in kept.items()}
            found = blocks(timed, calls[batch], args.rounds)
            medians[batch] = {n: c.median(s) for n, s in found.items()}
            speedups[threads, batch] = {
                n: medians[batch]["torch"] / m for n, m in medians[batch].items() if n != "torch"
            }
        for name in factories:
            cells = [label, str(threads), name, f"{errors[name]:.1e}"]
            for batch in BATCHES:
                if name not in kept:
                    cells += ["refused", ""]
                    continue
                seconds = medians[batch][name]
                shown = c.fmt_seconds(seconds) if batch == 1 else f"{batch / seconds:,.0f}/s"
                ratio = speedups[threads, batch].get(name)
                cells += [shown, f"{ratio:.2f}x" if ratio else ""]
            size = len(payloads.get(name.split()[-1], b""))
            cells.append(c.fmt_bytes(size) if name.startswith("ort") else "")
            rows.append(cells)
    if args.profile:
        profile(payloads, windows, args)
    speedups["int8_size"] = len(payloads["int8"]) / len(payloads["fp32"])
    return rows, speedups


def settings_sweep(params: dict, args) -> None:
    """onnxruntime's session settings at batch 256, against the project's, torch alongside."""
    model, files = build_models(32, 1, params)
    length = params["features"]["window_length"]
    batch = np.random.default_rng(1).standard_normal((BIG_BATCH, length, 6)).astype(np.float32)
    torch_factory = R.runtimes(model, {}, openvino=False)["torch"]
    rows = []
    for name in ("fp32", "int8"):
        payload = files[name].SerializeToString()
        for threads in (1, 2):
            calls = {"torch": torch_factory(threads)}
            for label, settings in R.ORT_SETTINGS.items():
                session = R.ort_session(payload, threads, **settings)
                calls[label] = (lambda: None, lambda x, s=session: s.run(None, {"window": x}))
            timed = {n: (prep, lambda f=call: f(batch)) for n, (prep, call) in calls.items()}
            found = blocks(timed, 1 if args.quick else 30, args.rounds)
            medians = {n: c.median(s) for n, s in found.items()}
            base = medians[next(iter(R.ORT_SETTINGS))]
            for label in R.ORT_SETTINGS:
                rows.append(
                    [
                        name,
                        str(threads),
                        label,
                        c.fmt_seconds(medians[label]),
                        f"{base / medians[label]:.2f}x",
                        f"{medians['torch'] / medians[label]:.2f}x",
                    ]
                )
    print(f"\nonnxruntime session settings at batch {BIG_BATCH} (default model):")
    c.print_table(["file", "threads", "setting", "median call", "vs project", "vs torch"], rows)


def profile(payloads: dict[str, bytes], windows: np.ndarray, args) -> None:
    """Where the time goes at batch 256 (and 1): onnxruntime's profiler, OpenVINO's counters."""
    for batch in (1, BIG_BATCH):
        part = windows[:batch].copy()
        for threads in (1, 2):
            for name in ("fp32", "int8"):
                shares = R.ort_op_shares(payloads[name], part, threads)
                text = ", ".join(f"{op} {share:.0%}" for op, share in shares.items())
                print(f"  profile ort {name}, batch {batch}, {threads} thread(s): {text}")
            if args.openvino:
                shares = R.ov_op_shares(payloads["fp32"], part, threads)
                text = ", ".join(f"{op} {share:.0%}" for op, share in shares.items())
                print(f"  profile ov fp32, batch {batch}, {threads} thread(s): {text}")


def main() -> None:
    parsed = c.parser(__doc__.splitlines()[0])
    parsed.add_argument("--profile", action="store_true", help="where the time goes")
    parsed.add_argument("--no-settings", action="store_true", help="skip the onnxruntime settings")
    args = parsed.parse_args(sys.argv[1:])
    args.rounds = 1 if args.quick else ROUNDS  # --quick asks only whether each one runs
    import onnxruntime
    import torch

    from lstm_forecast.onnx.optimisation import cpu_flags
    from lstm_forecast.onnx.runtimes import openvino_missing

    logging.disable(logging.WARNING)
    warnings.filterwarnings("ignore")
    missing = openvino_missing()
    args.openvino = missing is None
    versions = f"onnxruntime {onnxruntime.__version__}, torch {torch.__version__}, "
    if missing is None:
        import openvino

        versions += f"openvino {openvino.__version__}"
    else:
        versions += f"no OpenVINO ({missing})"
    # --quick: the smoke settings' window (12 bars), horizon and quantiles; the dynamo
    # export's time grows with the window.
    params = c.load_config("parameters", "smoke") if args.quick else c.load_params()
    print(
        f"[variants] CPU flags that matter: {', '.join(cpu_flags()) or 'none found'}; "
        f"{versions}; load average at start {os.getloadavg()}",
        flush=True,
    )
    sizes = SIZES[:1] if args.quick else SIZES
    rows, speedups = [], {}
    for label, hidden, layers in sizes:
        found, speedups[label] = measure(label, hidden, layers, params, args)
        rows += found
    print()
    print(
        f"Window {params['features']['window_length']} x 6 features, horizon "
        f"{params['features']['horizon']}, {len(params['training']['quantiles'])} quantiles. "
        "Error: max |runtime - onnxruntime fp32| / std, on 256 windows. Speed-ups are against "
        "torch eager at the same thread count, medians of the same run."
    )
    headers = ["model", "threads", "runtime", "error", "b1 median", "x torch"]
    for batch in BATCHES[1:]:
        headers += [f"b{batch} windows", "x torch"]
    c.print_table([*headers, "file"], rows)
    if not args.no_settings:
        settings_sweep(params, args)
    c.write_summary(args.summary, summarise(speedups))
    print(f"load average at the end {os.getloadavg()}")


def summarise(speedups: dict) -> list[dict]:
    """Goal rows: the best validated runtime per batch size, worse of 1 and 2 threads."""
    summary = []
    for label, figures in speedups.items():
        for batch, goal in ((1, GOAL_BATCH1), (BIG_BATCH, GOAL_BATCH256)):
            best = {t: max(figures[t, batch].items(), key=lambda item: item[1]) for t in (1, 2)}
            worse = min(best.values(), key=lambda item: item[1])
            text = ", ".join(f"{t} thread(s): {n} {r:.2f}x" for t, (n, r) in best.items())
            print(f"{label}, batch {batch}: best validated runtime {text}")
            summary.append(
                c.summary_row(
                    f"6. best validated runtime vs torch, batch {batch}, worse of 1/2 threads "
                    f"({label})",
                    ours=worse[0],
                    reference="torch eager",
                    ratio=f"{worse[1]:.2f}x faster",
                    goal=f">= {goal}x",
                    met=worse[1] >= goal,
                )
            )
        ratio = figures["int8_size"]
        print(f"{label}: int8 file {ratio:.2f} of fp32 (no contract metadata in this export)")
        summary.append(
            c.summary_row(
                f"6. int8 file size / fp32 ({label})",
                ours=f"{ratio:.2f} of fp32",
                reference="fp32",
                ratio=f"{ratio:.2f}",
                goal=f"<= {GOAL_SIZE:.2f}",
                met=ratio <= GOAL_SIZE,
            )
        )
    return summary


if __name__ == "__main__":
    main()
