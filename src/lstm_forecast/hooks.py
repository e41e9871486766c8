"""Project hooks: atomic writes for every dataset, cleanup after killed runs, fault injection."""

from __future__ import annotations

import logging
from typing import Any

from kedro.framework.hooks import hook_impl

from lstm_forecast.datasets import _atomic, _faults, _stale

logger = logging.getLogger(__name__)


class DurabilityHooks:
    """A failed or killed run never leaves a torn file at a dataset's path.

    - ``after_context_created``: every local write of every dataset (kedro-datasets' and the
      project's) goes through one atomic writer (see ``lstm_forecast.datasets._atomic``).
    - ``before_pipeline_run``: temporary files of writers that were killed, next to every
      catalog dataset's file, and Lightning scratch folders of dead runs are removed.
    - ``before/after_dataset_saved``: arm and disarm ``LSTM_FORECAST_FAULT``, a testing
      aid that kills the run in the middle of one dataset's write (inert unless set; see
      ``lstm_forecast.datasets._faults``).
    """

    @hook_impl
    def after_context_created(self, context: Any) -> None:
        _atomic.register()

    @hook_impl
    def before_pipeline_run(self, run_params: dict[str, Any], pipeline: Any, catalog: Any) -> None:
        _atomic.register()  # a session built without the context hook (e.g. by a plugin)
        fault = _faults.requested()  # a malformed value is refused before any work
        if fault is not None and fault[0] not in catalog:
            logger.warning(
                "%s names %r, which is not a catalog dataset.", _faults.FAULT_ENV, fault[0]
            )
        _stale.remove_stale_temporary_files(_stale.catalog_files(catalog))
        _stale.remove_stale_scratch_folders()

    @hook_impl
    def before_dataset_saved(self, dataset_name: str, data: Any, node: Any) -> None:
        _faults.arm(dataset_name)

    @hook_impl
    def after_dataset_saved(self, dataset_name: str, data: Any, node: Any) -> None:
        _faults.disarm()
