"""``DurabilityHooks``: atomic writes for every dataset, cleanup after killed runs, faults.

Registered in ``settings.py`` (``HOOKS``) beside the project's other hooks.
"""

from __future__ import annotations

import logging
from typing import Any

from kedro.framework.hooks import hook_impl

from . import _atomic, _faults, _stale

logger = logging.getLogger(__name__)


class DurabilityHooks:
    """A failed or killed run never leaves a torn file at a dataset's path.

    - ``after_context_created`` (and ``before_dataset_saved``, for runners that save in
      other processes): every local write of every dataset (kedro-datasets' and the
      project's) goes through one atomic writer (see ``lstm_forecast.datasets._atomic``).
    - ``before_pipeline_run``: temporary files of writers that were killed, next to every
      catalog dataset's file, and scratch folders of dead runs in the system temporary
      folder (``lstm-forecast-<what>-<pid>-*``) are removed; and
      ``LSTM_FORECAST_FAULT``, a testing aid that kills the run in the middle of one
      dataset's write, is armed if set (inert otherwise; see ``datasets._faults``).
    """

    @hook_impl
    def after_context_created(self, context: Any) -> None:
        _atomic.register()

    @hook_impl
    def before_dataset_saved(self, dataset_name: str, data: Any, node: Any) -> None:
        # Runners that save in other processes (ParallelRunner, a Dask worker) build a hook
        # manager there but create no context: register before their first save too.
        _atomic.register()

    @hook_impl
    def before_pipeline_run(self, run_params: dict[str, Any], pipeline: Any, catalog: Any) -> None:
        _atomic.register()  # a session built without the context hook (e.g. by a plugin)
        files = _stale.catalog_files(catalog, pipeline.datasets())
        _stale.remove_stale_temporary_files(files)
        _stale.remove_stale_scratch_folders()
        fault = _faults.requested()  # a malformed value is refused before any work
        if fault is not None:
            paths = {name: path for name, path, _ in files}
            if fault[0] in paths:
                _faults.arm(fault[0], paths[fault[0]], fault[1])
            else:
                logger.warning(
                    "%s names %r, which is not a catalog dataset stored in a local file.",
                    _faults.FAULT_ENV,
                    fault[0],
                )
