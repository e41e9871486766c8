"""Every model kind the stages can train, export, validate and report, behind one registry.

A kind is a module with a ``KIND`` object implementing ``models.base.ModelKind``. Stages
ask the registry by name and never import a kind directly, so adding a model is one new
module, one line in ``_REGISTRY`` and its parameters. Kinds load lazily: asking for the
torch-free ``ridge`` never imports torch.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

from lstm_forecast.integrations.node_binding import bind

from .base import ModelKind, TrainedModel, TrainingData

__all__ = [
    "ModelKind",
    "TrainedModel",
    "TrainingData",
    "for_kind",
    "get",
    "names",
    "register",
    "unregister",
]

# name -> "module:attribute" of its ModelKind. Order = order of namespaces and reports.
_REGISTRY: dict[str, str | ModelKind] = {
    "lstm": "lstm_forecast.models.lstm:KIND",
    "ridge": "lstm_forecast.models.ridge:KIND",
}


def names() -> list[str]:
    """Registered model kinds, in registry order."""
    return list(_REGISTRY)


def get(name: str) -> ModelKind:
    """The model kind called ``name``.

    Raises:
        KeyError: Naming the registered kinds when ``name`` is not one.
    """
    if name not in _REGISTRY:
        raise KeyError(f"No model kind {name!r}; registered kinds: {names()}.")
    entry = _REGISTRY[name]
    if isinstance(entry, str):
        module, attribute = entry.split(":")
        entry = getattr(importlib.import_module(module), attribute)
        _REGISTRY[name] = entry
    return entry


def register(name: str, kind: str | ModelKind) -> None:
    """Add a model kind (a ``ModelKind`` or its ``"module:attribute"`` path)."""
    _REGISTRY[name] = kind


def unregister(name: str) -> None:
    """Remove a model kind (for tests that register one of their own)."""
    _REGISTRY.pop(name, None)


def for_kind(func: Callable[..., Any], kind: str) -> Callable[..., Any]:
    """A stage's generic node function bound to one model kind (its ``kind`` argument)."""
    return bind(func, kind=kind)
