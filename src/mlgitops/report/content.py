"""The report's content: everything a reviewer needs, read from one evidence run into a `Report` record.

`build(run, project_dir)` reads the records; the markdown is rendered from the Report alone, so
`report.json` holds exactly what `report.md` shows and renders it again.
Budgets and enforcement come from the config.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mlgitops.errors import BadInput
from mlgitops.evidence import (
    BASE_RUN,
    DataReport,
    Evaluation,
    Findings,
    MonitorReport,
    Plan,
    PlanChanges,
    Report,
    Run,
    StepStatus,
    TrainingRecord,
    Verdict,
    root,
)
from mlgitops.evidence.records import (
    ChangeSummary,
    MlflowLink,
    PlanSummary,
    ReportEnvironment,
    ReportModel,
    ReportStatus,
    ReportVerdict,
)


def _ordered(first: list[str], found: list[str]) -> list[str]:
    """Names in config order, then any other ones that left evidence."""
    return [*[n for n in first if n in found], *[n for n in found if n not in first]]


def mlflow_link(training: TrainingRecord) -> MlflowLink:
    """Where the training run lives; a browsable URL when the tracking store is a server."""
    from mlgitops.secrets import mask_uri

    uri, exp, run = mask_uri(training.tracking_uri or ""), training.experiment_id, training.run_id
    url = (
        f"{uri.rstrip('/')}/#/experiments/{exp}/runs/{run}"
        if uri.startswith(("http://", "https://")) and exp and run
        else None
    )
    return MlflowLink(tracking_uri=uri, experiment_id=exp, run_id=run, model_uri=training.model_uri, url=url)


def _model(run: Run, name: str) -> ReportModel:
    training = run.training(name)
    return ReportModel(
        name=name,
        training=training,
        evaluation=run.evaluation(name),
        chart=f"evaluation/{name}.png" if run.chart(name).is_file() else None,
        mlflow=mlflow_link(training) if training else None,
    )


def base_plan_path(base: Path, env: str) -> Path | None:
    """The base branch's plan of `env`: `<base>/plan/<env>.json` (an evidence run) or `<base>/<env>.json`."""
    for path in (Run(base).path(Plan, env), base / f"{env}.json"):
        if path.is_file():
            return path
    return None


def changes_against(plan: Plan, base: Path, project_root: Path) -> PlanChanges:
    """The diff of `plan` against the base branch's plan of its stack (every resource is new without one)."""
    from mlgitops.plan import PLAN_FIX, diff

    against = base_plan_path(base, plan.stack)
    old = Plan.load(against, PLAN_FIX) if against else Plan(stack=plan.stack, project=plan.project)
    shown = (
        (against.relative_to(project_root) if against.is_relative_to(project_root) else against) if against else None
    )
    return PlanChanges(env=plan.stack, against=str(shown) if shown else None, changes=diff(old, plan))


def _changes(run: Run, env: str, plan: Plan | None, project_dir: Path | None) -> ChangeSummary | None:
    """What the pipeline's plan step recorded; else (plans made one by one) the diff against the base branch's plans."""
    doc = run.changes(env)
    if doc is None and plan is not None:
        project_root = Path(project_dir or run.dir).resolve()
        doc = changes_against(plan, root(project_root) / BASE_RUN, project_root)
    if doc is None:
        return None
    return ChangeSummary(against=doc.against, counts=doc.counts(), items=doc.changes)


def _serving(project_dir: Path | None, env: str) -> dict[str, str]:
    """What deploy/<env>.yaml serves now (model -> version): a report rendered after `promote` shows the promotion."""
    from mlgitops.evidence.state import read

    if project_dir is None:
        return {}
    try:
        return {m: e.version or e.digest for m, e in read(Path(project_dir), env).models.items()}
    except BadInput:  # a broken deploy file is for `promote`/`drift` to report; the PR report still renders
        return {}


def _environment(run: Run, env: str, settings: dict[str, Any], project_dir: Path | None) -> ReportEnvironment:
    from mlgitops.plan import render_mermaid

    plan = run.plan(env)
    serving = _serving(project_dir, env)
    # The plan was made before any later promotion: its "nothing promoted yet" is stale once deploy/<env>.yaml serves the model.
    notes = (
        [
            n
            for n in plan.notes
            if not any(n.startswith(f"no endpoint for {m} in {env}: nothing promoted yet") for m in serving)
        ]
        if plan
        else []
    )
    return ReportEnvironment(
        env=env,
        **settings,
        serving=serving,
        plan=PlanSummary(resources=len(plan.resources), notes=notes) if plan else None,
        changes=_changes(run, env, plan, project_dir),
        mermaid=render_mermaid(plan) if plan and plan.resources else None,
        findings=run.findings(env),
    )


