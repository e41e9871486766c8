"""Question 6: what the self-contained forecaster.onnx costs next to model.onnx.

Both published files of one run (``data/06_models`` after `make run`, or ``--models DIR``;
``--quick`` without them: a `kedro run --env=smoke`'s, ``_quick.smoke_project``),
in onnxruntime with the project's ``onnxruntime`` settings, on real windows of the
shipped CSV:

- ``forecaster.onnx``: raw candles and open times in, prices out (features in the graph);
- ``model.onnx``: scaled windows in, scaled quantiles out (features prepared beforehand);
- ``model.onnx + numpy``: what a caller of model.onnx runs per call to get the same prices
  (``compute_features`` -> scaler -> model.onnx -> prices, the Python path).

Latency: p50 of single calls at batch 1; throughput: windows/s at batch 256 (median call).
Variants are interleaved in rounds so machine noise hits all of them alike. Also the two
file sizes.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as c
import _quick
from bench_inference import ROUNDS, latencies

BIG_BATCH = 256


def main() -> None:
    parsed = c.parser(__doc__.splitlines()[0])
    parsed.add_argument("--models", type=Path, default=c.ROOT / "data" / "06_models")
    args = parsed.parse_args(sys.argv[1:])
    with tempfile.TemporaryDirectory(prefix="bench-forecaster-") as tmp:
        if args.quick and not (args.models / "forecaster.onnx").exists():
            # A fresh clone has published nothing: --quick times a smoke run's files, so the
            # script runs (and cannot rot) without a `make run` first (as bench_serving.py).
            print("[forecaster] no published model: a `kedro run --env=smoke`'s files ...")
            args.models = _quick.smoke_project(Path(tmp) / "project") / "data" / "06_models"
        _bench(args)


def _bench(args: argparse.Namespace) -> None:
    import onnx
    import pandas as pd

    from lstm_forecast.onnx.contract import (
        CLOSE_QUANTILES,
        INPUT_NAME,
        OUTPUT_NAME,
        OnnxContract,
        make_session,
    )
    from lstm_forecast.timeseries.features import compute_features, scale_features
    from lstm_forecast.timeseries.targets import forecast_to_price
    from lstm_forecast.timeseries.windows import gather_windows

    files = {name: args.models / f"{name}.onnx" for name in ("forecaster", "model")}
    if not all(path.exists() for path in files.values()):
        missing = f"not run: {files['forecaster']} or {files['model']} missing (`make run` first)"
        print(f"[forecaster] {missing}")
        c.write_summary(
            args.summary,
            [
                c.summary_row(
                    "6. forecaster.onnx", ours=missing, reference="", ratio="", goal="", met=None
                )
            ],
        )
        return
    runtime = c.load_params()["onnxruntime"]
    contract = OnnxContract.from_model(onnx.load(files["model"]))
    forecaster = make_session(files["forecaster"].read_bytes(), runtime)
    model = make_session(files["model"].read_bytes(), runtime)
    length = contract.window_length

    # The CSV's last windows, as raw inputs and as prepared windows.
    table = pd.read_csv(c.RAW_CSV, index_col=0)
    table = table.assign(timestamp=pd.to_datetime(table["timestamp"], utc=True), segment=0)
    candles = table[["open", "high", "low", "close", "volume"]].to_numpy(dtype=np.float64)
    times = pd.DatetimeIndex(table["timestamp"]).as_unit("s").asi8[:, None]
    ends = np.arange(len(table) - BIG_BATCH, len(table))
    raw = {
        "candles": np.ascontiguousarray(gather_windows(candles, ends, contract.input_length)),
        "open_time": np.ascontiguousarray(
            gather_windows(times, ends, contract.input_length)[:, :, 0]
        ),
    }
    names = list(contract.feature_names)
    scaler = contract.scaler
    prepared = np.ascontiguousarray(
        gather_windows(
            scale_features(
                compute_features(table, names).to_numpy(),
                scaler.feature_mean,
                scaler.feature_scale,
            ),
            ends,
            length,
        )
    )

    def numpy_path(rows: pd.DataFrame, batch: int) -> np.ndarray:
        # Features of the last `batch` windows' bars, then model.onnx, then prices.
        matrix = scale_features(
            compute_features(rows, names).to_numpy(), scaler.feature_mean, scaler.feature_scale
        )
        last = np.arange(len(rows) - batch, len(rows))
        scaled = model.run([OUTPUT_NAME], {INPUT_NAME: gather_windows(matrix, last, length)})[0]
        return forecast_to_price(
            scaled,
            rows["close"].to_numpy(dtype=np.float64)[last],
            target_mean=list(scaler.target_mean),
            target_scale=list(scaler.target_scale),
            kind=contract.target_kind,
        )

    def variants(batch: int) -> dict[str, tuple]:
        inputs = {name: value[-batch:] for name, value in raw.items()}
        windows = prepared[-batch:]
        rows = table.iloc[-(batch + contract.input_length - 1) :].reset_index(drop=True)
        return {
            "forecaster.onnx (raw candles)": (
                lambda: None,
                lambda: forecaster.run([CLOSE_QUANTILES], inputs),
            ),
            "model.onnx (prepared windows)": (
                lambda: None,
                lambda: model.run([OUTPUT_NAME], {INPUT_NAME: windows}),
            ),
            "model.onnx + numpy features": (lambda: None, lambda: numpy_path(rows, batch)),
        }

    same = forecaster.run([CLOSE_QUANTILES], raw)[0]
    relative = np.abs(same - numpy_path(table, BIG_BATCH)) / same
    print(f"[forecaster] {BIG_BATCH} windows: max relative price difference {relative.max():.2e}")

    # --quick (does each variant run?): 2 calls and 1 call, in one round.
    calls_single, calls_big, rounds = (2, 1, 1) if args.quick else (2000, 100, ROUNDS)
    print(f"[forecaster] batch 1: {calls_single} calls per variant ...", flush=True)
    one = latencies(variants(1), calls_single, rounds)
    print(f"[forecaster] batch {BIG_BATCH}: {calls_big} calls per variant ...", flush=True)
    big = latencies(variants(BIG_BATCH), calls_big, rounds)

    p50 = {name: c.percentile(s, 50) for name, s in one.items()}
    rate = {name: BIG_BATCH / c.median(s) for name, s in big.items()}
    ours = "forecaster.onnx (raw candles)"
    rows = [
        [
            name,
            c.fmt_seconds(p50[name]),
            f"{p50[name] / p50[ours]:.2f}x",
            c.fmt_seconds(c.median(big[name])),
            f"{rate[name]:.0f}",
            f"{rate[ours] / rate[name]:.2f}x",
        ]
        for name in one
    ]
    print()
    print(
        f"window {length}, horizon {contract.horizon}, {len(contract.quantiles)} quantiles, "
        f"{contract.model_kind}; onnxruntime {runtime}; {rounds} interleaved rounds. "
        "Ratios: this variant's time / the forecaster's (above 1 = the forecaster is faster)."
    )
    c.print_table(
        [
            "variant",
            "p50 batch 1",
            "vs forecaster",
            f"median batch {BIG_BATCH}",
            "windows/s",
            "vs forecaster",
        ],
        rows,
    )
    sizes = {name: path.stat().st_size for name, path in files.items()}
    print(
        f"\nfile sizes: forecaster.onnx {c.fmt_bytes(sizes['forecaster'])}, model.onnx "
        f"{c.fmt_bytes(sizes['model'])} ({sizes['forecaster'] / sizes['model']:.2f}x)"
    )
    model_name = "model.onnx (prepared windows)"
    c.write_summary(
        args.summary,
        [
            c.summary_row(
                "6. forecaster.onnx latency batch 1 (p50)",
                ours=f"{c.fmt_seconds(p50[ours])} forecaster",
                reference=f"{c.fmt_seconds(p50[model_name])} model.onnx",
                ratio=f"{p50[ours] / p50[model_name]:.2f}x the time",
                goal="report",
                met=None,
            ),
            c.summary_row(
                f"6. forecaster.onnx throughput batch {BIG_BATCH}",
                ours=f"{rate[ours]:.0f}/s forecaster",
                reference=f"{rate[model_name]:.0f}/s model.onnx",
                ratio=f"{rate[model_name] / rate[ours]:.2f}x the time",
                goal="report",
                met=None,
            ),
        ],
    )


if __name__ == "__main__":
    main()
