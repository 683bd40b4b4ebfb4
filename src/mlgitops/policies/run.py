"""What `mlgitops policy check` does: one environment's config + a Plan + evidence -> Findings written to the run dir."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from mlgitops.errors import BadInput
from mlgitops.gitops.desired import read
from mlgitops.policies.engine import Findings, check


def check_project(project_dir: Path, env: str, plan: Any | None, evidence_dir: Path | None = None,
                  sarif: Path | None = None) -> tuple[Findings, list[Path]]:
    """Findings for `env`; written to `<run_dir>/findings/<env>.json` (and `sarif`). Nothing is written on bad input."""
    from mlgitops.config import load
    from mlgitops.evidence import atomic_write, run_dir, write_json
    from mlgitops.policies.output import to_sarif

    config = load(project_dir, env)
    if evidence_dir is not None and not evidence_dir.is_dir():
        raise BadInput(f"{evidence_dir}: no such evidence folder; pass a run folder such as .mlgitops/evidence/local")
    if sarif is not None and sarif.is_dir():
        raise BadInput(f"--sarif {sarif}: is a directory; pass a file path such as findings.sarif")
    findings = check(config, plan, evidence_dir, read(project_dir, "staging") if evidence_dir is not None else None)
    written = [write_json(run_dir(project_dir) / "findings" / f"{env}.json", findings.to_dict())]
    if sarif is not None:
        import json

        written.append(atomic_write(sarif, json.dumps(to_sarif(findings), indent=2) + "\n"))
    return findings, written
