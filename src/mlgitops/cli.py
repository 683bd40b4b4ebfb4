"""The `mlgitops` command line: parses, calls one function, prints, sets the exit code.

Exit codes: 0 success, 1 a gate or policy said no, 2 bad input. Heavy libraries are imported inside
the commands, never here, so `mlgitops --help` stays fast.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, Optional

import typer

from mlgitops.errors import BadInput, GateFailed

app = typer.Typer(
    help="GitOps for machine learning: versioned config, data gates, tracked training, policy checks, promotion by commit.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
config_app = typer.Typer(help="Check, show and export the project config.", no_args_is_help=True)
app.add_typer(config_app, name="config")

ProjectOpt = typer.Option(None, "--project", help="Project directory (default: current directory).")
JsonOpt = typer.Option(False, "--json", help="Print one JSON document on stdout and nothing else there.")
EnvOpt = typer.Option("local", "--env", help="Environment (local, or one declared under environments:).")


def _print_version(value: bool) -> None:
    if value:
        from mlgitops.suite import version

        print(f"mlgitops {version()}")
        raise typer.Exit()


@app.callback()
def _root(ctx: typer.Context, project: Optional[Path] = ProjectOpt,
          _version: bool = typer.Option(False, "--version", is_eager=True, callback=_print_version,
                                        help="Print the version (from the git tag it was built from) and exit.")) -> None:
    ctx.obj = {"project": (project or Path.cwd()).resolve()}


def project_dir(ctx: typer.Context) -> Path:
    return ctx.find_root().obj["project"]


def _config(ctx: typer.Context, env: str) -> Any:
    from mlgitops.config import load

    return load(project_dir(ctx), env)


def emit_json(obj: Any) -> None:
    from mlgitops.secrets import mask_secrets

    sys.stdout.write(json.dumps(mask_secrets(json.loads(json.dumps(obj, default=str))), indent=2, sort_keys=True) + "\n")


def err(message: str) -> None:
    from rich.console import Console

    from mlgitops.secrets import mask_uri

    Console(stderr=True, highlight=False, soft_wrap=True, emoji=False).print(mask_uri(message), markup=False)  # `pkg.mod:train:` is no emoji


# --- config -------------------------------------------------------------------------------------


@config_app.command("check")
def config_check(ctx: typer.Context, as_json: bool = JsonOpt) -> None:
    """Validate mlgitops.yaml and every environment overlay."""
    from mlgitops.config import check

    envs = check(project_dir(ctx))
    if as_json:
        emit_json({"valid": True, "environments": envs})
    else:
        print(f"mlgitops.yaml is valid ({', '.join(envs)})")


@config_app.command("show")
def config_show(ctx: typer.Context, env: str = EnvOpt, as_json: bool = JsonOpt) -> None:
    """Print the fully resolved config of one environment (overlays applied)."""
    from mlgitops.config import load, resolved

    data = resolved(load(project_dir(ctx), env))
    if as_json:
        emit_json(data)
    else:
        import yaml

        print(yaml.safe_dump(data, sort_keys=False), end="")


@config_app.command("schema")
def config_schema(out: Optional[Path] = typer.Option(None, "--out", help="Write to this file instead of stdout.")) -> None:
    """Print the JSON Schema of mlgitops.yaml (for yaml-language-server and editors)."""
    from mlgitops.config import json_schema
    from mlgitops.evidence import atomic_write

    text = json.dumps(json_schema(), indent=2) + "\n"
    if out:
        atomic_write(out, text)
    else:
        sys.stdout.write(text)


# --- plan ---------------------------------------------------------------------------------------


@app.command("plan")
def plan_cmd(
    ctx: typer.Context,
    env: str = EnvOpt,
    program: Optional[Path] = typer.Option(None, "--program", help="Plan this Pulumi Python program dir (Pulumi.yaml + __main__.py) instead of the project's stack."),
    out: Optional[Path] = typer.Option(None, "--out", help="Also write the Plan JSON here."),
    against: Optional[Path] = typer.Option(None, "--against", help="Print the changes from this older Plan JSON."),
    mermaid: bool = typer.Option(False, "--mermaid", help="Also print a mermaid diagram (for PR comments)."),
    as_json: bool = JsonOpt,
) -> None:
    """Offline plan under Pulumi's mock engine: what `pulumi up --stack ENV` would declare, no cloud needed.

    Values AWS would refuse are printed as warnings (exit 0 still): `policy check` is the gate."""
    from mlgitops.aws_api import check_plan
    from mlgitops.plan import PLAN_FIX, diff, plan_directory, render_diff, render_mermaid, render_table

    old = None
    if against is not None:
        from mlgitops.plan import Plan

        old = Plan.load(against, PLAN_FIX)
    plan, written = plan_directory(project_dir(ctx), env, program, out)
    changes = diff(old, plan) if old is not None else None
    refused = check_plan(plan)  # warnings here, so the plan can still be reviewed; `policy check` fails on them
    if as_json:
        doc = {"plan": plan.to_dict(), "written": [str(p) for p in written], "warnings": [w.to_dict() for w in refused]}
        if changes is not None:
            doc["changes"] = [c.to_dict() for c in changes]
        emit_json(doc)
        return
    print(render_table(plan), end="")
    if changes is not None:
        print()
        print(render_diff(changes), end="")
    if mermaid:
        print()
        print(render_mermaid(plan), end="")
    for path in written:
        err(f"plan written to {path}")
    for w in refused:
        err(f"warning: {w.family}: {w.resource}: {w.message}")
    if refused:
        err(f"warning: AWS would refuse {len(refused)} value(s) above; `mlgitops policy check` fails on them")


# --- gitops -------------------------------------------------------------------------------------

ModelOpt = typer.Option(None, "--model", help="Model name (default: every model in the config).")


def _print_promotions(results: list, as_json: bool) -> None:
    if as_json:
        emit_json({"promotions": [r.to_dict() for r in results]})
        return
    from mlgitops.package import short

    for r in results:
        if r.action == "noop":
            print(f"{r.model}: {r.env} is already serving {short(r.digest)}; nothing to promote" + (f" (committed {r.commit[:12]})" if r.commit else ""))
            continue
        was = f" (replaces {short(r.replaces)})" if r.replaces else ""
        print(f"{r.action}: {r.model} {short(r.digest)} -> {r.env}{was}; wrote {r.path}" + (f"; commit {r.commit[:12]}" if r.commit else ""))


@app.command("promote")
def promote_cmd(
    ctx: typer.Context,
    env: str = typer.Option(..., "--env", help="Target environment (prod takes only the model in deploy/staging.yaml)."),
    model: Optional[str] = ModelOpt,
    version: Optional[int] = typer.Option(None, "--version", help="A version of this tracking store's registry (default: the evaluated candidate; evidence is still required)."),
    digest: Optional[str] = typer.Option(None, "--digest", help="The model by identity, sha256:<hex> (as deploy/<env>.yaml records it)."),
    force: bool = typer.Option(False, "--force", help="Skip the evidence gates (recorded as forced: true); needs --version or --digest."),
    commit: bool = typer.Option(False, "--commit", help="git commit deploy/<env>.yaml with the evidence in the message."),
    as_json: bool = JsonOpt,
) -> None:
    """Upload the model's package, write deploy/<env>.yaml (atomic, compare-and-set), move the registry alias <env>."""
    from mlgitops.gitops import promote

    _print_promotions(promote(_config(ctx, env), model, version, digest=digest, force=force, commit=commit), as_json)


