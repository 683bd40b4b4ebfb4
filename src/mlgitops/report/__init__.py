"""The PR report: one markdown document (verdict first) and the same content as JSON, from an evidence run.

`build(run, project_dir)` reads the evidence into a `Report` record; `render(report)` turns it into markdown;
`write(report, run, out)` writes `report.md` and `report.json` into the run folder (and `out`).
"""

from __future__ import annotations

import os
from pathlib import Path

from mlgitops.evidence import Report, Run
from mlgitops.report.content import build, default_run, verdict
from mlgitops.report.markdown import render

__all__ = ["build", "default_run", "make_report", "render", "verdict", "write"]


def write(report: Report, run: Run, out: Path | None = None) -> tuple[Path, Path]:
    """`<run>/report.md` and `<run>/report.json`, plus `out` with its links pointing back into the run folder."""
    from mlgitops.errors import BadInput
    from mlgitops.evidence import atomic_write

    if out is not None and Path(out).is_dir():
        raise BadInput(f"--out {out}: is a directory; pass a file path such as report.md")
    md = atomic_write(run.report_md, render(report))
    js = run.write(report)
    if out is not None:
        out = Path(out)
        rel = os.path.relpath(run.dir.resolve(), out.resolve().parent).replace(os.sep, "/")
        atomic_write(out, render(report, "" if rel == "." else rel + "/"))
    return md, js


def make_report(project_dir: Path, evidence: Path | None = None, out: Path | None = None) -> Report:
    """What `mlgitops report` does: the report of the `evidence` run (default: `default_run`), written into the run
    folder as report.md and report.json, and to `out`."""
    run = Run(evidence) if evidence else default_run(project_dir)
    report = build(run, project_dir)
    write(report, run, out)
    return report
