"""Distributed LSTM training, configured only by the ``trainer`` parameters.

Every process runs the same fit, ``lstm_training.train_rank``; what differs is who starts it:
- one process (``devices * num_nodes == 1``): the training node itself;
- ``strategy: ddp_spawn`` on one machine: the node spawns ``devices`` worker processes that
  each run ``train_rank`` under Lightning's DDP; rank 0 hands the trained model back to the
  node, which returns it to Kedro, so the pipeline runs once and only Kedro writes outputs;
- several machines: ``torchrun ... -m lstm_forecast.models.train_distributed`` starts
  ``train_rank`` in every process, and rank 0 saves the outputs through the catalog.

Why not Lightning's own launchers: ``strategy: ddp`` re-runs the current command (``kedro
run``) in every extra process (kedro issue #2049), and Lightning's ``ddp_spawn`` hands the
calling process only the best checkpoint's path, the last weights and the logged metrics;
not the best score, the epoch count or a callback's state such as the epoch history
(``_MultiProcessingLauncher._recover_results_in_main_process`` in Lightning 2.6).

The launch checks (``relaunch_refusal``) live in ``lstm_params``, which every path imports.
"""

from __future__ import annotations

import logging
import os
import pickle
import socket
import tempfile
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from lstm_forecast.integrations import mlflow_tracking as tracking

from . import fresh_process
from .lstm_params import SPAWN, launched_externally

logger = logging.getLogger(__name__)

if TYPE_CHECKING:
    from .base import TrainedModel, TrainingData
    from .lstm_params import LstmParams


def fit_distributed(data: TrainingData, params: LstmParams) -> TrainedModel | None:
    """Train as the trainer parameters say: rank 0's trained model, None on other ranks.

    Raises:
        RuntimeError: When a spawned worker failed (its traceback is in the message).
    """
    from .lstm_training import train_rank  # noqa: PLC0415 - torch only when training

    if params.trainer.strategy.startswith(SPAWN) and not launched_externally():
        return _spawn(data, params)
    return train_rank(data, params)


def worker_params(params: LstmParams) -> LstmParams:
    """The parameters each rank of a launched job trains with: Lightning's ``ddp`` with the
    processes already started (Lightning reads LOCAL_RANK etc. and starts none)."""
    strategy = params.trainer.strategy.replace(SPAWN, "ddp", 1)
    return params.model_copy(
        update={"trainer": params.trainer.model_copy(update={"strategy": strategy})}
    )


def _spawn(data: TrainingData, params: LstmParams) -> TrainedModel:
    import torch  # noqa: PLC0415
    import torch.multiprocessing as mp  # noqa: PLC0415

    processes = int(params.trainer.devices)
    # Moved to shared memory once: torch's pickler hands each worker a file descriptor to
    # the same pages, instead of each unpickling its own copy (benchmarks/bench_ddp.py).
    matrix = torch.from_numpy(np.ascontiguousarray(data.matrix, dtype=np.float32))
    targets = torch.from_numpy(np.ascontiguousarray(data.targets, dtype=np.float32))
    skeleton = replace(data, matrix=data.matrix[:0], targets=data.targets[:0])
    with tempfile.TemporaryDirectory(prefix=f"lstm-forecast-ddp-{os.getpid()}-") as folder:
        result = Path(folder) / "rank0.pickle"
        try:
            mp.start_processes(
                _worker,
                args=(
                    processes,
                    _free_port(),
                    skeleton,
                    matrix.share_memory_(),
                    targets.share_memory_(),
                    worker_params(params),
                    str(result),
                    tracking.handoff(),
                    fresh_process.caller_state(),
                ),
                nprocs=processes,
                # Forked from a server that imported torch and Lightning once (fresh_process),
                # not a new interpreter per rank.
                start_method=fresh_process.start_method(),
            )
        except (mp.ProcessRaisedException, mp.ProcessExitedException) as error:
            raise RuntimeError(f"A DDP worker process failed: {error}") from None
        # Our own file, written by rank 0 a moment ago.
        with result.open("rb") as stream:
            return pickle.load(stream)


def _worker(
    rank: int,
    processes: int,
    port: int,
    skeleton: TrainingData,
    matrix: Any,
    targets: Any,
    params: LstmParams,
    result: str,
    tracked_run: tuple[str, str, int] | None,
    caller: fresh_process.CallerState,
) -> None:
    """One spawned rank: join the process group on this machine, train, rank 0 hands back."""
    fresh_process.adopt(caller)
    os.environ.update(
        MASTER_ADDR="127.0.0.1",
        MASTER_PORT=str(port),
        WORLD_SIZE=str(processes),
        RANK=str(rank),
        LOCAL_RANK=str(rank),
        NODE_RANK="0",
    )
    from .lstm_training import train_rank  # noqa: PLC0415

    if tracked_run is not None:  # epoch losses into the `kedro run`'s MLflow run (rank 0 logs)
        tracking.bind_run(*tracked_run)
    trained = train_rank(replace(skeleton, matrix=matrix.numpy(), targets=targets.numpy()), params)
    logger.info("DDP rank %d of %d finished its share of the fit.", rank, processes)
    if trained is not None:
        partial = f"{result}.partial"
        with open(partial, "wb") as stream:
            pickle.dump(trained, stream)
        os.replace(partial, result)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