@app.command("rollback")
def rollback_cmd(
    ctx: typer.Context,
    env: str = typer.Option(..., "--env", help="Environment to roll back."),
    model: Optional[str] = ModelOpt,
    to: Optional[str] = typer.Option(None, "--to", help="Digest (or its first hex digits) or recorded version to go back to (default: the model the current one replaced)."),
    commit: bool = typer.Option(False, "--commit", help="git commit deploy/<env>.yaml."),
    as_json: bool = JsonOpt,
) -> None:
    """Back to the previously promoted model, read from the git history of deploy/<env>.yaml."""
    from mlgitops.gitops import rollback

    _print_promotions(rollback(_config(ctx, env), model, to, commit=commit), as_json)


@app.command("image")
def image_cmd(
    ctx: typer.Context,
    env: str = typer.Option(..., "--env", help="Environment whose promoted models to build images for."),
    model: Optional[str] = ModelOpt,
    context: Path = typer.Option(..., "--context", help="Directory for the build contexts, one per model (<dir>/<model>/)."),
    training: bool = typer.Option(False, "--training", help="The training image's context instead (<dir>/training/), for remote jobs."),
    as_json: bool = JsonOpt,
) -> None:
    """Write each promoted model's serving-image build context (or the training image's) and print the ECR
    repository and tag to push it as."""
    from mlgitops.image import contexts, training_context

    config = _config(ctx, env)
    built = [training_context(config, context)] if training else contexts(config, config.select_models(model), context)
    if as_json:
        emit_json({"env": env, "images": built})
    else:
        for b in built:
            print(f"{b['model'] or 'training'}: docker build -t {b['repository']}:{b['tag']} {b['context']}")


