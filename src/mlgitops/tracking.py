"""The MLflow tracking store every capability shares: one lock for a local SQLite file, one experiment per project."""

from __future__ import annotations

import contextlib
import os
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mlgitops.config import Project


def sqlite_path(tracking_uri: str) -> Path | None:
    """The database file of a `sqlite:///` tracking URI, else None (a server needs no lock)."""
    return Path(tracking_uri.removeprefix("sqlite:///")) if tracking_uri.startswith("sqlite:///") else None


# An empty store at MLflow's schema head, as SQL: MLflow builds a new SQLite store by replaying its schema
# migrations (about 2 s). Regenerate with scripts/gen_mlflow_store.py when the MLflow pin changes.
STORE_SQL = Path(__file__).with_name("mlflow_store.sql")


def store_header(mlflow_version: str) -> str:
    return f"-- an empty MLflow {mlflow_version} tracking store (scripts/gen_mlflow_store.py)"


@contextlib.contextmanager
def store_lock(tracking_uri: str, timeout: float = 600) -> Iterator[None]:
    """Hold `<db>.lock` while using a local SQLite store (a new one is made from STORE_SQL); no-op for a tracking server."""
    db = sqlite_path(tracking_uri)
    if db is None:
        yield
        return
    from filelock import FileLock

    db.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(db) + ".lock", timeout=timeout):
        if not db.exists():
            seed(db)
        yield


def seed(db: Path) -> bool:
    """Create `db` from STORE_SQL if it was made by the installed MLflow; otherwise (or on any error) leave
    it to MLflow, which builds the store itself. The file appears whole or not at all."""
    from importlib.metadata import version

    tmp = db.with_name(db.name + ".seed")
    try:
        header, sql = STORE_SQL.read_text().split("\n", 1)
        if header != store_header(version("mlflow")):
            return False
        with contextlib.closing(sqlite3.connect(tmp)) as con:
            con.executescript(sql)
        os.replace(tmp, db)
        return True
    except Exception:  # an optimisation only
        return False
    finally:
        tmp.unlink(missing_ok=True)


def ensure_experiment(config: Project) -> str:
    """Experiment per project, artifacts under `config.artifact_location()`."""
    import mlflow

    exp = mlflow.get_experiment_by_name(config.project)
    if exp is None:
        return mlflow.create_experiment(
            config.project, artifact_location=config.artifact_location(), tags={"mlgitops.project": config.project}
        )
    return exp.experiment_id
