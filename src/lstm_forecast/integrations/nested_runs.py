"""Nested MLflow runs: one child run per unit of work (an Optuna trial) under the run that
the Kedro hooks started for ``kedro run`` (the study's run).

While a child is open, ``tracking.lightning_logger()`` writes into it, so each trial's
epoch losses land in its own run; the parent is bound again when the child ends. Without
a tracked run (``tracking.enabled: false``) every call here does nothing. MLflow is
imported only when a run is tracked.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from lstm_forecast.integrations import mlflow_tracking as tracking


class ChildRun:
    """An open child run: log its outcome before it ends."""

    def __init__(self, client: Any, run_id: str) -> None:
        self._client = client
        self.run_id = run_id
        self.status = "FINISHED"

    def log(self, metrics: Mapping[str, float], tags: Mapping[str, str] | None = None) -> None:
        """Log final metrics and tags of the child run."""
        import time  # noqa: PLC0415

        from mlflow.entities import Metric, RunTag  # noqa: PLC0415

        stamp = int(time.time() * 1000)
        self._client.log_batch(
            self.run_id,
            metrics=[Metric(k, float(v), stamp, 0) for k, v in metrics.items()],
            tags=[RunTag(k, str(v)) for k, v in (tags or {}).items()],
        )


@contextmanager
def child_run(name: str, params: Mapping[str, Any]) -> Iterator[ChildRun | None]:
    """Open a child of the tracked run, with ``params``; yields None when nothing is tracked.

    The child ends FINISHED, KILLED when ``status`` was set so (a pruned trial), or FAILED
    when the block raised something else.
    """
    bound = tracking.bound_run()
    if bound is None:
        yield None
        return
    from mlflow import MlflowClient  # noqa: PLC0415 - only tracked runs pay for MLflow
    from mlflow.entities import Param  # noqa: PLC0415

    uri, parent_id, fits = bound
    client = MlflowClient(tracking_uri=uri)
    experiment = client.get_run(parent_id).info.experiment_id
    created = client.create_run(experiment, run_name=name, tags={"mlflow.parentRunId": parent_id})
    child = ChildRun(client, created.info.run_id)
    client.log_batch(child.run_id, params=[Param(k, str(v)) for k, v in params.items()])
    tracking.bind_run(uri, child.run_id)
    try:
        yield child
    except BaseException:
        if child.status == "FINISHED":
            child.status = "FAILED"
        raise
    finally:
        tracking.bind_run(uri, parent_id, fits)
        client.set_terminated(child.run_id, child.status)


def log_to_parent(metrics: Mapping[str, float]) -> None:
    """Log metrics into the tracked run itself (e.g. the study's best value), if any."""
    bound = tracking.bound_run()
    if bound is None:
        return
    from mlflow import MlflowClient  # noqa: PLC0415

    client = MlflowClient(tracking_uri=bound[0])
    for key, value in metrics.items():
        client.log_metric(bound[1], key, float(value))