@app.command("drift")
def drift_cmd(
    ctx: typer.Context,
    env: str = typer.Option(..., "--env", help="Environment to check."),
    model: Optional[str] = ModelOpt,
    fix: bool = typer.Option(False, "--fix", help="Move each registry alias to the version holding the model in deploy/<env>.yaml."),
    as_json: bool = JsonOpt,
) -> None:
    """Where the registry alias <env> and deploy/<env>.yaml disagree (exit 1 when they do)."""
    from mlgitops.gitops import drift, fix_drift

    config = _config(ctx, env)
    results = fix_drift(config, model) if fix else drift(config, model)
    if as_json:
        emit_json({"env": env, "drift": [d.to_dict() for d in results], "drifted": any(d.drifted for d in results)})
    else:
        for d in results:
            alias = f"{(d.alias_digest or '-')[:19]} (v{d.alias_version})" if d.alias_version else "-"
            print(f"{d.model}: file {(d.file_digest or '-')[:19]} alias {alias}: {d.status}")
    if any(d.drifted for d in results):
        raise typer.Exit(1)


# --- serving ------------------------------------------------------------------------------------


@app.command("serve")
def serve_cmd(
    ctx: typer.Context,
    env: str = typer.Option(..., "--env", help="Serve the version in deploy/<env>.yaml."),
    model: Optional[str] = typer.Option(None, "--model", help="Model name (needed when the config has several)."),
    port: Optional[int] = typer.Option(None, "--port", help="Port on 127.0.0.1 (default: a free one)."),
    workers: int = typer.Option(1, "--workers", help="Scoring server worker processes."),
) -> None:
    """Serve the promoted version locally with MLflow's scoring server; Ctrl-C stops it."""
    from mlgitops.serving import check_port, served_version, start

    if port is not None:
        check_port(port)  # before anything else: a busy or impossible port is bad input, not a server traceback
    config = _config(ctx, env)
    name, entry, path = served_version(config, model)
    with start(path, config.tracking_uri(), port, workers=workers, quiet=False) as server:  # stopped even on an early Ctrl-C
        print(f"serving {name} {entry.digest[:19]} ({env}) at {server.url}/invocations", flush=True)
        server.wait()


