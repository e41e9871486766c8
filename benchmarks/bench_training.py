"""Question 3: samples per second of the Lightning training loop against a plain PyTorch loop.

Both train the project's ``LSTMForecaster`` from the same initial weights on the shipped
year's training windows, through the same ``WindowDataModule`` loader (batch size, window
length, thread count from the project's parameters), with Adam and gradient-norm clipping
at the project's ``gradient_clip_val``, for the same number of epochs. Two figures:
- steady state: time per training epoch (start to end of the epoch, validation included
  where there is one), first epoch of each fit dropped; this is the loop's own overhead;
- whole call: everything a user waits for, building the Trainer and ``fit`` against the
  plain loop, so Lightning's fixed setup cost shows here.

Two pairs:
- loop only: Lightning with no validation, logger, checkpointing or progress bar, against
  the plain loop;
- project settings: Lightning as ``train_lstm`` runs it (per-epoch validation, CSV logger,
  ModelCheckpoint, EarlyStopping, deterministic) but without the progress bar, against the
  plain loop with a validation pass per epoch.

``--quick`` (does every variant run?): 2 batches of training windows, 2 epochs, 1 fit each.
"""

from __future__ import annotations

import logging
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as c

GOAL_OVERHEAD = 5.0  # percent


def load_data(params: dict[str, Any]) -> dict[str, Any]:
    """Scaled matrix, targets and window indices of the shipped year, through the nodes."""
    from lstm_forecast.pipelines.features.nodes import (
        build_features,
        fit_feature_scaler,
        make_windows,
        split_chronologically,
    )
    from lstm_forecast.pipelines.features.params import FeaturesParams
    from lstm_forecast.pipelines.ingestion.nodes import clean_candles
    from lstm_forecast.timeseries.preparation import scaled_arrays

    features = FeaturesParams.model_validate(params["features"])
    candles, _ = clean_candles(c.RAW_CSV.read_text(), params["ingestion"])
    table = build_features(candles, features)
    split = split_chronologically(table, features)
    scaler = fit_feature_scaler(table, split, features)
    train, val, _ = make_windows(table, scaler, split, features)
    matrix, targets = scaled_arrays(table, scaler)
    return {
        "matrix": matrix,
        "targets": targets,
        "train": train,
        "val": val,
        "names": scaler["feature_names"],
        "horizon": features.horizon,
        "length": features.window_length,
    }


