"""New SQLite MLflow stores are copies of one empty store MLflow migrated (mlflow_store)."""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

import pytest
from kedro.config import OmegaConfigLoader

from lstm_forecast.integrations import mlflow_store

ROOT = Path(__file__).resolve().parents[2]


def _fake_template(cache: Path) -> Path:
    """A stand-in empty store in ``cache`` (one table), named as empty_store() names it."""
    import mlflow

    template = cache / "lstm-forecast" / f"mlflow-{mlflow.__version__}-empty.db"
    template.parent.mkdir(parents=True)
    with sqlite3.connect(template) as db:
        db.execute("CREATE TABLE alembic_version (version_num TEXT)")
    return template


@pytest.mark.parametrize(
    ("uri", "expected"),
    [
        ("sqlite:///mlruns/mlflow.db", "work/mlruns/mlflow.db"),
        ("sqlite:////abs/store.db", "/abs/store.db"),
        ("sqlite:///mlruns/m.db?timeout=5", "work/mlruns/m.db"),
        ("sqlite:///:memory:", None),
        ("sqlite://", None),
        ("file:///tmp/mlruns", None),
        ("http://127.0.0.1:5000", None),
    ],
)
def test_only_a_sqlite_file_is_seeded(uri: str, expected: str | None):
    path = mlflow_store.sqlite_path(uri, Path("work"))
    assert (str(path) if path else None) == expected


def test_a_missing_store_is_a_copy_of_the_cached_empty_one(tmp_path, monkeypatch):
    monkeypatch.setenv(mlflow_store.CACHE_ENV, str(tmp_path / "cache"))
    template = _fake_template(tmp_path / "cache")
    assert mlflow_store.seed_sqlite_store("sqlite:///mlruns/mlflow.db", tmp_path)
    store = tmp_path / "mlruns/mlflow.db"
    assert store.read_bytes() == template.read_bytes()
    assert [p.name for p in store.parent.iterdir()] == ["mlflow.db"]  # no staged copy left


def test_an_existing_store_is_never_replaced(tmp_path, monkeypatch):
    monkeypatch.setenv(mlflow_store.CACHE_ENV, str(tmp_path / "cache"))
    _fake_template(tmp_path / "cache")
    store = tmp_path / "mlflow.db"
    store.write_bytes(b"runs of last week")
    assert not mlflow_store.seed_sqlite_store("sqlite:///mlflow.db", tmp_path)
    assert store.read_bytes() == b"runs of last week"


def test_an_unwritable_cache_leaves_the_store_to_mlflow(tmp_path, monkeypatch):
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("")
    monkeypatch.setenv(mlflow_store.CACHE_ENV, str(blocked))
    assert not mlflow_store.seed_sqlite_store("sqlite:///mlflow.db", tmp_path)
    assert not (tmp_path / "mlflow.db").exists()


def test_the_project_store_uri_is_read_from_mlflow_yml(monkeypatch):
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    loader = OmegaConfigLoader(str(ROOT / "conf"), base_env="base", default_run_env="local")
    assert mlflow_store.configured_uris(loader) == ["sqlite:///mlruns/mlflow.db"]


def _unordered(statement: str) -> str:
    parts = (part.strip().rstrip(",").strip() for part in statement.split("\n"))
    return "\n".join(sorted(parts))


@pytest.mark.e2e  # MLflow migrates a store from scratch for the comparison: 5-10 s
def test_a_seeded_store_is_the_store_mlflow_makes(tmp_path):
    import mlflow

    def schema_and_rows(store: Path) -> list[str]:
        client = mlflow.MlflowClient(f"sqlite:///{store}")
        client.create_experiment("lstm-forecast", artifact_location="mlruns/artifacts")
        with sqlite3.connect(store) as db:
            lines = list(db.iterdump())
        # Creation times differ; the order of indexes, and of the constraints inside a
        # CREATE TABLE, differs between two stores MLflow makes itself too (it follows the
        # process's hash seed), so each statement is compared as the set of its lines.
        return sorted(_unordered(re.sub(r"\b\d{13}\b", "<ms>", line)) for line in lines)

    assert mlflow_store.seed_sqlite_store("sqlite:///seeded/mlflow.db", tmp_path)
    seeded = schema_and_rows(tmp_path / "seeded/mlflow.db")
    assert seeded == schema_and_rows(tmp_path / "mlflow-made.db")
    assert any("alembic_version" in line for line in seeded)