@app.command("predict")
def predict_cmd(
    ctx: typer.Context,
    file: Path = typer.Argument(..., help="Rows to score: .csv, .json (records) or .parquet."),
    env: str = typer.Option(..., "--env", help="Environment whose promoted model to use."),
    model: Optional[str] = typer.Option(None, "--model", help="Model name (needed when the config has several)."),
    url: Optional[str] = typer.Option(None, "--url", help="A running server (`mlgitops serve`); default: start one for this call."),
    as_json: bool = JsonOpt,
) -> None:
    """Send rows to the scoring endpoint and print one prediction per row."""
    from mlgitops.serving import predict, read_rows, served_version, start

    config = _config(ctx, env)
    name, entry, path = served_version(config, model)
    rows = read_rows(file, drop=config.models[name].target)
    if url:
        preds = predict(url, rows)
    else:
        with start(path, config.tracking_uri()) as server:
            preds = predict(server.url, rows)
    if as_json:
        emit_json({"model": name, "digest": entry.digest, "version": entry.version, "predictions": preds})
    else:
        for p in preds:
            print(p)


# --- training and evaluation --------------------------------------------------------------------

@app.command("train")
def train_cmd(
    ctx: typer.Context,
    model: Optional[str] = ModelOpt,
    env: str = EnvOpt,
    backend: str = typer.Option("local", "--backend", help="local (this machine), sagemaker (a training job) or batch (an AWS Batch job) on ENV's stack."),
    wait: bool = typer.Option(True, "--wait/--no-wait", help="Remote: follow the job, then register its model (--no-wait prints the job and returns)."),
    attach: Optional[str] = typer.Option(None, "--attach", help="Wait for this remote job (its name, or its id for batch), then register its model."),
    in_container: bool = typer.Option(False, "--in-container", help="Inside the training image: fit on the job's channels and save the model into SM_MODEL_DIR."),
    as_json: bool = JsonOpt,
) -> None:
    """Train with the model's entry point in a tracked MLflow run and register a new version, here or on ENV's stack."""
    from mlgitops.evidence import TrainingBackend

    try:
        chosen = TrainingBackend(backend)
    except ValueError:
        raise BadInput(f"--backend {backend}: not a training backend; use one of {', '.join(b.value for b in TrainingBackend)}") from None
    if (attach or not wait) and chosen == TrainingBackend.LOCAL:
        raise BadInput("--attach and --no-wait are for remote jobs; pass --backend sagemaker or --backend batch")
    config = _config(ctx, env)
    try:
        if in_container:
            from mlgitops.training.container import run

            print(f"saved the model into {run(config, model)}")
            return
        if chosen == TrainingBackend.LOCAL:
            from mlgitops.training import train_all

            results = train_all(config, model)
        else:
            from mlgitops.training.remote import attach as attach_job, submit

            models = config.select_models(model)
            if attach and len(models) != 1:
                raise BadInput(f"--attach {attach}: name the job's model with --model ({', '.join(models)})")
            if attach:
                names = {models[0]: attach}
            else:
                submitted = [submit(config, m, chosen) for m in models]
                if not wait:
                    if as_json:
                        emit_json({"training": [job.to_dict() for job in submitted]})
                    for job in submitted if not as_json else []:
                        print(f"submitted {job.model}: {job.name}; later: mlgitops train --env {env} --backend {backend} "
                              f"--model {job.model} --attach {job.name}")
                    return
                names = {job.model: job.name for job in submitted}
            results = [attach_job(config, m, chosen, name) for m, name in names.items()]
    except GateFailed as exc:
        err(str(exc))
        raise typer.Exit(1) from None
    if as_json:
        emit_json({"training": [r.record.to_dict() for r in results]})
        return
    for r in results:
        where = f" by {r.record.backend.value} job {r.record.training_job_name}" if r.record.training_job_name else ""
        print(f"trained {r.model}{where}: run {r.run_id}, registered {r.record.model_uri}; evidence {r.evidence_path}")


@app.command("evaluate")
def evaluate_cmd(ctx: typer.Context, model: Optional[str] = ModelOpt, env: str = EnvOpt, as_json: bool = JsonOpt) -> None:
    """Score the candidate and the champion in deploy/<env>.yaml on the holdout; exit 1 when the candidate fails."""
    from mlgitops.evaluation import evaluate_all
    from mlgitops.evidence import Run

    config = _config(ctx, env)
    results = evaluate_all(config, model)
    if as_json:
        emit_json({"evaluations": [r.to_dict() for r in results]})
    else:
        for r in results:
            print(f"{r.verdict.upper()} {r.model} v{r.candidate.version}: {r.comparison}; chart {Run.current(config.root).chart(r.model)}")
            for line in [*r.reasons, *(f"note: {n}" for n in r.notes)]:
                print(f"  - {line}")
    if any(r.verdict != "pass" for r in results):
        raise typer.Exit(1)