def main() -> None:
    args = c.parser(__doc__.splitlines()[0]).parse_args(sys.argv[1:])
    import pytorch_lightning as pl
    import torch
    from pytorch_lightning.callbacks import Callback, EarlyStopping, ModelCheckpoint
    from pytorch_lightning.loggers import CSVLogger

    from lstm_forecast.models.lstm_network import LSTMForecaster, WindowDataModule

    # Lightning's banner lines and its "few workers" advice are noise in a benchmark.
    logging.getLogger("pytorch_lightning").setLevel(logging.ERROR)
    logging.getLogger("lightning.pytorch").setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", ".*does not have many workers.*")
    warnings.filterwarnings("ignore", ".*LeafSpec.*")

    class EpochClock(Callback):
        """Wall time of each training epoch, as the plain loop measures its own."""

        def __init__(self, epochs: list[float]) -> None:
            self.epochs = epochs

        def on_train_epoch_start(self, trainer: pl.Trainer, module: pl.LightningModule) -> None:
            self.started = time.perf_counter()

        def on_train_epoch_end(self, trainer: pl.Trainer, module: pl.LightningModule) -> None:
            self.epochs.append(time.perf_counter() - self.started)

    params = c.load_params()
    quantiles = params["training"]["quantiles"]
    seed = params["training"]["seed"]
    training = params["training"]["lstm"]
    torch.set_num_threads(training["torch_threads"])
    data = load_data(params)
    if args.quick:  # does every variant run? 2 batches, not the year's 23
        data["train"] = data["train"].iloc[: 2 * training["batch_size"]]
        data["val"] = data["val"].iloc[: training["batch_size"]]
    length = data["length"]
    datamodule = WindowDataModule(
        matrix=data["matrix"],
        targets=data["targets"],
        train_end_rows=data["train"]["end_row"].to_numpy(),
        val_end_rows=data["val"]["end_row"].to_numpy(),
        window_length=length,
        batch_size=training["batch_size"],
    )
    n_train = len(data["train"])
    epochs = 2 if args.quick else 3
    repeats = 1 if args.quick else 5
    # Per-variant epoch durations of every fit, the untimed warm-up fit first.
    epoch_times: dict[str, list[list[float]]] = {}
    trainer_settings = {**training["trainer"], "max_epochs": epochs, "enable_progress_bar": False}
    clip = training["trainer"].get("gradient_clip_val") or 0.0

    def fresh_model() -> LSTMForecaster:
        torch.manual_seed(seed)
        return LSTMForecaster(
            n_features=len(data["names"]),
            horizon=data["horizon"],
            quantiles=quantiles,
            window_length=length,
            feature_names=data["names"],
            **{k: training[k] for k in ("hidden_size", "num_layers", "dropout")},
            **{k: training[k] for k in ("learning_rate", "weight_decay")},
        )

    def plain(validate: bool, name: str) -> None:
        model = fresh_model()
        optimizer = model.configure_optimizers()
        clock = epoch_times.setdefault(name, [])
        clock.append([])
        for _ in range(epochs):
            started = time.perf_counter()
            model.train()
            for windows, targets in datamodule.train_dataloader():
                optimizer.zero_grad()
                loss = model.pinball_loss(model(windows), targets)
                loss.backward()
                if clip:
                    torch.nn.utils.clip_grad_norm_(model.parameters(), clip)
                optimizer.step()
            if validate:
                model.eval()
                with torch.no_grad():
                    for windows, targets in datamodule.val_dataloader():
                        model.pinball_loss(model(windows), targets)
            clock[-1].append(time.perf_counter() - started)

    def clocked(name: str) -> Callback:
        epoch_times.setdefault(name, []).append([])
        return EpochClock(epoch_times[name][-1])

    def lightning_bare() -> None:
        trainer = pl.Trainer(
            **trainer_settings,
            logger=False,
            enable_checkpointing=False,
            enable_model_summary=False,
            limit_val_batches=0,
            num_sanity_val_steps=0,
            callbacks=[clocked("lightning, loop only")],
        )
        trainer.fit(fresh_model(), datamodule=datamodule)

    def lightning_project() -> None:
        with tempfile.TemporaryDirectory(prefix="bench-training-") as tmp:
            trainer = pl.Trainer(
                **trainer_settings,
                callbacks=[
                    ModelCheckpoint(
                        dirpath=Path(tmp) / "checkpoints", filename="best", **training["checkpoint"]
                    ),
                    EarlyStopping(**training["early_stopping"]),
                    clocked("lightning, project settings"),
                ],
                logger=CSVLogger(save_dir=tmp, name="lstm"),
                deterministic=True,
                default_root_dir=tmp,
                enable_model_summary=False,
            )
            trainer.fit(fresh_model(), datamodule=datamodule)

    def plain_deterministic_with_val() -> None:
        previous = torch.are_deterministic_algorithms_enabled()
        torch.use_deterministic_algorithms(True)
        try:
            plain(validate=True, name="plain loop + validation")
        finally:
            torch.use_deterministic_algorithms(previous)

    print(
        f"[training] {n_train} train windows, batch {training['batch_size']}, {epochs} epoch(s), "
        f"{repeats} repeats, torch threads {torch.get_num_threads()} ...",
        flush=True,
    )
    samples = c.interleaved_medians(
        {
            "plain loop": lambda: plain(validate=False, name="plain loop"),
            "lightning, loop only": lightning_bare,
            "plain loop + validation": plain_deterministic_with_val,
            "lightning, project settings": lightning_project,
        },
        repeats=repeats,
    )
    whole = {name: epochs * n_train / c.median(times) for name, times in samples.items()}
    # Steady state: pool the timed fits' epochs, each fit's first epoch dropped.
    steady = {
        name: n_train / c.median([t for fit in fits[1:] for t in fit[1:]])
        for name, fits in epoch_times.items()
    }

    def overhead(rates: dict[str, float], plain_name: str, lightning_name: str) -> float:
        return (rates[plain_name] / rates[lightning_name] - 1) * 100

    pairs = {
        "loop only": ("plain loop", "lightning, loop only"),
        "project settings": ("plain loop + validation", "lightning, project settings"),
    }
    print()
    print(
        f"Training throughput, train samples/s (median of {repeats} fits x {epochs} epochs, "
        "variants interleaved)."
    )
    c.print_table(
        ["variant", "steady samples/s", "whole-call time", "whole-call samples/s"],
        [
            [
                name,
                f"{steady[name]:.0f}",
                c.fmt_seconds(c.median(times)),
                f"{whole[name]:.0f}",
            ]
            for name, times in samples.items()
        ],
    )
    for label, (plain_name, lightning_name) in pairs.items():
        print(
            f"Lightning overhead, {label}: steady state "
            f"{overhead(steady, plain_name, lightning_name):+.1f}%, whole call "
            f"{overhead(whole, plain_name, lightning_name):+.1f}% (time per sample)."
        )
    bare = overhead(steady, *pairs["loop only"])
    c.write_summary(
        args.summary,
        [
            c.summary_row(
                "3. training loop, steady samples/s",
                ours=f"{steady['lightning, loop only']:.0f}/s Lightning",
                reference=f"{steady['plain loop']:.0f}/s plain",
                ratio=f"{bare:+.1f}% overhead",
                goal=f"<= {GOAL_OVERHEAD:.0f}%",
                met=bare <= GOAL_OVERHEAD,
            ),
            c.summary_row(
                f"3. training, whole {epochs}-epoch fit",
                ours=f"{whole['lightning, loop only']:.0f}/s Lightning",
                reference=f"{whole['plain loop']:.0f}/s plain",
                ratio=f"{overhead(whole, *pairs['loop only']):+.1f}% overhead",
                goal="(informative)",
                met=None,
            ),
            c.summary_row(
                "3. training, project settings",
                ours=f"{steady['lightning, project settings']:.0f}/s Lightning",
                reference=f"{steady['plain loop + validation']:.0f}/s plain+val",
                ratio=f"{overhead(steady, *pairs['project settings']):+.1f}% overhead",
                goal="(informative)",
                met=None,
            ),
        ],
    )


if __name__ == "__main__":
    main()
