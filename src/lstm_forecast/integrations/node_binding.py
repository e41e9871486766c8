"""Bind keyword-only arguments of a generic node function, keeping what Kedro reads."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any


def bind(func: Callable[..., Any], **keywords: Any) -> Callable[..., Any]:
    """``func`` with some keyword-only arguments fixed (e.g. ``kind="lstm"``, ``fold=2``).

    Unlike ``functools.partial``, the result keeps a plain signature and the type hints that
    Kedro reads to validate typed ``params:`` inputs before the run, and a readable name.
    """

    @functools.wraps(func)
    def bound(*args: Any, **kwargs: Any) -> Any:
        return func(*args, **keywords, **kwargs)

    signature = inspect.signature(func)
    bound.__signature__ = signature.replace(  # type: ignore[attr-defined]
        parameters=[p for p in signature.parameters.values() if p.name not in keywords]
    )
    bound.__name__ = "_".join([func.__name__, *(str(v) for v in keywords.values())])
    return bound
