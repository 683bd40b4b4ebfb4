"""What `mlgitops policy check` does: one environment's config + a Plan + evidence -> Findings written to the run dir."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from mlgitops.errors import BadInput
from mlgitops.evidence import Findings, Plan, PlanChanges, Run
from mlgitops.policies.engine import check

if TYPE_CHECKING:
    from mlgitops.config import Project
    from mlgitops.policies.output import PolicyCheck


def policy_check(
    root: Path,
    env: str,
    plan: Path | None = None,
    program: Path | None = None,
    evidence: Path | None = None,
    against: Path | None = None,
    sarif: Path | None = None,
) -> PolicyCheck:
    """What `mlgitops policy check` does: plan `env` (or read `plan`, or plan `program`), compare it with the base
    plan, check it and the `evidence` run against every rule, write the findings. Every input is checked before
    planning, which writes plan/<env>.json: a refusal writes nothing."""
    from mlgitops.config import FILENAME, load
    from mlgitops.plan import PLAN_FIX, plan_directory
    from mlgitops.policies.output import PolicyCheck
    from mlgitops.policies.promotion import load_evidence

    if plan is not None and program is not None:
        raise BadInput("--plan and --program are alternatives; pass one of them")
    in_project = (root / FILENAME).is_file() or (plan is None and program is None)
    run = evidence_run(evidence)
    if run is not None and not in_project:
        raise BadInput(
            f"--evidence needs the project's {FILENAME} (the promotion rules read its models); none in {root}"
        )
    config = load(root, env) if in_project else None
    if run is not None and config is not None:
        load_evidence(run, config)  # unreadable evidence is refused too
    if sarif is not None and sarif.is_dir():
        raise BadInput(f"--sarif {sarif}: is a directory; pass a file path such as findings.sarif")
    base = base_plan(against, env, root)
    the_plan = Plan.load(plan, PLAN_FIX) if plan is not None else plan_directory(root, env, program)[0]
    # outside a project, any program is checked as a CrossGuard pack would check it: with the default settings
    findings, written = check_project(
        config or defaults(env, the_plan.project, root), the_plan, run, sarif, in_project, changes_from(base, the_plan)
    )
    return PolicyCheck(findings, written)


def evidence_run(folder: Path | None) -> Run | None:
    """The run folder `--evidence` names; BadInput when there is none."""
    if folder is None:
        return None
    if not Path(folder).is_dir():
        raise BadInput(
            f"--evidence {folder}: no such evidence folder; pass a run folder such as .mlgitops/evidence/local"
        )
    return Run(Path(folder))


def base_plan(against: Path | None, env: str, project_dir: Path) -> tuple[Path, Plan] | None:
    """The plan of `env` that the change rules compare with: `against` (a Plan JSON or an evidence run holding
    plan/<env>.json), else the base branch's plans that CI fetches; None when there is no base. Read before
    anything is planned or written, so a bad one writes nothing."""
    from mlgitops.plan import PLAN_FIX
    from mlgitops.report.content import base_plan_path

    if against is not None and not against.exists():
        raise BadInput(
            f"--against {against}: no such file or folder; pass the base branch's plan JSON or its evidence run"
        )
    path = (
        against
        if against is not None and against.is_file()
        else base_plan_path(against or Run.base(project_dir).dir, env)
    )
    if path is None and against is not None:
        raise BadInput(f"--against {against}: holds no plan/{env}.json; pass the base branch's plan of {env}")
    return None if path is None else (path, Plan.load(path, PLAN_FIX))


def changes_from(base: tuple[Path, Plan] | None, plan: Plan) -> PlanChanges | None:
    from mlgitops.plan import diff

    return None if base is None else PlanChanges(env=plan.stack, against=str(base[0]), changes=diff(base[1], plan))


def check_project(
    config: Project,
    plan: Plan | None,
    evidence: Run | None = None,
    sarif: Path | None = None,
    in_project: bool = True,
    changes: PlanChanges | None = None,
) -> tuple[Findings, list[Path]]:
    """Findings for `config.env`, written to this run's evidence (and `sarif`). Input is checked before anything is written.

    A plan without a project (`--program DIR` or `--plan` outside one) is checked with the `defaults`, as a CrossGuard
    pack checks any program; the findings say so in a note and stay out of the (absent) evidence folder."""
    import json

    from mlgitops.config import FILENAME
    from mlgitops.evidence import atomic_write
    from mlgitops.policies.output import to_sarif

    if sarif is not None and sarif.is_dir():
        raise BadInput(f"--sarif {sarif}: is a directory; pass a file path such as findings.sarif")
    findings = check(config, plan, evidence, changes=changes)
    written = []
    if in_project:
        written.append(Run.current(config.root).write(findings))
    else:
        findings.notes.append(
            f"no {FILENAME} in {config.root}: checked with the default settings (environment {config.env}, advisory "
            "enforcement; the aws-api-* rules are mandatory everywhere); findings not saved to an evidence folder"
        )
    if sarif is not None:
        written.append(atomic_write(sarif, json.dumps(to_sarif(findings), indent=2) + "\n"))
    return findings, written


def defaults(env: str, program: str, root: Path) -> Project:
    """The default config for a program outside any project: named after the Pulumi project, nothing declared."""
    import re

    from mlgitops.config import Config, Project

    slug = re.sub(r"[^a-z0-9]+", "-", program.lower()).strip("-")[:40].strip("-")
    config = Config.model_validate(
        {"project": slug if len(slug) >= 2 and slug[0].isalpha() else "program", "owner": "unknown"}
    )
    return Project.of(config, root, env)
