"""The MLflow tracking store every capability shares: one lock for a local SQLite file, one experiment per project."""
from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any, Iterator


def sqlite_path(tracking_uri: str) -> Path | None:
    """The database file of a `sqlite:///` tracking URI, else None (a server needs no lock)."""
    return Path(tracking_uri.removeprefix("sqlite:///")) if tracking_uri.startswith("sqlite:///") else None


@contextlib.contextmanager
def store_lock(tracking_uri: str, timeout: float = 600) -> Iterator[None]:
    """Hold `<db>.lock` while using a local SQLite store; no-op for a tracking server."""
    db = sqlite_path(tracking_uri)
    if db is None:
        yield
        return
    from filelock import FileLock

    db.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(db) + ".lock", timeout=timeout):
        yield


def ensure_experiment(config: Any) -> str:
    """Experiment per project, artifacts under `config.artifact_location()`."""
    import mlflow

    exp = mlflow.get_experiment_by_name(config.project)
    if exp is None:
        return mlflow.create_experiment(config.project, artifact_location=config.artifact_location(), tags={"mlgitops.project": config.project})
    return exp.experiment_id