# --- policies -----------------------------------------------------------------------------------

policy_app = typer.Typer(help="Policy checks: infrastructure rules (offline or CrossGuard) and promotion rules.", no_args_is_help=True)
app.add_typer(policy_app, name="policy")


@policy_app.command("check")
def policy_check_cmd(
    ctx: typer.Context,
    env: str = EnvOpt,
    plan: Optional[Path] = typer.Option(None, "--plan", help="Check this Plan JSON (from `mlgitops plan --out`)."),
    program: Optional[Path] = typer.Option(None, "--program", help="Plan and check this Pulumi Python program dir instead of the project's stack."),
    evidence: Optional[Path] = typer.Option(None, "--evidence", help="Also run the promotion rules over this evidence run folder."),
    against: Optional[Path] = typer.Option(None, "--against", help="The base branch's Plan JSON (or evidence run) for the change rules; default: .mlgitops/evidence/base when it holds this stack's plan."),
    sarif: Optional[Path] = typer.Option(None, "--sarif", help="Also write the findings as SARIF 2.1.0 (GitHub code scanning)."),
    as_json: bool = JsonOpt,
) -> None:
    """Check the environment's infrastructure plan (and a run's evidence) against every rule; exit 1 on a mandatory violation."""
    from mlgitops.config import FILENAME
    from mlgitops.plan import PLAN_FIX, Plan, plan_directory
    from mlgitops.policies.output import render_table
    from mlgitops.policies.promotion import load_evidence
    from mlgitops.policies.run import base_plan, changes_from, check_project, defaults, evidence_run

    if plan is not None and program is not None:
        raise BadInput("--plan and --program are alternatives; pass one of them")
    root = project_dir(ctx)
    # every input checked before planning, which writes plan/<env>.json: a refusal writes nothing
    in_project = (root / FILENAME).is_file() or (plan is None and program is None)
    run = evidence_run(evidence)
    if run is not None and not in_project:
        raise BadInput(f"--evidence needs the project's {FILENAME} (the promotion rules read its models); none in {root}")
    config = _config(ctx, env) if in_project else None
    if run is not None and config is not None:
        load_evidence(run, config)  # unreadable evidence is refused too
    if sarif is not None and sarif.is_dir():
        raise BadInput(f"--sarif {sarif}: is a directory; pass a file path such as findings.sarif")
    base = base_plan(against, env, root)
    the_plan = Plan.load(plan, PLAN_FIX) if plan is not None else plan_directory(root, env, program)[0]
    changes = changes_from(base, the_plan)
    # outside a project, any program is checked as a CrossGuard pack would check it: with the default settings
    findings, written = check_project(config or defaults(env, the_plan.project, root), the_plan, run, sarif, in_project, changes)
    if as_json:
        emit_json({**findings.to_dict(), "written": [str(p) for p in written]})
    else:
        print(render_table(findings))
    if findings.blocked:
        raise typer.Exit(1)


@policy_app.command("list")
def policy_list_cmd(as_json: bool = JsonOpt) -> None:
    """Every rule with its kind, default enforcement, severity and description."""
    from mlgitops.policies import all_rules

    rules = all_rules()
    if as_json:
        emit_json([{"name": r.name, "kind": r.kind, "module": r.module, "enforcement": r.enforcement, "severity": r.severity,
                    "types": list(r.types), "description": r.description} for r in rules.values()])
        return
    width = max(len(n) for n in rules)
    for r in rules.values():
        print(f"{r.name:<{width}}  {r.kind:<9}  {r.enforcement:<9}  {r.description}")
    print(f"{len(rules)} rules")


# --- data ---------------------------------------------------------------------------------------

