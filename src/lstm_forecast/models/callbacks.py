"""Extra Lightning callbacks for the fits started inside a block, and Optuna's pruning one.

A caller that is not a stage of its own (the tuning stage's objective) adds callbacks to
the LSTM kind's fit without a new argument on every kind's ``fit``::

    with extra_callbacks(pruning_callback(trial)):
        models.get("lstm").fit(data, params)

Only fits in this process see them (not ``ddp_spawn`` workers). Torch-free at import.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

_EXTRA: ContextVar[tuple[Any, ...]] = ContextVar("lstm_forecast_extra_callbacks", default=())


@contextmanager
def extra_callbacks(*callbacks: Any) -> Iterator[None]:
    """Hand ``callbacks`` to every Lightning fit started inside the block."""
    token = _EXTRA.set(_EXTRA.get() + callbacks)
    try:
        yield
    finally:
        _EXTRA.reset(token)


def current() -> list[Any]:
    """The callbacks added by the enclosing ``extra_callbacks`` blocks, outermost first."""
    return list(_EXTRA.get())


def pruning_callback(trial: Any, monitor: str = "val_loss") -> Any:
    """``optuna_integration.PyTorchLightningPruningCallback`` for this project's Trainer.

    The integration subclasses ``lightning.pytorch.Callback`` (the ``lightning`` package);
    this project trains with ``pytorch_lightning``, whose Trainer would not call a callback
    of the other package. The subclass below is both, so the Trainer calls its
    ``on_validation_end``: it reports ``monitor`` each epoch and raises ``TrialPruned``
    out of ``Trainer.fit`` when the pruner says so.
    """
    import pytorch_lightning as pl  # noqa: PLC0415 - torch only when tuning
    from optuna_integration import PyTorchLightningPruningCallback  # noqa: PLC0415

    class ProjectPruningCallback(PyTorchLightningPruningCallback, pl.Callback):
        """Optuna's pruning callback, as a ``pytorch_lightning`` callback."""

    return ProjectPruningCallback(trial, monitor=monitor)
