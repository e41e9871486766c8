"""A new SQLite MLflow store in milliseconds: a copy of an empty one MLflow migrated once.

MLflow creates a new SQLite store by running every alembic migration in its history (69 in
MLflow 3.17) on the empty file: 5-13 s on two cores, the largest cost of a first tracked
run that is not the work, and of every test or benchmark that runs in a fresh copy of the
project. The result depends only on MLflow's version: the schema and the alembic revision,
no experiment, no path (MLflow adds its Default experiment, with this store's artefact root,
when it first opens the file, as it does on a store it migrated itself).

``seed_sqlite_store`` keeps one such empty store per MLflow version in the user's cache
(``$XDG_CACHE_HOME/lstm-forecast``, else ``~/.cache/lstm-forecast``; made by MLflow's own
``_initialize_tables`` the first time) and copies it to a tracking URI's file that does not
exist yet. Any other URI, an existing file, or a cache that cannot be written: MLflow
creates the store as it always does.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from kedro.config import MissingConfigException

logger = logging.getLogger(__name__)

_SQLITE = "sqlite:///"
CACHE_ENV = "XDG_CACHE_HOME"
# kedro-mlflow's config patterns for mlflow.yml (its hook registers the same ones).
MLFLOW_PATTERNS = ["mlflow*", "mlflow*/**", "**/mlflow*"]


def cache_dir() -> Path:
    """Where the empty stores are kept."""
    root = os.environ.get(CACHE_ENV) or str(Path.home() / ".cache")
    return Path(root) / "lstm-forecast"


def sqlite_path(tracking_uri: str, cwd: Path) -> Path | None:
    """The file behind a ``sqlite:///`` URI (relative to ``cwd``, as SQLAlchemy reads it)."""
    if not tracking_uri.startswith(_SQLITE):
        return None
    path = tracking_uri.removeprefix(_SQLITE).split("?", 1)[0]
    if path in ("", ":memory:"):
        return None
    return cwd / path  # an absolute path stays itself


def empty_store() -> Path:
    """This MLflow version's empty, fully migrated store: made once, then read from the cache."""
    import mlflow  # noqa: PLC0415 - only tracked runs import MLflow
    from mlflow.store.db import utils  # noqa: PLC0415

    template = cache_dir() / f"mlflow-{mlflow.__version__}-empty.db"
    if template.is_file():
        return template
    template.parent.mkdir(parents=True, exist_ok=True)
    handle, building = tempfile.mkstemp(dir=template.parent, prefix=".building-", suffix=".db")
    os.close(handle)
    try:
        Path(building).unlink()  # SQLite makes the file; the name only has to be unique
        engine = utils.create_sqlalchemy_engine(f"{_SQLITE}{building}")
        try:
            utils._initialize_tables(engine)  # MLflow's own creation: the schema, every migration
        finally:
            engine.dispose()
        os.replace(building, template)  # another process making it too: either copy is whole
    finally:
        Path(building).unlink(missing_ok=True)
    logger.info("Kept an empty MLflow %s store for new stores: %s", mlflow.__version__, template)
    return template


def seed_sqlite_store(tracking_uri: str, cwd: Path) -> bool:
    """Copy the empty store to ``tracking_uri``'s file if that file does not exist yet.

    Returns whether it did. Never replaces a file: the copy is linked into place, which
    fails if another process created the store meanwhile.
    """
    target = sqlite_path(tracking_uri, cwd)
    if target is None or target.exists():
        return False
    try:
        template = empty_store()
        target.parent.mkdir(parents=True, exist_ok=True)
        handle, staged = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
        os.close(handle)
        try:
            shutil.copyfile(template, staged)
            os.link(staged, target)
        finally:
            Path(staged).unlink(missing_ok=True)
    except FileExistsError:
        return False
    except OSError as error:  # a read-only cache or a filesystem without links
        logger.info("MLflow will create its store itself (%s).", error)
        return False
    return True


def configured_uris(config_loader: Any) -> list[str]:
    """The tracking and registry URIs ``mlflow.yml`` names, read as kedro-mlflow reads them."""
    config_loader.config_patterns.setdefault("mlflow", MLFLOW_PATTERNS)
    try:
        server = config_loader["mlflow"].get("server") or {}
    except MissingConfigException:
        server = {}
    # kedro-mlflow's default when mlflow.yml names none: MLFLOW_TRACKING_URI, else mlruns/.
    tracking = server.get("mlflow_tracking_uri") or os.environ.get("MLFLOW_TRACKING_URI", "")
    return [str(uri) for uri in (tracking, server.get("mlflow_registry_uri")) if uri]
