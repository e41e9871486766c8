"""The import layers of docs/architecture.md hold (import-linter, as `make lint` runs it)."""

from __future__ import annotations

import sys
from pathlib import Path

from tests.conftest import PROJECT_ROOT, run_command


def test_every_import_linter_contract_is_kept():
    result = run_command(
        [str(Path(sys.executable).parent / "lint-imports"), "--no-cache"], PROJECT_ROOT, check=False
    )
    # On failure the output names each broken contract and the import that breaks it.
    assert result.returncode == 0, result.stdout[-6000:]
    assert "0 broken" in result.stdout
