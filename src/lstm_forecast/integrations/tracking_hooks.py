"""Kedro hooks: every tracked ``kedro run`` becomes one MLflow run (kedro-mlflow underneath).

kedro-mlflow's own hook opens the tracking store whenever a Kedro session starts (kedro-viz,
notebooks, runs with tracking off), so ``settings.py`` disables it and ``TrackingHooks``
drives a fresh instance of it only for runs with ``tracking.enabled``. kedro-mlflow still
reads ``conf/<env>/mlflow.yml``, starts the run, tags it with the Kedro command and ends it,
FAILED when a node raises. On top of that, this hook records what the project needs:

- parameters: the ``tracking.param_blocks`` flattened with dots, the input file's name,
  sha256 and rows, the git commit (kedro-mlflow's per-node parameter logging is not used:
  it would log typed parameter models as one string each);
- metrics: Lightning's per-epoch losses (``tracking.lightning_logger``), every number in
  ``forecast_metrics["headline"]``, each ``<model>.validation_report``'s parity errors;
- artefacts, after a successful run: the ONNX files this run published, with MLflow's ONNX
  flavour, and the reports and plots it wrote; the file ``tracking.registry.file`` is
  registered only when every validation report of the run says it passed.
"""

from __future__ import annotations

import logging
import math
import time
import types
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kedro.config import MissingConfigException
from kedro.framework.hooks import hook_impl

from lstm_forecast.errors import LstmForecastError
from lstm_forecast.integrations import lazy_kedro_mlflow, mlflow_store, run_record

if TYPE_CHECKING:
    from lstm_forecast.integrations.mlflow_tracking import TrackingParams

logger = logging.getLogger(__name__)

# Catalog names this hook reads (DESIGN.md fixes them): the headline of forecast_metrics, and
# every dataset whose name ends in validation_report (one per model namespace).
_METRICS_DATASET = "forecast_metrics"
_HEADLINE_KEY = "headline"
_VALIDATION_SUFFIX = "validation_report"
_PARITY_KEYS = ("max_abs_error", "max_rel_error")
_MLFLOW_BATCH = 100  # MLflow accepts at most 100 params per log_batch call


def _tracking() -> types.ModuleType:
    """``mlflow_tracking``, imported when a session first needs it: its settings model
    imports pydantic, which `kedro --help` (settings.py imports this module) never needs."""
    from lstm_forecast.integrations import mlflow_tracking  # noqa: PLC0415

    return mlflow_tracking


class TrackingError(LstmForecastError):
    """MLflow could not record a run whose pipeline itself succeeded."""


