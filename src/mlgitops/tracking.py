"""The MLflow tracking store every capability shares: one lock for a local SQLite file, one experiment per project."""
from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any, Iterator


def sqlite_path(tracking_uri: str) -> Path | None:
    """The database file of a `sqlite:///` tracking URI, else None (a server needs no lock)."""
    return Path(tracking_uri.removeprefix("sqlite:///")) if tracking_uri.startswith("sqlite:///") else None


@contextlib.contextmanager
def store_lock(tracking_uri: str, timeout: float = 600) -> Iterator[None]:
    """Hold `<db>.lock` while using a local SQLite store (a new one starts as a copy of `empty_store()`);
    no-op for a tracking server."""
    db = sqlite_path(tracking_uri)
    if db is None:
        yield
        return
    from filelock import FileLock

    db.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(db) + ".lock", timeout=timeout):
        if not db.exists():
            with contextlib.suppress(Exception):  # an optimisation only: MLflow creates the store itself otherwise
                shutil.copyfile(empty_store(), db)
        yield


def empty_store() -> Path:
    """An empty store made by this MLflow version, cached per user: MLflow builds a new SQLite store by
    replaying its schema migrations (about 2 s); a new project's store starts as a copy of this one."""
    import mlflow
    from mlflow.store.db.utils import _initialize_tables
    from sqlalchemy import create_engine

    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "mlgitops"
    seed = cache / f"mlflow-{mlflow.__version__}-empty.db"
    if not seed.is_file():
        cache.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=cache, suffix=".db.tmp")
        os.close(fd)
        try:
            engine = create_engine(f"sqlite:///{tmp}")
            _initialize_tables(engine)  # tables at the current schema head; the default experiment is made on first use
            engine.dispose()
            os.replace(tmp, seed)
        finally:
            Path(tmp).unlink(missing_ok=True)
    return seed


def ensure_experiment(config: Any) -> str:
    """Experiment per project, artifacts under `config.artifact_location()`."""
    import mlflow

    exp = mlflow.get_experiment_by_name(config.project)
    if exp is None:
        return mlflow.create_experiment(config.project, artifact_location=config.artifact_location(), tags={"mlgitops.project": config.project})
    return exp.experiment_id
