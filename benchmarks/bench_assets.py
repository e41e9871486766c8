"""Many assets, years of hours: ingestion -> features -> training on ~300k bars.

Reads the four long hourly files of ``../shared/data/assets/`` (ETH, SOL, BNB, XRP on
Binance, 2017/2020-2025; never copied into the project) plus the shipped BTCUSDT year, and
runs the project's own nodes on them as one global model: each asset cleaned on its own,
features and windows over all of them, the scaler fit on the pooled training rows, then the
LSTM with the project's settings. Prints wall time per stage, peak RSS and training windows
per second (windows the optimiser saw, divided by the fit's wall time, validation included).

Per-epoch subsampling: ``training.lstm.trainer.limit_train_batches`` (``--batches-per-epoch``)
trains on that many random batches per epoch (the loader shuffles, so each epoch draws a new
subset); the full set is ~200k windows, about a minute per epoch on one core.

    python benchmarks/bench_assets.py [--quick] [--assets-dir DIR] [--epochs N]
"""

from __future__ import annotations

import json
import logging
import sys
import time
import warnings
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as c

# File -> (asset name, layout override). ETH's source writes epoch ms, newest first.
LONG_FILES = {
    "ethusdt_1h_binance_2017-08-17_2025-12-02.csv": ("ETHUSDT", {"source": {"epoch_unit": "ms"}}),
    "solusdt_1h_binance_2020-08-11_2026-01-06.csv": ("SOLUSDT", {}),
    "bnbusdt_1h_binance_2017-11-06_2026-01-06.csv": ("BNBUSDT", {}),
    "xrpusdt_1h_binance_2018-05-04_2026-01-06.csv": ("XRPUSDT", {}),
}
QUICK_BARS = 3000  # the last bars of each asset in --quick


def main() -> None:
    parser = c.parser(__doc__.splitlines()[0])
    parser.add_argument("--assets-dir", type=Path, default=c.ROOT.parent / "shared/data/assets")
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--batches-per-epoch", type=float, default=None)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    warnings.simplefilter("ignore")
    result = run(args)
    print(json.dumps(result, indent=2))
    c.write_summary(
        args.summary,
        [
            c.summary_row(
                "assets: ingestion -> features -> training, one global model",
                ours=(
                    f"{result['bars']:,} bars of {len(result['bars_by_asset'])} assets: "
                    f"{result['wall_s']:.1f} s, peak RSS {result['peak_rss_mib']:.0f} MiB, "
                    f"{result['training_windows_per_s']:.0f} training windows/s"
                ),
                reference="",
                ratio="",
                goal="finishes on 2 cores and 24 GiB",
                met=result["peak_rss_mib"] < 24 * 1024,
            )
        ],
    )


def run(args: Any) -> dict[str, Any]:
    from lstm_forecast.models.training_params import TrainingParams
    from lstm_forecast.pipelines.features.nodes import (
        build_features,
        fit_feature_scaler,
        make_windows,
        split_chronologically,
    )
    from lstm_forecast.pipelines.features.params import FeaturesParams
    from lstm_forecast.pipelines.ingestion.nodes import clean_assets
    from lstm_forecast.pipelines.training.nodes import train_model

    params = c.load_params()
    files = {"BTCUSDT": c.RAW_CSV.read_text}
    layouts = {}
    found = all((args.assets_dir / filename).is_file() for filename in LONG_FILES)
    if not found and not args.quick:
        raise SystemExit(f"{args.assets_dir}: the long files are not there; give --assets-dir.")
    if not found:  # --quick in a fresh clone: the shipped assets alone, to check it runs
        files["ETHUSDT"] = c.RAW_CSV.with_name("ETHUSDT.csv").read_text
    for filename, (name, layout) in LONG_FILES.items() if found else ():
        files[name] = (args.assets_dir / filename).read_text
        layouts[name] = layout
    ingestion = params["ingestion"] | {
        "assets": list(files),
        "asset_layouts": layouts,
        "raw_csv": None,
        "candles_dir": str(args.assets_dir),
    }
    figures: dict[str, Any] = {}
    baseline = c.start_peak_rss()
    started = time.perf_counter()
    candles, report = clean_assets(files, "", ingestion)
    if args.quick:
        candles = candles.groupby("asset", sort=False).tail(QUICK_BARS).reset_index(drop=True)
    figures["ingestion_s"] = time.perf_counter() - started
    figures["bars"] = len(candles)
    figures["bars_by_asset"] = candles["asset"].value_counts(sort=False).to_dict()

    step = time.perf_counter()
    features = FeaturesParams.model_validate(params["features"])
    table = build_features(candles, features)
    split = split_chronologically(table, features)
    scaler = fit_feature_scaler(table, split, features)
    train, val, test = make_windows(table, scaler, split, features)
    figures["features_s"] = time.perf_counter() - step
    figures["windows"] = {"train": len(train), "val": len(val), "test": len(test)}
    figures["split"] = {k: split[k] for k in ("val_start", "test_start")}

    training = params["training"]
    lstm = training["lstm"]
    trainer = lstm["trainer"] | {"max_epochs": 1 if args.quick else args.epochs}
    trainer["enable_progress_bar"] = False
    if args.batches_per_epoch is not None:
        trainer["limit_train_batches"] = (
            int(args.batches_per_epoch) if args.batches_per_epoch >= 1 else args.batches_per_epoch
        )
    stop = lstm["early_stopping"] | {"patience": 100}  # every epoch runs: a fixed amount of work
    training = training | {
        "lstm": lstm | {"trainer": trainer, "early_stopping": stop, "logger": {"kind": "none"}}
    }
    step = time.perf_counter()
    _, history, _ = train_model(
        table, scaler, train, val, TrainingParams.model_validate(training), kind="lstm"
    )
    fit = time.perf_counter() - step
    epochs = len(history)
    limit = trainer.get("limit_train_batches", 1.0)
    batch = lstm["batch_size"]
    per_epoch = (
        len(train)
        if limit == 1.0
        else (
            min(len(train), int(limit) * batch)
            if isinstance(limit, int)
            else int(len(train) * limit)
        )
    )
    figures["training_s"] = fit
    figures["epochs"] = epochs
    figures["train_windows_per_epoch"] = per_epoch
    figures["training_windows_per_s"] = epochs * per_epoch / fit
    figures["wall_s"] = time.perf_counter() - started
    figures["peak_rss_mib"] = (c.peak_rss_bytes() - 0) / 2**20
    figures["rss_at_start_mib"] = baseline / 2**20
    figures["quick"] = bool(args.quick)
    figures["quality_intervals"] = report["interval"]
    return figures


if __name__ == "__main__":
    main()
