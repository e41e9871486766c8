"""Train the LSTM as one rank of a job that torchrun launched (several GPUs or machines).

On every machine, in the project folder (the features stage's outputs must be there: a
shared filesystem, or copied)::

    torchrun --nnodes=2 --nproc_per_node=4 --node_rank=<0 or 1> \\
        --master_addr=<machine 0> --master_port=29500 \\
        -m lstm_forecast.models.train_distributed --env=base \\
        --params=training.lstm.trainer.accelerator=gpu

Every rank reads ``features``, ``feature_scaler``, ``train_windows`` and ``val_windows``
through the project's catalog, trains its shard of the windows under Lightning's DDP (the
same ``LstmKind.fit_rank`` that the training node's ``ddp_spawn`` workers run; devices and
nodes come from torchrun), and rank 0 alone saves ``lstm.trained_model``,
``lstm.training_history`` and ``lstm.training_summary`` through the catalog. The pipeline
then continues with ``kedro run --from-nodes=lstm.export_onnx,plot_loss_curves,ridge.train``.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

from lstm_forecast.models.lstm_distributed import worker_params
from lstm_forecast.models.lstm_params import launched_externally

# Named, not __name__: run with `-m`, this module is __main__, which no logging config names.
logger = logging.getLogger("lstm_forecast.models.train_distributed")
OUTPUTS = ("trained_model", "training_history", "training_summary")


def _runtime_params(text: str) -> dict:
    """``a.b=1,c=x`` (as ``kedro run --params``) as a nested dict."""
    from omegaconf import OmegaConf  # noqa: PLC0415 - a Kedro dependency

    items = [item.strip() for item in text.split(",") if item.strip()]
    bad = [item for item in items if "=" not in item]
    if bad:
        raise SystemExit(f"--params items must be key=value; got {bad}")
    return OmegaConf.to_container(OmegaConf.from_dotlist(items))


def main(argv: list[str] | None = None) -> int:
    """Load the inputs, train this rank's share, save the outputs on rank 0."""
    parser = argparse.ArgumentParser(prog="python -m lstm_forecast.models.train_distributed")
    parser.add_argument("--env", default=None, help="Kedro environment, as `kedro run --env`")
    parser.add_argument("--params", default="", help="as `kedro run --params`: key=value,...")
    parser.add_argument("--project-dir", default=".", help="the Kedro project's folder")
    args = parser.parse_args(argv)
    if not launched_externally():
        parser.error(
            "start this under torchrun (it sets LOCAL_RANK and WORLD_SIZE in every process); "
            "on one machine, `kedro run --params=training.lstm.trainer.strategy=ddp_spawn,"
            "training.lstm.trainer.devices=N` needs no launcher."
        )

    from kedro.framework.session import KedroSession  # noqa: PLC0415
    from kedro.framework.startup import bootstrap_project  # noqa: PLC0415

    from lstm_forecast import models  # noqa: PLC0415
    from lstm_forecast.models.training_data import training_data  # noqa: PLC0415
    from lstm_forecast.models.training_params import TrainingParams  # noqa: PLC0415

    project = Path(args.project_dir).resolve()
    bootstrap_project(project)
    with KedroSession.create(
        project_path=project, env=args.env, runtime_params=_runtime_params(args.params)
    ) as session:
        context = session.load_context()
        catalog = context.catalog
        training = TrainingParams.model_validate(context.params["training"])
        data = training_data(
            catalog.load("features"),
            catalog.load("feature_scaler"),
            catalog.load("train_windows"),
            catalog.load("val_windows"),
            training,
        )
        params = _launched(worker_params(training.for_kind("lstm")))
        trained = models.get("lstm").fit_rank(data, params)
        if trained is None:
            return 0
        outputs = (trained.artifact, trained.history, trained.summary)
        for name, value in zip(OUTPUTS, outputs, strict=True):
            catalog.save(f"lstm.{name}", value)
        logger.info("Rank 0 saved %s.", ", ".join(f"lstm.{name}" for name in OUTPUTS))
    return 0


def _launched(params):
    """The trainer sized as torchrun launched the job (processes per node, nodes)."""
    per_node = int(os.environ.get("LOCAL_WORLD_SIZE", os.environ["WORLD_SIZE"]))
    nodes = int(os.environ["WORLD_SIZE"]) // per_node
    strategy = "ddp" if params.trainer.strategy == "auto" else params.trainer.strategy
    trainer = params.trainer.model_copy(
        update={"devices": per_node, "num_nodes": nodes, "strategy": strategy}
    )
    return params.model_copy(update={"trainer": trainer})


if __name__ == "__main__":
    sys.exit(main())
