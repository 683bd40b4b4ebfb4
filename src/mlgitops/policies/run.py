"""What `mlgitops policy check` does: one environment's config + a Plan + evidence -> Findings written to the run dir."""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from mlgitops.errors import BadInput
from mlgitops.evidence import Findings, Plan, Run
from mlgitops.policies.engine import check

if TYPE_CHECKING:
    from mlgitops.config import Config


def evidence_run(folder: Path | None) -> Run | None:
    """The run folder `--evidence` names; BadInput when there is none."""
    if folder is None:
        return None
    if not Path(folder).is_dir():
        raise BadInput(f"--evidence {folder}: no such evidence folder; pass a run folder such as .mlgitops/evidence/local")
    return Run(Path(folder))


def check_project(config: "Config", plan: Plan | None, evidence: Run | None = None, sarif: Path | None = None) -> tuple[Findings, list[Path]]:
    """Findings for `config.env`, written to this run's evidence (and `sarif`). Input is checked before anything is written."""
    import json

    from mlgitops.evidence import atomic_write
    from mlgitops.policies.output import to_sarif

    if sarif is not None and sarif.is_dir():
        raise BadInput(f"--sarif {sarif}: is a directory; pass a file path such as findings.sarif")
    run = Run.current(config.root)
    findings = check(config, plan, evidence)
    written = [run.write(findings)]
    if sarif is not None:
        written.append(atomic_write(sarif, json.dumps(to_sarif(findings), indent=2) + "\n"))
    return findings, written