class TrackingHooks:
    """Records tracked runs in MLflow; does nothing at all when ``tracking.enabled`` is false."""

    def __init__(self) -> None:
        # Registered under kedro-mlflow's hook entry-point name, so that Kedro's sessions
        # never import that hook (and MLflow) only to unregister it (lazy_kedro_mlflow).
        self.__name__ = lazy_kedro_mlflow.KEDRO_MLFLOW_HOOK
        self._context: Any = None
        self._settings: TrackingParams | None = None  # read by after_context_created
        self._reset_run()

    def _reset_run(self) -> None:
        self._kedro_mlflow: Any = None
        self._client: Any = None
        self._run_id: str | None = None
        self._started = 0.0
        self._validation_passed: dict[str, bool] = {}

    @hook_impl
    def after_context_created(self, context: Any) -> None:
        """Keep the context and read ``params:tracking`` (no MLflow import, no store)."""
        self._context = context
        self._reset_run()
        try:
            raw = context.config_loader["parameters"].get("tracking") or {}
        except MissingConfigException:  # a project without parameters is simply untracked
            raw = {"enabled": False}
        try:
            self._settings = _tracking().TrackingParams.model_validate(raw)
        except ValueError as error:
            raise TrackingError(f"params:tracking is invalid: {error}") from error

    @hook_impl
    def after_catalog_created(
        self,
        catalog: Any,
        conf_catalog: dict[str, Any],
        conf_creds: dict[str, Any],
        parameters: dict[str, Any],
        save_version: str,
        load_versions: dict[str, str],
    ) -> None:
        """Let kedro-mlflow name its metric datasets after their catalog entries, if any.

        Only when the catalog declares one: kedro-mlflow finds them by building every
        dataset, which would import torch for a run (inference) that needs none.
        """
        if self._tracked() and lazy_kedro_mlflow.uses_metric_datasets(conf_catalog):
            self._mlflow_hook().after_catalog_created(
                catalog, conf_catalog, conf_creds, parameters, save_version, load_versions
            )

    @hook_impl
    def before_pipeline_run(self, run_params: dict[str, Any], pipeline: Any, catalog: Any) -> None:
        """Start the MLflow run (kedro-mlflow) and log the run's parameters."""
        if not self._tracked():
            return
        import mlflow  # noqa: PLC0415 - only tracked runs pay for MLflow

        setup_started = time.perf_counter()
        hook = self._mlflow_hook()
        try:
            seeded = self._seed_store()
            hook.after_context_created(self._context)  # reads mlflow.yml, opens the store
            hook.before_pipeline_run(run_params, pipeline, catalog)  # starts the run
        except Exception as error:
            raise TrackingError(
                f"MLflow tracking could not start: {error}. Check conf/<env>/mlflow.yml, or "
                "run without tracking: --params=tracking.enabled=false."
            ) from error
        if hook.run_id is None:
            return  # mlflow.yml's disable_tracking.pipelines lists this pipeline
        self._run_id = hook.run_id
        self._client = mlflow.MlflowClient()
        # Whole seconds: files this run writes are recognised by mtime on any filesystem.
        self._started = math.floor(time.time())
        try:
            self._log_params(pipeline)
        except Exception as error:
            hook.on_pipeline_error(error, run_params, pipeline, catalog)
            self._reset_run()
            raise
        _tracking().bind_run(mlflow.get_tracking_uri(), self._run_id)
        logger.info(
            "Tracking in MLflow: run %s in %s (%sset up in %.1f s).",
            self._run_id,
            mlflow.get_tracking_uri(),
            "a new store copied from the empty-store cache; " if seeded else "",
            time.perf_counter() - setup_started,
        )

    @hook_impl
    def after_dataset_saved(self, dataset_name: str, data: Any, node: Any) -> None:
        """Log the headline forecast metrics and each model's parity errors as they are saved."""
        if self._run_id is None or not isinstance(data, Mapping):
            return
        metrics: dict[str, float] = {}
        if dataset_name == _METRICS_DATASET:
            metrics = run_record.numeric_leaves(data.get(_HEADLINE_KEY) or {})
        elif dataset_name.endswith(_VALIDATION_SUFFIX):
            self._validation_passed[dataset_name] = data.get("passed") is True
            namespace = dataset_name.removesuffix(_VALIDATION_SUFFIX)
            metrics = {
                f"{namespace}{key}": value
                for key in _PARITY_KEYS
                for value in run_record.numeric_leaves({key: data.get(key)}).values()
            }
        if metrics:
            self._log_metrics(metrics)

    @hook_impl
    def after_pipeline_run(self, run_params: dict[str, Any], pipeline: Any, catalog: Any) -> None:
        """Log the artefacts, register the model if validation passed, end the run."""
        if self._run_id is None:
            return
        hook = self._kedro_mlflow
        _tracking().unbind_run()
        logging_started = time.perf_counter()
        try:
            self._log_reports()
            self._log_models()
        except Exception as error:
            hook.on_pipeline_error(error, run_params, pipeline, catalog)
            self._reset_run()
            raise TrackingError(
                f"The pipeline finished, but MLflow could not record its artefacts ({error}). "
                "The outputs under data/ are complete; rerun with "
                "--params=tracking.enabled=false to run without tracking."
            ) from error
        hook.after_pipeline_run(run_params, pipeline, catalog)  # ends the run: FINISHED
        logger.info(
            "MLflow run %s finished; artefacts logged in %.1f s.",
            self._run_id,
            time.perf_counter() - logging_started,
        )
        self._reset_run()

    @hook_impl
    def on_pipeline_error(
        self, error: Exception, run_params: dict[str, Any], pipeline: Any, catalog: Any
    ) -> None:
        """Keep the reports written so far (they say what failed); end the run as FAILED."""
        if self._run_id is None:
            return
        _tracking().unbind_run()
        try:
            self._log_reports()
        except Exception as logging_error:  # the pipeline's error matters more
            logger.warning("MLflow could not keep the reports of the failed run: %s", logging_error)
        self._kedro_mlflow.on_pipeline_error(error, run_params, pipeline, catalog)
        logger.info("MLflow run %s ended as FAILED; nothing was registered.", self._run_id)
        self._reset_run()

    # ------------------------------------------------------------------ helpers
    def _tracked(self) -> bool:
        return self._context is not None and self._settings is not None and self._settings.enabled

    def _seed_store(self) -> bool:
        """A new SQLite store: a copy of an empty one, not MLflow's 69 migrations again.

        Returns:
            Whether a new store was made from the cache (said in the run's one tracking line).
        """
        seeded = False
        for uri in mlflow_store.configured_uris(self._context.config_loader):
            seeded |= mlflow_store.seed_sqlite_store(uri, Path.cwd())
        return seeded

    def _mlflow_hook(self) -> Any:
        if self._kedro_mlflow is None:
            module = lazy_kedro_mlflow.quiet_import(lazy_kedro_mlflow.HOOK_MODULE)
            self._kedro_mlflow = module.MlflowHook()
        return self._kedro_mlflow

    def _log_params(self, pipeline: Any) -> None:
        from mlflow.entities import Param  # noqa: PLC0415

        settings = self._settings
        params, skipped = run_record.flatten_params(
            self._context.config_loader["parameters"],
            settings.param_blocks,
            settings.max_param_length,
        )
        if skipped:
            logger.info(
                "Not logged to MLflow (longer than %d characters): %s",
                settings.max_param_length,
                ", ".join(skipped),
            )
        data_path = self._data_path()
        if settings.data_dataset in pipeline.datasets() and data_path and data_path.is_file():
            params.update(run_record.data_file_params(data_path))
        params.update(run_record.git_params(Path(self._context.project_path)))
        entries = [Param(key, value) for key, value in sorted(params.items())]
        for start in range(0, len(entries), _MLFLOW_BATCH):
            self._client.log_batch(self._run_id, params=entries[start : start + _MLFLOW_BATCH])

    def _data_path(self) -> Path | None:
        entry = self._context.config_loader["catalog"].get(self._settings.data_dataset) or {}
        filepath = entry.get("filepath")
        if not filepath or "://" in str(filepath):
            return None
        path = Path(filepath)
        return path if path.is_absolute() else Path(self._context.project_path) / path

    def _log_metrics(self, metrics: dict[str, float]) -> None:
        from mlflow.entities import Metric  # noqa: PLC0415

        now = int(time.time() * 1000)
        entries = [Metric(key, value, now, 0) for key, value in sorted(metrics.items())]
        self._client.log_batch(self._run_id, metrics=entries)

    def _written(self, folder: str, patterns: tuple[str, ...]) -> list[Path]:
        """Files under ``folder`` matching ``patterns`` that this run wrote (by mtime)."""
        root = Path(self._context.project_path) / folder
        found = {path for pattern in patterns for path in root.glob(pattern)}
        return sorted(
            path
            for path in found
            if path.is_file()
            and not path.name.startswith(".")
            and path.stat().st_mtime >= self._started
        )

    def _log_reports(self) -> None:
        for path in self._written(self._settings.reports_dir, ("*",)):
            self._client.log_artifact(self._run_id, str(path), "reports")

    def _log_models(self) -> None:
        registry = self._settings.registry
        passed = bool(self._validation_passed) and all(self._validation_passed.values())
        written = self._written(self._settings.models_dir, self._settings.onnx_models)
        for path in written:
            name = registry.name_for(path.name) if passed else None
            _tracking().log_onnx_model(path, registered_model_name=name, since=self._started)
        if registry.name and registry.file not in {path.name for path in written}:
            logger.info("Not registered: this run did not publish %s.", registry.file)
        elif registry.name and not passed:
            logger.info("Not registered: no validation report of this run says it passed.")
