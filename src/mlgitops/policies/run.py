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


def check_project(config: "Config", plan: Plan | None, evidence: Run | None = None, sarif: Path | None = None,
                  in_project: bool = True) -> tuple[Findings, list[Path]]:
    """Findings for `config.env`, written to this run's evidence (and `sarif`). Input is checked before anything is written.

    A plan without a project (`--program DIR` or `--plan` outside one) is checked with the `defaults`, as a CrossGuard
    pack checks any program; the findings say so in a note and stay out of the (absent) evidence folder."""
    import json

    from mlgitops.config import FILENAME
    from mlgitops.evidence import atomic_write
    from mlgitops.policies.output import to_sarif

    if sarif is not None and sarif.is_dir():
        raise BadInput(f"--sarif {sarif}: is a directory; pass a file path such as findings.sarif")
    findings = check(config, plan, evidence)
    written = []
    if in_project:
        written.append(Run.current(config.root).write(findings))
    else:
        findings.notes.append(f"no {FILENAME} in {config.root}: checked with the default settings (environment {config.env}, advisory "
                              "enforcement; the aws-api-* rules are mandatory everywhere); findings not saved to an evidence folder")
    if sarif is not None:
        written.append(atomic_write(sarif, json.dumps(to_sarif(findings), indent=2) + "\n"))
    return findings, written


def defaults(env: str, program: str, root: Path) -> "Config":
    """The default config for a program outside any project: named after the Pulumi project, nothing declared."""
    import re

    from mlgitops.config import Config

    slug = re.sub(r"[^a-z0-9]+", "-", program.lower()).strip("-")[:40].strip("-")
    config = Config.model_validate({"project": slug if len(slug) >= 2 and slug[0].isalpha() else "program", "owner": "unknown"})
    config._env, config._root = env, root
    return config
