"""The PR report: one markdown document (verdict first) and the same content as JSON, from an evidence run folder.

`build(run_dir, project_dir)` reads the evidence into plain data; `render(doc)` turns that data into markdown;
`write(doc, run_dir, out)` writes `report.md` and `report.json` into the run folder (and `out`).
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from mlgitops.report.content import build, default_run, verdict
from mlgitops.report.markdown import render

__all__ = ["build", "default_run", "render", "verdict", "write"]


def write(doc: dict[str, Any], run_dir: Path, out: Path | None = None) -> tuple[Path, Path]:
    """`<run>/report.md` and `<run>/report.json`, plus `out` with its links pointing back into the run folder."""
    from mlgitops.errors import BadInput
    from mlgitops.evidence import atomic_write

    if out is not None and Path(out).is_dir():
        raise BadInput(f"--out {out}: is a directory; pass a file path such as report.md")
    run_dir = Path(run_dir)
    md = atomic_write(run_dir / "report.md", render(doc))
    js = atomic_write(run_dir / "report.json", json.dumps(doc, indent=2, sort_keys=True) + "\n")
    if out is not None:
        out = Path(out)
        rel = os.path.relpath(run_dir.resolve(), out.resolve().parent).replace(os.sep, "/")
        atomic_write(out, render(doc, "" if rel == "." else rel + "/"))
    return md, js
