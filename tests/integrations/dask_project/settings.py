"""Settings of the stand-in package: one hook that records node and dataset events."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from kedro.framework.hooks import hook_impl

from lstm_forecast.integrations.lazy_kedro_mlflow import KEDRO_MLFLOW_HOOK

LOG_ENV = "LSTM_FORECAST_TEST_HOOK_LOG"


class RecordingHooks:
    """Appends ``event name pid`` lines to the file named by ``$LSTM_FORECAST_TEST_HOOK_LOG``."""

    def _record(self, event: str, name: str) -> None:
        with Path(os.environ[LOG_ENV]).open("a") as log:
            log.write(f"{event} {name} {os.getpid()}\n")

    @hook_impl
    def before_node_run(self, node: Any) -> None:
        self._record("before_node_run", node.name)

    @hook_impl
    def after_dataset_saved(self, dataset_name: str) -> None:
        self._record("after_dataset_saved", dataset_name)


class _KedroMlflowHookName:
    """Holds kedro-mlflow's hook entry-point name, as the project's ``TrackingHooks`` does,
    so that Kedro does not load that entry point on the workers: it imports MLflow (about
    1.5 s of CPU a worker), and the stand-in tracks nothing."""

    __name__ = KEDRO_MLFLOW_HOOK


HOOKS = (RecordingHooks(), _KedroMlflowHookName())