data_app = typer.Typer(help="Data gate (Great Expectations): validate datasets against their suites, bootstrap suites.", no_args_is_help=True)
app.add_typer(data_app, name="data")


@data_app.command("validate")
def data_validate_cmd(
    ctx: typer.Context,
    dataset: Optional[list[str]] = typer.Option(None, "--dataset", help="Dataset name (repeatable; default: every dataset)."),
    docs: Optional[Path] = typer.Option(None, "--docs", help="Also build GX Data Docs HTML in this folder."),
    env: str = EnvOpt,
    as_json: bool = JsonOpt,
    verbose: bool = typer.Option(False, "--verbose", help="engine: spark: show Spark's own log lines (default: errors only)."),
) -> None:
    """Validate each dataset against its suite; exit 1 when a critical expectation fails."""
    from mlgitops.data import validate

    reports = validate(_config(ctx, env), dataset or None, docs, verbose=verbose)
    if as_json:
        emit_json({"datasets": [r.to_dict() for r in reports], "success": all(r.success for r in reports)})
    else:
        for r in reports:
            print(f"{'PASS' if r.success else 'FAIL'} {r.dataset}: {r.rows} rows, {len(r.results)} expectations, "
                  f"{len(r.failures)} critical failures, {len(r.warnings)} warnings (sha256 {r.digest[:12]})")
            for f in r.failures + r.warnings:
                col = f" [{f.column}]" if f.column else ""
                print(f"  {f.severity}: {f.expectation}{col}: unexpected {f.unexpected_count} "
                      f"({f.unexpected_percent}%) e.g. {f.partial_unexpected_list[:5]} observed {f.observed_value}")
    if not all(r.success for r in reports):
        raise typer.Exit(1)


@data_app.command("init-suite")
def data_init_suite_cmd(
    path: str = typer.Argument(..., help="Sample data: a .csv or .parquet file (local or s3://)."),
    out: Path = typer.Option(..., "--out", help="Write the starter suite JSON here."),
    as_json: bool = JsonOpt,
) -> None:
    """A starter GX 1.x suite from a data sample, for a human to review and edit."""
    from mlgitops.data import init_suite

    suite = init_suite(path, out)
    if as_json:
        emit_json(suite)
    else:
        print(f"wrote {out} ({len(suite['expectations'])} expectations); review ranges, sets and severities")


# --- scaffold -----------------------------------------------------------------------------------


@app.command("new")
def new_cmd(
    directory: Path = typer.Argument(..., help="Project directory to create (absent or empty); its name is the default project name."),
    no_input: bool = typer.Option(False, "--no-input", help="Do not prompt: the template's defaults plus --set answers."),
    sets: Optional[list[str]] = typer.Option(None, "--set", help="key=value answer to a prompt (repeatable), e.g. --set problem_type=regression."),
    no_git: bool = typer.Option(False, "--no-git", help="Do not make the project a git repository (default: git init and a first commit)."),
) -> None:
    """Scaffold a project from the template (cookiecutter): config, sample data, model, tests, infra, CI workflows; a git repository with a first commit."""
    from mlgitops.scaffold import git_init, new, parse_sets, work_tree_of

    path = new(directory, parse_sets(sets or []), no_input=no_input)
    note = ""
    if not no_git:
        outer = work_tree_of(path)
        if outer is not None:
            note = f" (inside the git work tree {outer}: not made a repository of its own)"
        else:
            note = " (git repository, first commit)" if git_init(path) else " (git not available: run `git init` yourself)"
    print(f"created {path}{note}\nnext: cd {path} && make setup && make test && make pipeline")


template_app = typer.Typer(help="Keep a scaffolded project in step with the template.", no_args_is_help=True)
app.add_typer(template_app, name="template")


@template_app.command("update")
def template_update_cmd(
    ctx: typer.Context,
    checkout: Optional[str] = typer.Option(None, "--checkout", help="Template git ref to update to (default: its newest commit)."),
) -> None:
    """Re-render the template with the project's recorded answers (.cruft.json) and merge the difference into the work tree."""
    from mlgitops.scaffold import update

    if not update(project_dir(ctx), checkout):
        raise typer.Exit(2)


