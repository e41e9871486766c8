"""Experiment tracking helpers: the settings, the bound MLflow run, Lightning's MLflow logger,
and logging the published ONNX files.

Torch-free and MLflow-free at import: the Kedro hooks (``tracking_hooks``) bind the MLflow
run that kedro-mlflow started, and the training stage asks ``lightning_logger()`` for a
logger writing into that run; ``log_onnx_model`` imports MLflow when a tracked run logs its
models. What a run records (parameters, numbers, the input file, the commit) is plain
Python in ``run_record``.
"""

from __future__ import annotations

import functools
import hashlib
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import Field

from lstm_forecast.params import StrictParams

logger = logging.getLogger(__name__)


class RegistryParams(StrictParams):
    """Which published file goes into the MLflow model registry, and under which name."""

    name: str | None = "lstm-forecast"  # None: never register
    file: str = "model.onnx"
    # The product, registered beside the network (with its forecaster.json sidecar), so the
    # service can serve `models:/<forecaster_name>/<version>`.
    forecaster_name: str | None = "lstm-forecast-forecaster"
    forecaster_file: str = "forecaster.onnx"

    def name_for(self, file: str) -> str | None:
        """The registry name of a published file, or None when that file is not registered."""
        names = {self.file: self.name, self.forecaster_file: self.forecaster_name}
        return names.get(file)


class TrackingParams(StrictParams):
    """``params:tracking``: read by the hooks, not by a node (see parameters_tracking.yml)."""

    enabled: bool = True
    param_blocks: tuple[str, ...] = ("features", "training", "export", "validation", "reporting")
    max_param_length: int = Field(250, ge=1)
    data_dataset: str = "raw_candles"
    models_dir: str = "data/06_models"
    onnx_models: tuple[str, ...] = ("*.onnx",)
    reports_dir: str = "data/08_reporting"
    registry: RegistryParams = RegistryParams()


@dataclass
class _BoundRun:
    tracking_uri: str
    run_id: str
    fits: int = 0


_bound: _BoundRun | None = None


def bind_run(tracking_uri: str, run_id: str, fits: int = 0) -> None:
    """Make ``lightning_logger()`` write into this run (called by the hooks at run start).

    ``fits``: fits already logged into the run (by another process, see ``handoff``).
    """
    global _bound  # noqa: PLW0603 - one tracked run per process at a time, set by the hooks
    _bound = _BoundRun(tracking_uri, run_id, fits)


def handoff() -> tuple[str, str, int] | None:
    """The bound run for a process that fits on this one's behalf (a spawned DDP rank): the
    ``bind_run`` arguments that process needs, with this fit counted here, or None."""
    if _bound is None:
        return None
    _bound.fits += 1
    return _bound.tracking_uri, _bound.run_id, _bound.fits - 1


def bound_run() -> tuple[str, str, int] | None:
    """The bound run's ``(tracking_uri, run_id, fits)``, or None when no run is tracked."""
    return None if _bound is None else (_bound.tracking_uri, _bound.run_id, _bound.fits)


def unbind_run() -> None:
    """Stop handing out loggers (called by the hooks when the run ends, either way)."""
    global _bound  # noqa: PLW0603
    _bound = None


def lightning_logger(prefix: str | None = None) -> Any | None:
    """An ``MLFlowLogger`` writing into the tracked run, or None when no run is tracked.

    The logger logs metrics only: the hooks log the run's parameters (namespaced, once),
    and the hooks, not Lightning, end the run, so a node failing after training still
    leaves a FAILED run. A second fit in the same run (backtest folds) gets the prefix
    ``fit2-`` and so on, so its epochs do not interleave with the first fit's.

    Args:
        prefix: Metric-name prefix; None picks the one described above.

    Returns:
        A ``pytorch_lightning.loggers.MLFlowLogger``, or None.
    """
    run = _bound
    if run is None:
        return None
    run.fits += 1
    if prefix is None:
        prefix = "" if run.fits == 1 else f"fit{run.fits}"
    return _run_bound_logger_class()(
        tracking_uri=run.tracking_uri, run_id=run.run_id, prefix=prefix
    )


@functools.cache
def _run_bound_logger_class() -> type:
    from pytorch_lightning.loggers import MLFlowLogger  # noqa: PLC0415 - torch stays lazy

    class RunBoundMLFlowLogger(MLFlowLogger):
        """An ``MLFlowLogger`` for a run somebody else started and will end."""

        def log_hyperparams(self, params: Any, *args: Any, **kwargs: Any) -> None:
            # The hooks log the run's parameters with their block prefix; a second fit
            # with other hyperparameters would otherwise fail on MLflow's immutable params.
            pass

        def finalize(self, status: str = "success") -> None:
            # MLFlowLogger.finalize marks the run FINISHED; kedro-mlflow's hook ends it.
            pass

    return RunBoundMLFlowLogger


def model_name_for(path: Path) -> str:
    """An MLflow logged-model name for an ONNX file (``model.opt.onnx`` -> ``model_opt``)."""
    return path.name.removesuffix(".onnx").replace(".", "_")


def log_onnx_model(path: Path, registered_model_name: str | None, since: float) -> None:
    """Log one ONNX file with MLflow's ONNX flavour (its ``<stem>.json`` sidecar beside it)."""
    import mlflow.onnx  # noqa: PLC0415
    import onnx  # noqa: PLC0415

    model = onnx.load_model(str(path))
    sidecar = path.with_suffix(".json")
    extra = [str(sidecar)] if sidecar.is_file() and sidecar.stat().st_mtime >= since else None
    info = mlflow.onnx.log_model(
        model,
        name=model_name_for(path),
        signature=onnx_signature(model),
        extra_files=extra,
        # The project's contract: weights inside the one file.
        save_as_external_data=False,
        # onnx + onnxruntime, pinned; without it MLflow infers them by loading the model in
        # a subprocess, which took ~7 s per model.
        pip_requirements=mlflow.onnx.get_default_pip_requirements(),
        registered_model_name=registered_model_name,
        tags={"file": path.name, "sha256": hashlib.sha256(path.read_bytes()).hexdigest()},
    )
    if registered_model_name:
        logger.info(
            "Registered %s as model %r version %s.",
            path.name,
            registered_model_name,
            info.registered_model_version,
        )


def onnx_signature(model: Any) -> Any:
    """The model's inputs and outputs as an MLflow signature (symbolic axes become -1)."""
    from mlflow.models import ModelSignature  # noqa: PLC0415
    from mlflow.types import Schema, TensorSpec  # noqa: PLC0415
    from onnx.helper import tensor_dtype_to_np_dtype  # noqa: PLC0415

    def spec(value: Any) -> Any:
        tensor = value.type.tensor_type
        shape = tuple(d.dim_value if d.HasField("dim_value") else -1 for d in tensor.shape.dim)
        return TensorSpec(tensor_dtype_to_np_dtype(tensor.elem_type), shape, value.name)

    initializers = {init.name for init in model.graph.initializer}
    inputs = [spec(v) for v in model.graph.input if v.name not in initializers]
    return ModelSignature(Schema(inputs), Schema([spec(v) for v in model.graph.output]))
