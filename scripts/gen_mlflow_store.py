"""Regenerate src/mlgitops/mlflow_store.sql, the empty MLflow store new local projects start from, with the
installed MLflow (run it after changing the MLflow pin; a test checks the file matches what MLflow builds)."""

import sqlite3
import tempfile
from importlib.metadata import version
from pathlib import Path

from mlflow.store.db.utils import _initialize_tables
from sqlalchemy import create_engine

from mlgitops.tracking import STORE_SQL, store_header

with tempfile.TemporaryDirectory() as tmp:
    db = Path(tmp) / "empty.db"
    engine = create_engine(f"sqlite:///{db}")
    _initialize_tables(engine)  # every migration replayed, as MLflow builds a new store
    engine.dispose()
    with sqlite3.connect(db) as con:
        dump = "\n".join(con.iterdump())
STORE_SQL.write_text(f"{store_header(version('mlflow'))}\n{dump}\n")
print(f"wrote {STORE_SQL}")