# --- pipeline, report, demo ---------------------------------------------------------------------

pipeline_app = typer.Typer(help="The whole pipeline, locally, as CI runs it.", no_args_is_help=True)
app.add_typer(pipeline_app, name="pipeline")


@pipeline_app.command("pr")
def pipeline_pr_cmd(
    ctx: typer.Context,
    env: Optional[str] = typer.Option(None, "--env", help="Environment the candidate is evaluated against and checked for promotion to (default: staging when declared, else the first declared one, else local)."),
    base: Optional[Path] = typer.Option(None, "--base", help="The base branch's evidence run holding plan/<env>.json (default: .mlgitops/evidence/base when present)."),
    as_json: bool = JsonOpt,
) -> None:
    """config check -> data validate -> train -> evaluate -> plan (every env) -> policy check -> report; exit 1 when a gate says no."""
    from mlgitops.evidence import StepStatus
    from mlgitops.pipeline import ConsoleProgress, run_pr

    progress = None if as_json else ConsoleProgress()
    try:
        run = run_pr(project_dir(ctx), env, base, progress)
    finally:
        if progress is not None:
            progress.close()
    if as_json:
        emit_json(run.to_dict())
        for step in run.steps:  # without --json the progress line already said it
            if step.status == StepStatus.ERROR:
                err(step.summary)
    elif run.report:
        print(f"{run.verdict.upper()}: report {run.report}")
    if run.exit_code:
        raise typer.Exit(run.exit_code)


@app.command("report")
def report_cmd(
    ctx: typer.Context,
    evidence: Optional[Path] = typer.Option(None, "--evidence", help="Evidence run folder (default: $MLGITOPS_RUN_ID's, else the newest)."),
    out: Optional[Path] = typer.Option(None, "--out", help="Also write the markdown here (links point back into the run folder)."),
    as_json: bool = JsonOpt,
) -> None:
    """The PR report of a run: verdict, data gate, candidate vs champion, infrastructure changes, policy findings, cost, MLflow runs.

    Writes report.md and report.json into the run folder and prints the markdown (or, with --json, the JSON)."""
    from mlgitops.evidence import Run
    from mlgitops.report import build, default_run, render, write

    root = project_dir(ctx)
    run = Run(evidence) if evidence else default_run(root)
    report = build(run, root)
    write(report, run, out)
    if as_json:
        emit_json(report.to_dict())
    else:
        sys.stdout.write(render(report))


@app.command("demo")
def demo_cmd(directory: Optional[Path] = typer.Argument(None, help="New or empty directory for the sample project (default: a new temporary one).")) -> None:
    """Scaffold a sample project, run `pipeline pr`, promote to local, serve it on 127.0.0.1, score a few rows."""
    from mlgitops.demo import run_demo

    code = run_demo(directory)
    if code:
        raise typer.Exit(code)


def main() -> None:
    """Console entry: known errors become one readable message and their exit code."""
    try:
        app()
    except (BadInput, GateFailed) as exc:
        err(str(exc))
        _exit(exc.exit_code)
    except KeyboardInterrupt:
        err("interrupted")
        _exit(130)
    except SystemExit as exc:  # typer ends every command with sys.exit
        _exit(exc.code)
    _exit(0)


def _exit(code: Any) -> None:
    """Exit without tearing down every module: after GX, MLflow and pandas that takes 1-2 s. atexit handlers
    (logging, MLflow, temp-file finalizers) still run and the streams are flushed first (mypy does the same)."""
    import atexit
    import contextlib
    import os

    if isinstance(code, str):
        err(code)
    atexit._run_exitfuncs()
    with contextlib.suppress(OSError):  # a closed pipe (`mlgitops report | head`)
        sys.stdout.flush()
        sys.stderr.flush()
    os._exit(code if isinstance(code, int) else 0 if code is None else 1)
