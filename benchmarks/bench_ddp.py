"""Issue 19: DDP training samples/s with 1 vs 2 processes (gloo, CPU), and what each rank holds.

Training: the project's own fit (``LstmKind.fit`` with ``strategy: ddp_spawn``, as
`kedro run --params=training.lstm.trainer.strategy=ddp_spawn,...devices=N` runs it) on the
shipped year's windows (the ingestion and features pipelines run first, in a temporary copy
of the project), base parameters, every epoch run (early stopping off). Two figures each:
- in the ranks: training windows x epochs / rank 0's fit time (Trainer, process group,
  training and validation epochs; from the training summary);
- whole call: the same windows / the wall time of ``fit``, starting the workers included
  (forked from the forkserver of ``models.fresh_process``; the first fit of this process
  also starts that server, which imports torch and Lightning once).
Both sizes use the same start path, so the ratio is DDP's scaling, not the start's cost.

Memory: what a spawned rank holds of a large feature matrix when it receives the matrix as a
pickled numpy array (a private copy per rank) against a tensor in shared memory (what the
training node passes: one copy, mapped by every rank). From /proc/self/smaps_rollup.

``--quick`` (does it all run?): a smoke run's windows (256), 1 epoch, 1 then 2 processes,
an 8 MiB matrix handed to ranks forked from the same forkserver as the fits.
"""

from __future__ import annotations

import dataclasses
import logging
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as c
import _quick

MATRIX_MIB = 256  # the memory probe's matrix: ~ five years of one-minute candles x 25 features


def load_data(folder: Path, quick: bool) -> tuple[Any, Any]:
    """The shipped year through the real ingestion and features pipelines; training data.

    --quick: a smoke run's (``_quick.smoke_project``; run_all's shared one when there is).
    """
    from kedro.framework.session import KedroSession
    from kedro.framework.startup import bootstrap_project

    from lstm_forecast.models.training_data import training_data
    from lstm_forecast.models.training_params import TrainingParams

    pipelines = ["ingestion", "features"]
    env = "smoke" if quick else None
    if quick:
        project = _quick.smoke_project(folder / "project", pipelines)
    else:
        project = c.copy_project(folder / "project")
        c.session_run(project, pipelines=pipelines)
    bootstrap_project(project)  # done already where this process ran the pipelines
    with KedroSession.create(project_path=project, env=env) as session:
        context = session.load_context()
        training = TrainingParams.model_validate(context.params["training"])
        catalog = context.catalog  # built anew, parameters and all, at each access
        inputs = ("features", "feature_scaler", "train_windows", "val_windows")
        data = training_data(*(catalog.load(name) for name in inputs), training)
        return data, training.for_kind("lstm")


def fit(data: Any, params: Any, processes: int, epochs: int) -> dict[str, float]:
    from lstm_forecast import models

    trainer = {
        "strategy": "ddp_spawn",
        "devices": processes,
        "max_epochs": epochs,
        "enable_progress_bar": False,
    }
    settings = params.model_dump() | {
        "trainer": params.trainer.model_dump() | trainer,
        "early_stopping": params.early_stopping.model_dump() | {"patience": epochs},
        "logger": {"kind": "none"},
    }
    typed = type(params).model_validate(settings)
    started = time.perf_counter()
    summary = models.get("lstm").fit(data, typed).summary
    wall = time.perf_counter() - started
    windows = summary["train_windows"] * summary["epochs_run"]
    return {"in_ranks": windows / summary["train_seconds"], "whole": windows / wall, "wall": wall}


def _private_and_shared(rank: int, payload: Any, queue: Any) -> None:
    """A spawned rank: touch every byte of the matrix, report its private and shared memory."""
    import numpy as np

    array = payload.numpy() if hasattr(payload, "numpy") else payload
    float(np.asarray(array, dtype=np.float32).sum())
    fields = {}
    for line in Path("/proc/self/smaps_rollup").read_text().splitlines()[1:]:
        name, value = line.split(":", 1)
        fields[name] = int(value.split()[0]) * 1024
    queue.put(
        (
            rank,
            fields["Private_Clean"] + fields["Private_Dirty"],
            fields["Shared_Clean"] + fields["Shared_Dirty"],
        )
    )


