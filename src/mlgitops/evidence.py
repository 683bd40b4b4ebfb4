"""The evidence folder of a pipeline run: `.mlgitops/evidence/<run-id>/`.

Every gate writes its result here as JSON; the report and promotion read it back. Files are written
atomically so a killed step never leaves half a document behind.

Layout: data/<dataset>.json, training/<model>.json, evaluation/<model>.json (+ .png),
plan/<env>.json, findings/<env>.json, report.md, report.json.
"""
from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

RUN_ID_ENV = "MLGITOPS_RUN_ID"
BASE_RUN = "base"  # the base branch's plans (plan/<env>.json), written there by the PR workflow


def root(project_dir: Path) -> Path:
    return project_dir / ".mlgitops" / "evidence"


def run_dir(project_dir: Path, run_id: str | None = None) -> Path:
    """The folder of the current run: `$MLGITOPS_RUN_ID`, else `local`; a run id is one safe folder name."""
    from mlgitops.confine import run_id as checked

    return root(project_dir) / checked(run_id or os.environ.get(RUN_ID_ENV) or "local", "run id" if run_id else RUN_ID_ENV)


def latest(project_dir: Path) -> Path | None:
    """The most recently written run folder, for commands that read evidence after the fact."""
    if os.environ.get(RUN_ID_ENV):
        return run_dir(project_dir)
    runs = [p for p in root(project_dir).glob("*") if p.is_dir() and p.name != BASE_RUN]
    return max(runs, key=lambda p: p.stat().st_mtime, default=None)


def atomic_write(path: Path, data: str | bytes) -> Path:
    """Write via a temp file in the same folder, fsync, rename: readers see the old or the new file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    raw = data.encode() if isinstance(data, str) else data
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(raw)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def write_json(path: Path, obj: Any) -> Path:
    return atomic_write(path, json.dumps(obj, indent=2, sort_keys=True, default=str) + "\n")


def read_json(path: Path) -> Any:
    return json.loads(path.read_text())
