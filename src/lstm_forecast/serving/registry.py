"""The served forecasters: found in ``data/06_models``, checked, and swapped in atomically.

A ``Catalogue`` is an immutable snapshot (models by kind and variant, plus the files
refused and why). The ``Registry`` holds the current one and replaces it as a whole, so a
request that took a model keeps its session to the end while new requests see the new
snapshot. A file that fails to load or to validate never replaces the one being served.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .loading import FileSignature, LoadedForecaster, Refused, load_forecaster, parse_name

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Catalogue:
    """One consistent view of what is served: never mutated, only replaced."""

    models: dict[tuple[str, str], LoadedForecaster] = field(default_factory=dict)
    refused: dict[str, Refused] = field(default_factory=dict)
    loaded_at: str = ""

    def ordered(self) -> Iterator[LoadedForecaster]:
        """Models by kind (lstm first), then fp32, opt, int8."""
        order = {"fp32": 0, "opt": 1, "int8": 2}
        yield from sorted(
            self.models.values(),
            key=lambda m: (m.kind != "lstm", m.kind, order.get(m.variant, 9)),
        )


class Registry:
    """The current catalogue of one models folder, and the lock that serialises reloads."""

    def __init__(self, models_dir: Path, reporting_dir: Path, threads: int) -> None:
        self.models_dir = models_dir
        self.reporting_dir = reporting_dir
        self.threads = threads
        self._catalogue = Catalogue()
        self._reload_lock = threading.Lock()

    @property
    def catalogue(self) -> Catalogue:
        """The snapshot to serve from (one attribute read: atomic under the GIL)."""
        return self._catalogue

    def reload(self) -> dict[str, list[str]]:
        """Look at the folder again; load what changed, keep what did not.

        Returns:
            ``loaded``, ``unchanged``, ``removed`` and ``refused`` file names.
        """
        with self._reload_lock:
            old = self._catalogue
            by_name = {m.signature.name: m for m in old.models.values()}
            models: dict[tuple[str, str], LoadedForecaster] = {}
            refused: dict[str, Refused] = {}
            report: dict[str, list[str]] = {"loaded": [], "unchanged": [], "refused": []}
            for path in sorted(self.models_dir.glob("*.onnx")):
                if parse_name(path.name) is None:
                    continue  # model.onnx, ridge.onnx, ...: networks alone, not forecasters
                signature = FileSignature.of(path)
                current = by_name.get(path.name)
                if current is not None and current.signature == signature:
                    models[(current.kind, current.variant)] = current
                    report["unchanged"].append(path.name)
                    continue
                outcome = load_forecaster(path, signature, self.reporting_dir, self.threads)
                if isinstance(outcome, Refused):
                    refused[path.name] = outcome
                    report["refused"].append(path.name)
                    if current is not None:
                        # The file being served stays served: a bad publish never replaces it.
                        models[(current.kind, current.variant)] = current
                    logger.warning("Refused %s: %s", path.name, outcome.reason)
                    continue
                models[(outcome.kind, outcome.variant)] = outcome
                report["loaded"].append(path.name)
                logger.info(
                    "Serving %s (%s %s, %s).",
                    path.name,
                    outcome.kind,
                    outcome.variant,
                    outcome.fingerprint[:12],
                )
            report["removed"] = sorted(set(by_name) - {m.signature.name for m in models.values()})
            self._catalogue = Catalogue(models, refused, datetime.now(UTC).isoformat())
            return report

    def changed(self) -> bool:
        """Whether the forecaster files differ from those last looked at (cheap: stat only)."""
        seen = {m.signature for m in self._catalogue.models.values()}
        seen |= {r.signature for r in self._catalogue.refused.values()}
        now = {FileSignature.of(p) for p in self.models_dir.glob("*.onnx") if parse_name(p.name)}
        return now != seen


class Watcher:
    """A daemon thread that reloads the registry when the folder changed (polling)."""

    def __init__(self, registry: Registry, every_s: float) -> None:
        self.registry = registry
        self.every_s = every_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="model-watcher", daemon=True)

    def start(self) -> None:
        if self.every_s > 0:
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=10)

    def _loop(self) -> None:
        while not self._stop.wait(self.every_s):
            try:
                if self.registry.changed():
                    self.registry.reload()
            except Exception:  # a watcher that dies would silently stop hot swaps
                logger.exception(
                    "Reloading %s failed; still serving the previous models.",
                    self.registry.models_dir,
                )


def summary(model: LoadedForecaster) -> dict[str, Any]:
    """The identity an answer carries: enough to know exactly which file produced it."""
    return model.identity