def _settings(project_dir: Path | None) -> tuple[str | None, dict[str, dict[str, Any]], list[str], list[str]]:
    """(project, per-env policy settings, model names, dataset names) from the config, when there is one."""
    if project_dir is None or not (Path(project_dir) / "mlgitops.yaml").is_file():
        return None, {}, [], []
    from mlgitops.config import load

    try:
        base = load(project_dir)
    except BadInput:  # a run stopped by a bad config still gets its report (the failed config step says why)
        return None, {}, [], []
    settings = {}
    for env in base.env_names:
        p = load(project_dir, env).policies
        settings[env] = {"enforcement": p.enforcement, "budget_usd_month": p.budget_usd_month}
    return base.project, settings, list(base.models), list(base.datasets)


def build(run: Run, project_dir: Path | None = None) -> Report:
    """The report of one evidence run."""
    if not run.dir.is_dir():
        raise BadInput(
            f"{run.dir}: no such evidence folder; run `mlgitops pipeline pr` (or pass --evidence .mlgitops/evidence/<run-id>)"
        )
    project, settings, models, datasets = _settings(project_dir)
    pipeline = run.pipeline()
    trained = sorted({*run.names(TrainingRecord), *run.names(Evaluation)})
    envs = _ordered(list(settings), sorted({*run.names(Plan), *run.names(Findings)}))
    data = [run.data(d) for d in _ordered(datasets, run.names(DataReport))]
    report = Report(
        project=project,
        run_id=run.name,
        target_env=pipeline.env if pipeline else None,
        steps=[s for s in (pipeline.steps if pipeline else []) if s.name != "report"],  # not done while it is written
        log="logs/pipeline.log" if run.log.is_file() else None,
        datasets=[d for d in data if d is not None],
        models=[_model(run, m) for m in _ordered(models, trained) or models],
        environments=[
            _environment(run, e, settings.get(e, {"enforcement": None, "budget_usd_month": None}), project_dir)
            for e in envs
        ],
        monitoring=[m for m in (run.monitor(n) for n in _ordered(models, run.names(MonitorReport))) if m is not None],
        verdict=ReportVerdict(status=ReportStatus.INCOMPLETE),
    )
    if not (report.datasets or trained or envs or report.steps or report.monitoring):
        raise BadInput(f"{run.dir}: no evidence in this folder; run `mlgitops pipeline pr` first")
    report.verdict = verdict(report)
    return report


def verdict(report: Report) -> ReportVerdict:
    """pass, fail (with every reason) or incomplete (nothing failed, but evidence is missing)."""
    reasons: list[str] = []
    for d in report.datasets:
        if not d.success:
            names = ", ".join(f.expectation + (f" [{f.column}]" if f.column else "") for f in d.failures)
            reasons.append(f"data gate failed on `{d.dataset}`: {names}")
    for m in report.models:
        ev = m.evaluation
        if ev and ev.verdict != Verdict.PASS:
            reasons.append(f"`{m.name}` v{ev.candidate.version} failed evaluation: " + "; ".join(ev.reasons))
    for e in report.environments:
        f = e.findings
        if f and f.blocked:
            reasons.append(f"{f.summary['mandatory']} mandatory policy finding(s) in `{e.env}`")
    for s in report.steps:
        # bad input anywhere, and failures no other evidence explains (a gate's own no is listed above)
        if s.status == StepStatus.ERROR or (
            s.status == StepStatus.FAILED and s.name in ("config", "train", "plan", "report")
        ):
            reasons.append(f"step {s.name} {s.status}: {s.summary.splitlines()[0] if s.summary else ''}")
    missing = [f"evaluation of `{m.name}`" for m in report.models if not m.evaluation]
    not_run = [s.name for s in report.steps if s.status == StepStatus.NOT_RUN]
    if not_run:
        missing.append(f"steps not run: {', '.join(not_run)}")
    missing += [f"policy check of `{e.env}`" for e in report.environments if not e.findings]
    status = ReportStatus.FAIL if reasons else ReportStatus.INCOMPLETE if missing else ReportStatus.PASS
    return ReportVerdict(status=status, reasons=reasons, missing=missing)


def default_run(project_dir: Path) -> Run:
    """`$MLGITOPS_RUN_ID`'s run, else the newest one (never the base branch's plans)."""
    run = Run.latest(project_dir)
    if run is None:
        raise BadInput(f"{root(project_dir)}: no evidence yet; run `mlgitops pipeline pr` first")
    return run
