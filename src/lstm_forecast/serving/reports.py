"""The metrics headline of each model kind, read from ``forecast_metrics.json`` when it changes."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

from .loading import FileSignature


class Reports:
    """Cached reads of the reporting stage's metrics."""

    def __init__(self, reporting_dir: Path) -> None:
        self.path = reporting_dir / "forecast_metrics.json"
        self._cached: tuple[FileSignature, dict[str, Any]] | None = None
        self._lock = threading.Lock()

    def metrics(self) -> dict[str, Any]:
        """The whole metrics file, or ``{}`` where the reporting stage has not run."""
        try:
            signature = FileSignature.of(self.path)
        except FileNotFoundError:
            return {}
        with self._lock:
            if self._cached is None or self._cached[0] != signature:
                try:
                    self._cached = (signature, json.loads(self.path.read_text()))
                except (OSError, ValueError):
                    return {}
            return self._cached[1]

    def headline(self, kind: str) -> dict[str, float]:
        """``<kind>_*`` entries of the headline (CRPS skill vs baselines, coverage, ...)."""
        headline = self.metrics().get("headline", {})
        prefix = f"{kind}_"
        return {
            key[len(prefix) :]: value for key, value in headline.items() if key.startswith(prefix)
        }

    def test_period(self) -> Any:
        return self.metrics().get("test_period")
