"""What `mlgitops policy check` does: one environment's config + a Plan + evidence -> Findings written to the run dir."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from mlgitops.errors import BadInput
from mlgitops.gitops.desired import read
from mlgitops.policies.engine import Findings, check


def check_project(project_dir: Path, env: str, plan: Any | None, evidence_dir: Path | None = None,
                  sarif: Path | None = None) -> tuple[Findings, list[Path]]:
    """Findings for `env`; written to `<run_dir>/findings/<env>.json` (and `sarif`). Nothing is written on bad input.

    A plan without a project (`--program DIR` or `--plan` outside one) is checked with the default settings, as a
    CrossGuard pack checks any program; the findings say so in a note and stay out of the (absent) evidence folder."""
    from mlgitops.config import FILENAME, load
    from mlgitops.evidence import atomic_write, run_dir, write_json
    from mlgitops.policies.output import to_sarif

    in_project = (project_dir / FILENAME).is_file()
    if not in_project and plan is not None:
        if evidence_dir is not None:
            raise BadInput(f"--evidence needs the project's {FILENAME} (the promotion rules read its models); none in {project_dir}")
        config = defaults(env, plan.project, project_dir)
    else:
        config = load(project_dir, env)
    if evidence_dir is not None and not evidence_dir.is_dir():
        raise BadInput(f"{evidence_dir}: no such evidence folder; pass a run folder such as .mlgitops/evidence/local")
    if sarif is not None and sarif.is_dir():
        raise BadInput(f"--sarif {sarif}: is a directory; pass a file path such as findings.sarif")
    findings = check(config, plan, evidence_dir, read(project_dir, "staging") if evidence_dir is not None else None)
    written = []
    if in_project:
        written.append(write_json(run_dir(project_dir) / "findings" / f"{env}.json", findings.to_dict()))
    else:
        findings.notes.append(f"no {FILENAME} in {project_dir}: checked with the default settings (environment {env}, advisory "
                              "enforcement; the aws-api-* rules are mandatory everywhere); findings not saved to an evidence folder")
    if sarif is not None:
        import json

        written.append(atomic_write(sarif, json.dumps(to_sarif(findings), indent=2) + "\n"))
    return findings, written


def defaults(env: str, program: str, root: Path) -> Any:
    """The default config for a program outside any project: named after the Pulumi project, nothing declared."""
    import re

    from mlgitops.config import Config

    slug = re.sub(r"[^a-z0-9]+", "-", program.lower()).strip("-")[:40].strip("-")
    config = Config.model_validate({"project": slug if len(slug) >= 2 and slug[0].isalpha() else "program", "owner": "unknown"})
    config._env, config._root = env, root
    return config
