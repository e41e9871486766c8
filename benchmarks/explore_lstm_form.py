"""Why onnxruntime loses to torch at batch 256, and what the LSTM's form changes.

Measures, interleaved, at batch 1 and 256 with 1 thread: torch eager with and without
oneDNN (mkldnn), and onnxruntime on (a) the exported graph with its ONNX ``LSTM`` op at
each graph optimisation level, (b) its int8 variant, (c) the same network unrolled over
the window into MatMul/Sigmoid/Tanh nodes (exported from a hand-written cell loop: fixed
window length, so not a drop-in replacement), and prints the op shares of each graph.
"""

from __future__ import annotations

import logging
import sys
import tempfile
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as c
import _runtimes as R

HIDDEN, WINDOW, FEATURES, HORIZON, QUANTILES = 32, 48, 6, 24, 7


def main() -> None:
    args = c.parser(__doc__.splitlines()[0]).parse_args(sys.argv[1:])
    import onnxruntime as ort
    import torch
    from torch import nn

    from lstm_forecast.models.lstm_export import export_checkpoint
    from lstm_forecast.models.lstm_network import LSTMForecaster
    from lstm_forecast.onnx import optimisation as variants

    logging.disable(logging.WARNING)
    warnings.filterwarnings("ignore")
    hidden = int(sys.argv[sys.argv.index("--hidden") + 1]) if "--hidden" in sys.argv else HIDDEN
    torch.manual_seed(0)
    model = LSTMForecaster(
        n_features=FEATURES,
        horizon=HORIZON,
        quantiles=tuple((i + 1) / (QUANTILES + 1) for i in range(QUANTILES)),
        hidden_size=hidden,
        window_length=WINDOW,
    ).eval()
    checkpoint = {"state_dict": model.state_dict(), "hyper_parameters": dict(model.hparams)}
    export = {"exporter": "dynamo", "opset": 18, "dynamic_window": True, "isolate_process": True}
    fp32 = export_checkpoint(checkpoint, export)

    class Unrolled(nn.Module):
        """The same network with the LSTM written as a cell loop over a fixed window."""

        def __init__(self, source: LSTMForecaster) -> None:
            super().__init__()
            lstm = source.lstm
            self.w_ih = nn.Parameter(lstm.weight_ih_l0.detach().T.contiguous())
            self.w_hh = nn.Parameter(lstm.weight_hh_l0.detach().T.contiguous())
            self.bias = nn.Parameter((lstm.bias_ih_l0 + lstm.bias_hh_l0).detach())
            self.source = source

        def forward(self, window: torch.Tensor) -> torch.Tensor:
            projected = window @ self.w_ih + self.bias  # every step's input at once
            h = window.new_zeros(window.shape[0], self.w_hh.shape[0])
            cell = h
            for step in range(WINDOW):
                gates = projected[:, step] + h @ self.w_hh
                i, f, g, o = gates.chunk(4, dim=-1)
                cell = torch.sigmoid(f) * cell + torch.sigmoid(i) * torch.tanh(g)
                h = torch.sigmoid(o) * torch.tanh(cell)
            head = self.source.head(h).unflatten(-1, (HORIZON, QUANTILES))
            increments = nn.functional.softplus(head[..., 1:])
            return torch.cat([head[..., :1], head[..., :1] + torch.cumsum(increments, -1)], -1)

    unrolled_module = Unrolled(model).eval()
    with torch.no_grad():
        program = torch.onnx.export(
            unrolled_module,
            (torch.zeros(2, WINDOW, FEATURES),),
            dynamo=True,
            input_names=["window"],
            output_names=["forecast"],
            dynamic_shapes={"window": {0: torch.export.Dim("batch", min=1)}},
        )
    unrolled = program.model_proto
    files = {
        "LSTM op, opt disable": (fp32, "disable"),
        "LSTM op, opt basic": (fp32, "basic"),
        "LSTM op, opt extended": (fp32, "extended"),
        "LSTM op, opt all": (fp32, "all"),
        "LSTM op, int8": (variants.quantise_int8(fp32), "all"),
        "unrolled cells": (unrolled, "all"),
    }
    levels = {
        "disable": ort.GraphOptimizationLevel.ORT_DISABLE_ALL,
        "basic": ort.GraphOptimizationLevel.ORT_ENABLE_BASIC,
        "extended": ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED,
        "all": ort.GraphOptimizationLevel.ORT_ENABLE_ALL,
    }

    def session(proto, level: str, profile: str | None = None):
        options = ort.SessionOptions()
        options.intra_op_num_threads = options.inter_op_num_threads = 1
        options.graph_optimization_level = levels[level]
        if profile:
            options.enable_profiling = True
            options.profile_file_prefix = profile
        return ort.InferenceSession(
            proto.SerializeToString(), options, providers=["CPUExecutionProvider"]
        )

    torch.set_num_threads(1)
    windows = np.random.default_rng(0).standard_normal((256, WINDOW, FEATURES)).astype(np.float32)
    with torch.inference_mode():
        expected = model(torch.from_numpy(windows)).numpy()
    sessions = {name: session(proto, level) for name, (proto, level) in files.items()}
    for name, s in sessions.items():
        error = np.abs(s.run(None, {"window": windows})[0] - expected).max()
        nodes = len(files[name][0].graph.node)
        print(f"[lstm form] {name}: max |onnx - torch| {error:.1e}, {nodes} nodes")

    rows = []
    for batch, calls in ((1, 40 if args.quick else 300), (256, 4 if args.quick else 15)):
        numpy_batch, torch_batch = windows[:batch].copy(), torch.from_numpy(windows[:batch].copy())

        def eager(mkldnn: bool, tensor=torch_batch):
            with torch.inference_mode(), torch.backends.mkldnn.flags(enabled=mkldnn):
                return model(tensor)

        funcs = {
            "torch eager (oneDNN on)": lambda: eager(True),
            "torch eager (oneDNN off)": lambda: eager(False),
        } | {
            f"onnxruntime {name}": (lambda s=s, b=numpy_batch: s.run(None, {"window": b}))
            for name, s in sessions.items()
        }
        samples = c.interleaved_medians(funcs, calls, warmup=2)
        torch_median = c.median(samples["torch eager (oneDNN on)"])
        for name, values in samples.items():
            rows.append(
                [
                    str(batch),
                    name,
                    c.fmt_seconds(c.median(values)),
                    f"{torch_median / c.median(values):.2f}x",
                ]
            )
    print(
        f"\nHidden {hidden}, window {WINDOW}, 1 thread; speed-up against torch eager with oneDNN."
    )
    c.print_table(["batch", "runtime", "median call", "speed-up"], rows)

    for name in ("LSTM op, opt all", "LSTM op, int8", "unrolled cells"):
        proto, level = files[name]
        with tempfile.TemporaryDirectory() as folder:
            profiled = session(proto, level, str(Path(folder) / "p"))
            for _ in range(5):
                profiled.run(None, {"window": windows})
            spent = R.kernel_time_by_op(profiled.end_profiling())
        total = sum(spent.values())
        shares = ", ".join(f"{op} {t / total:.0%}" for op, t in spent.most_common(5))
        print(
            f"[profile, batch 256] {name}: {total / 5 / 1e3:.1f} ms of kernels per call: {shares}"
        )


if __name__ == "__main__":
    main()