def memory_probe(mib: int, quick: bool) -> dict[str, tuple[float, float]]:
    """Mean private and shared bytes of 2 spawned ranks, per way of handing them the matrix.

    --quick forks the ranks from the fits' forkserver (``models.fresh_process``, torch
    imported once) instead of 4 new interpreters that each import torch: the same probe
    and hand-over, at a quarter of the CPU; its figures mean nothing at 8 MiB anyway.
    """
    import numpy as np
    import torch
    import torch.multiprocessing as mp

    from lstm_forecast.models import fresh_process

    matrix = np.random.default_rng(0).standard_normal((mib * 1024 * 1024 // 100, 25), np.float32)
    results = {}
    for label, payload in (
        ("pickled numpy array", matrix),
        ("tensor in shared memory", torch.from_numpy(matrix).share_memory_()),
    ):
        method = fresh_process.start_method() if quick else "spawn"
        queue = mp.get_context(method).SimpleQueue()
        mp.start_processes(
            _private_and_shared, args=(payload, queue), nprocs=2, start_method=method
        )
        rows = [queue.get() for _ in range(2)]
        results[label] = (
            sum(row[1] for row in rows) / 2,
            sum(row[2] for row in rows) / 2,
        )
    return results


def main() -> None:
    args = c.parser(__doc__.splitlines()[0]).parse_args(sys.argv[1:])
    logging.getLogger("pytorch_lightning").setLevel(logging.ERROR)
    logging.getLogger("lightning.pytorch").setLevel(logging.ERROR)
    logging.getLogger("kedro").setLevel(logging.WARNING)
    warnings.filterwarnings("ignore", ".*does not have many workers.*")
    epochs = 1 if args.quick else 2

    with tempfile.TemporaryDirectory(prefix="bench-ddp-") as folder:
        data, params = load_data(Path(folder), args.quick)
    if args.quick:  # does the spawn path run at all? a few batches, not a measurement
        data = dataclasses.replace(
            data, train_ends=data.train_ends[:256], val_ends=data.val_ends[:64]
        )
    print(
        f"{len(data.train_ends)} training windows of {data.window_length} bars x "
        f"{len(data.feature_names)} features, batch {params.batch_size}, hidden "
        f"{params.hidden_size}, {epochs} epoch(s), torch_threads {params.torch_threads}."
    )
    # 1, 2, 1, 2: interleaved so that load drift on the shared machine hits both alike.
    runs: dict[int, list[dict[str, float]]] = {1: [], 2: []}
    for processes in (1, 2) if args.quick else (1, 2, 1, 2):
        runs[processes].append(fit(data, params, processes, epochs))
    figures = {
        n: {key: c.median([run[key] for run in done]) for key in done[0]}
        for n, done in runs.items()
    }
    rows = [
        [
            f"{n} process(es)",
            f"{figures[n]['in_ranks']:.0f}",
            f"{figures[n]['whole']:.0f}",
            c.fmt_seconds(figures[n]["wall"]),
        ]
        for n in (1, 2)
    ]
    speedup = figures[2]["in_ranks"] / figures[1]["in_ranks"]
    whole = figures[2]["whole"] / figures[1]["whole"]
    rows.append(["2 vs 1", f"{speedup:.2f}x", f"{whole:.2f}x", ""])
    print()
    c.print_table(["DDP (gloo, CPU)", "windows/s in ranks", "windows/s whole call", "wall"], rows)

    mib = 8 if args.quick else MATRIX_MIB
    memory = memory_probe(mib, args.quick)
    print()
    c.print_table(
        [f"a {mib} MiB matrix handed to 2 spawned ranks as", "private per rank", "shared"],
        [[label, c.fmt_bytes(p), c.fmt_bytes(s)] for label, (p, s) in memory.items()],
    )
    saved = memory["pickled numpy array"][0] - memory["tensor in shared memory"][0]
    print(f"\nShared memory saves {c.fmt_bytes(saved)} per rank ({mib} MiB matrix).")
    c.write_summary(
        args.summary,
        [
            c.summary_row(
                "DDP training windows/s, 2 vs 1 processes (gloo, CPU)",
                ours=f"{figures[2]['in_ranks']:.0f}/s",
                reference=f"{figures[1]['in_ranks']:.0f}/s",
                ratio=f"{speedup:.2f}x",
                goal="none: 2 shared cores cap the gain",
                met=None,
            )
        ],
    )


if __name__ == "__main__":
    main()
