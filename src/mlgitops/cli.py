"""The `mlgitops` command line: parses, calls one function, prints, sets the exit code.

Exit codes: 0 success, 1 a gate or policy said no, 2 bad input. Heavy libraries are imported inside
the commands, never here, so `mlgitops --help` stays fast.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Protocol, TypeVar

import typer

from mlgitops.errors import BadInput, GateFailed

if TYPE_CHECKING:
    from mlgitops.config import Project

app = typer.Typer(
    help="GitOps for machine learning: versioned config, data gates, tracked training, policy checks, promotion by commit.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
config_app = typer.Typer(help="Check, show and export the project config.", no_args_is_help=True)
app.add_typer(config_app, name="config")

ProjectOpt = Annotated[Path | None, typer.Option("--project", help="Project directory (default: current directory).")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON document on stdout and nothing else there.")]
EnvOpt = Annotated[str, typer.Option("--env", help="Environment (local, or one declared under environments:).")]


def _print_version(value: bool) -> None:
    if value:
        from mlgitops.suite import version

        print(f"mlgitops {version()}")
        raise typer.Exit()


@app.callback()
def _root(
    ctx: typer.Context,
    project: ProjectOpt = None,
    _version: Annotated[
        bool,
        typer.Option(
            "--version",
            is_eager=True,
            callback=_print_version,
            help="Print the version (from the git tag it was built from) and exit.",
        ),
    ] = False,
) -> None:
    ctx.obj = {"project": (project or Path.cwd()).resolve()}


def project_dir(ctx: typer.Context) -> Path:
    return ctx.find_root().obj["project"]


def _config(ctx: typer.Context, env: str) -> Project:
    from mlgitops.config import load

    return load(project_dir(ctx), env)


def emit_json(obj: Any) -> None:
    from mlgitops.secrets import mask_secrets

    sys.stdout.write(
        json.dumps(mask_secrets(json.loads(json.dumps(obj, default=str))), indent=2, sort_keys=True) + "\n"
    )


def err(message: str) -> None:
    from rich.console import Console

    from mlgitops.secrets import mask_uri

    Console(stderr=True, highlight=False, soft_wrap=True, emoji=False).print(
        mask_uri(message), markup=False
    )  # `pkg.mod:train:` is no emoji


class Result(Protocol):
    """A command's result: its `--json` document is `to_dict()`."""

    def to_dict(self) -> Any: ...


R = TypeVar("R", bound=Result)


def show(result: R, as_json: bool, text: Callable[[R], str], notes: Callable[[R], Iterable[str]] | None = None) -> None:
    """How every command prints its result: with --json the result's document alone on stdout; else its text for
    people on stdout, and its notes (files written, warnings) on stderr."""
    if as_json:
        emit_json(result.to_dict())
        return
    sys.stdout.write(text(result))
    for line in notes(result) if notes is not None else ():
        err(line)


# --- config -------------------------------------------------------------------------------------


@config_app.command("check")
def config_check(ctx: typer.Context, as_json: JsonOpt = False) -> None:
    """Validate mlgitops.yaml and every environment overlay."""
    from mlgitops.config import check, render_text

    show(check(project_dir(ctx)), as_json, render_text)


@config_app.command("show")
def config_show(ctx: typer.Context, env: EnvOpt = "local", as_json: JsonOpt = False) -> None:
    """Print the fully resolved config of one environment (overlays applied)."""
    from mlgitops.config import load, render_yaml, resolved

    show(resolved(load(project_dir(ctx), env)), as_json, render_yaml)


@config_app.command("schema")
def config_schema(
    out: Annotated[Path | None, typer.Option("--out", help="Write to this file instead of stdout.")] = None,
) -> None:
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
    env: EnvOpt = "local",
    program: Annotated[
        Path | None,
        typer.Option(
            "--program",
            help="Plan this Pulumi Python program dir (Pulumi.yaml + __main__.py) instead of the project's stack.",
        ),
    ] = None,
    out: Annotated[Path | None, typer.Option("--out", help="Also write the Plan JSON here.")] = None,
    against: Annotated[
        Path | None, typer.Option("--against", help="Print the changes from this older Plan JSON.")
    ] = None,
    mermaid: Annotated[bool, typer.Option("--mermaid", help="Also print a mermaid diagram (for PR comments).")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Offline plan under Pulumi's mock engine: what `pulumi up --stack ENV` would declare, no cloud needed.

    Values AWS would refuse are printed as warnings (exit 0 still): `policy check` is the gate."""
    from mlgitops.plan.review import notes, render_text, review

    show(review(project_dir(ctx), env, program, out, against), as_json, lambda r: render_text(r, mermaid), notes)


# --- gitops -------------------------------------------------------------------------------------

ModelOpt = Annotated[str | None, typer.Option("--model", help="Model name (default: every model in the config).")]


@app.command("promote")
def promote_cmd(
    ctx: typer.Context,
    env: Annotated[
        str, typer.Option("--env", help="Target environment (prod takes only the model in deploy/staging.yaml).")
    ],
    model: ModelOpt = None,
    version: Annotated[
        int | None,
        typer.Option(
            "--version",
            help="A version of this tracking store's registry (default: the evaluated candidate; evidence is still required).",
        ),
    ] = None,
    digest: Annotated[
        str | None,
        typer.Option("--digest", help="The model by identity, sha256:<hex> (as deploy/<env>.yaml records it)."),
    ] = None,
    force: Annotated[
        bool,
        typer.Option(
            "--force", help="Skip the evidence gates (recorded as forced: true); needs --version or --digest."
        ),
    ] = False,
    commit: Annotated[
        bool, typer.Option("--commit", help="git commit deploy/<env>.yaml with the evidence in the message.")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Upload the model's package, write deploy/<env>.yaml (atomic, compare-and-set), move the registry alias <env>."""
    from mlgitops.gitops import promote, render_promotions

    show(
        promote(_config(ctx, env), model, version, digest=digest, force=force, commit=commit),
        as_json,
        render_promotions,
    )


@app.command("rollback")
def rollback_cmd(
    ctx: typer.Context,
    env: Annotated[str, typer.Option("--env", help="Environment to roll back.")],
    model: ModelOpt = None,
    to: Annotated[
        str | None,
        typer.Option(
            "--to",
            help="Digest (or its first hex digits) or recorded version to go back to (default: the model the current one replaced).",
        ),
    ] = None,
    commit: Annotated[bool, typer.Option("--commit", help="git commit deploy/<env>.yaml.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Back to the previously promoted model, read from the git history of deploy/<env>.yaml."""
    from mlgitops.gitops import render_promotions, rollback

    show(rollback(_config(ctx, env), model, to, commit=commit), as_json, render_promotions)


@app.command("image")
def image_cmd(
    ctx: typer.Context,
    env: Annotated[str, typer.Option("--env", help="Environment whose promoted models to build images for.")],
    context: Annotated[
        Path, typer.Option("--context", help="Directory for the build contexts, one per model (<dir>/<model>/).")
    ],
    model: ModelOpt = None,
    training: Annotated[
        bool,
        typer.Option("--training", help="The training image's context instead (<dir>/training/), for remote jobs."),
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Write each promoted model's serving-image build context (or the training image's) and print the ECR
    repository and tag to push it as."""
    from mlgitops.image import build_contexts, render_text

    show(build_contexts(_config(ctx, env), model, context, training), as_json, render_text)


@app.command("drift")
def drift_cmd(
    ctx: typer.Context,
    env: Annotated[str, typer.Option("--env", help="Environment to check.")],
    model: ModelOpt = None,
    fix: Annotated[
        bool,
        typer.Option("--fix", help="Move each registry alias to the version holding the model in deploy/<env>.yaml."),
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Where the registry alias <env> and deploy/<env>.yaml disagree (exit 1 when they do)."""
    from mlgitops.gitops import check_drift, render_drift

    result = check_drift(_config(ctx, env), model, fix)
    show(result, as_json, render_drift)
    if result.drifted:
        raise typer.Exit(1)


# --- serving ------------------------------------------------------------------------------------


@app.command("serve")
def serve_cmd(
    ctx: typer.Context,
    env: Annotated[str, typer.Option("--env", help="Serve the version in deploy/<env>.yaml.")],
    model: Annotated[
        str | None, typer.Option("--model", help="Model name (needed when the config has several).")
    ] = None,
    port: Annotated[int | None, typer.Option("--port", help="Port on 127.0.0.1 (default: a free one).")] = None,
    workers: Annotated[int, typer.Option("--workers", help="Scoring server worker processes.")] = 1,
) -> None:
    """Serve the promoted version locally with MLflow's scoring server; Ctrl-C stops it."""
    from mlgitops.serving import capture_for, check_port, served_version, start

    if port is not None:
        check_port(port)  # before anything else: a busy or impossible port is bad input, not a server traceback
    config = _config(ctx, env)
    name, entry, path = served_version(config, model)
    folder, percent = capture_for(config, name)
    with start(
        path, config.tracking_uri(), port, workers=workers, quiet=False, capture=folder, sample_percent=percent
    ) as server:  # stopped even on an early Ctrl-C
        print(f"serving {name} {entry.digest[:19]} ({env}) at {server.url}/invocations", flush=True)
        if folder is not None:
            err(f"capturing {percent}% of requests into {folder} (`mlgitops monitor --env {env}` reads them)")
        server.wait()


@app.command("predict")
def predict_cmd(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="Rows to score: .csv, .json (records) or .parquet.")],
    env: Annotated[str, typer.Option("--env", help="Environment whose promoted model to use.")],
    model: Annotated[
        str | None, typer.Option("--model", help="Model name (needed when the config has several).")
    ] = None,
    url: Annotated[
        str | None, typer.Option("--url", help="A running server (`mlgitops serve`); default: start one for this call.")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Send rows to the scoring endpoint and print one prediction per row."""
    from mlgitops.serving import render_text, score

    show(score(_config(ctx, env), model, file, url), as_json, render_text)


@app.command("monitor")
def monitor_cmd(
    ctx: typer.Context,
    env: Annotated[
        str,
        typer.Option("--env", help="Environment whose endpoint's traffic to check (its model in deploy/<env>.yaml)."),
    ],
    model: Annotated[
        str | None, typer.Option("--model", help="Model name (needed when the config has several).")
    ] = None,
    since: Annotated[
        str | None,
        typer.Option(
            "--since",
            help="Window: a duration back from now (30m, 24h, 7d) or a UTC time; default since the model was promoted.",
        ),
    ] = None,
    capture: Annotated[
        str | None,
        typer.Option(
            "--capture",
            help="Captured data: a folder or an s3:// prefix holding YYYY/MM/DD/HH/*.jsonl (default: the endpoint's own).",
        ),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Drift of the served traffic against the model's training data: schema and ranges, per-feature PSI and tests,
    the predictions' shift, the primary metric once labels arrive. Exit 1 when something drifted."""
    from mlgitops.monitoring import monitor, render_text

    report = monitor(_config(ctx, env), model, since, capture)
    show(report, as_json, render_text)
    if report.drifted:
        raise typer.Exit(1)


@app.command("retrain")
def retrain_cmd(
    ctx: typer.Context,
    model: Annotated[str, typer.Option("--model", help="The model the monitor result is about.")],
    source: Annotated[Path, typer.Option("--from", help="What `mlgitops monitor --env ENV --json` printed (a file).")],
    day: Annotated[
        str | None,
        typer.Option(
            "--date", help="The day {date} in monitoring.retrain.path stands for, YYYY-MM-DD (default: today, UTC)."
        ),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """On drift, commit what monitoring.retrain says to change (the dataset's new path) on the branch
    mlgitops/retrain-<model>, reset to the current commit: the commit the monitor workflow's pull request carries."""
    import datetime as dt

    from mlgitops.monitoring.retrain import render_text, retrain

    try:
        today = dt.date.fromisoformat(day) if day else None
    except ValueError:
        raise BadInput(f"--date {day}: not a day; use YYYY-MM-DD") from None
    show(retrain(project_dir(ctx), source.resolve(), model, today), as_json, render_text)


# --- training and evaluation --------------------------------------------------------------------


@app.command("train")
def train_cmd(
    ctx: typer.Context,
    model: ModelOpt = None,
    env: EnvOpt = "local",
    backend: Annotated[
        str,
        typer.Option(
            "--backend",
            help="local (this machine), sagemaker (a training job) or batch (an AWS Batch job) on ENV's stack.",
        ),
    ] = "local",
    wait: Annotated[
        bool,
        typer.Option(
            "--wait/--no-wait",
            help="Remote: follow the job, then register its model (--no-wait prints the job and returns).",
        ),
    ] = True,
    attach: Annotated[
        str | None,
        typer.Option(
            "--attach", help="Wait for this remote job (its name, or its id for batch), then register its model."
        ),
    ] = None,
    in_container: Annotated[
        bool,
        typer.Option(
            "--in-container",
            help="Inside the training image: fit on the job's channels and save the model into SM_MODEL_DIR.",
        ),
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Train with the model's entry point in a tracked MLflow run and register a new version, here or on ENV's stack."""
    from mlgitops.evidence import TrainingBackend
    from mlgitops.training import render_text, run_training

    try:
        chosen = TrainingBackend(backend)
    except ValueError:
        raise BadInput(
            f"--backend {backend}: not a training backend; use one of {', '.join(b.value for b in TrainingBackend)}"
        ) from None
    if (attach or not wait) and chosen == TrainingBackend.LOCAL:
        raise BadInput("--attach and --no-wait are for remote jobs; pass --backend sagemaker or --backend batch")
    config = _config(ctx, env)
    try:
        result = run_training(config, model, chosen, wait, attach, in_container)
    except GateFailed as exc:
        err(str(exc))
        raise typer.Exit(1) from None
    show(result, as_json, render_text)


@app.command("evaluate")
def evaluate_cmd(ctx: typer.Context, model: ModelOpt = None, env: EnvOpt = "local", as_json: JsonOpt = False) -> None:
    """Score the candidate and the champion in deploy/<env>.yaml on the holdout; exit 1 when the candidate fails."""
    from mlgitops.evaluation import evaluate_models, render_text

    result = evaluate_models(_config(ctx, env), model)
    show(result, as_json, render_text)
    if not result.passed:
        raise typer.Exit(1)


# --- policies -----------------------------------------------------------------------------------

policy_app = typer.Typer(
    help="Policy checks: infrastructure rules (offline or CrossGuard) and promotion rules.", no_args_is_help=True
)
app.add_typer(policy_app, name="policy")


@policy_app.command("check")
def policy_check_cmd(
    ctx: typer.Context,
    env: EnvOpt = "local",
    plan: Annotated[
        Path | None, typer.Option("--plan", help="Check this Plan JSON (from `mlgitops plan --out`).")
    ] = None,
    program: Annotated[
        Path | None,
        typer.Option("--program", help="Plan and check this Pulumi Python program dir instead of the project's stack."),
    ] = None,
    evidence: Annotated[
        Path | None, typer.Option("--evidence", help="Also run the promotion rules over this evidence run folder.")
    ] = None,
    against: Annotated[
        Path | None,
        typer.Option(
            "--against",
            help="The base branch's Plan JSON (or evidence run) for the change rules; default: .mlgitops/evidence/base when it holds this stack's plan.",
        ),
    ] = None,
    sarif: Annotated[
        Path | None, typer.Option("--sarif", help="Also write the findings as SARIF 2.1.0 (GitHub code scanning).")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Check the environment's infrastructure plan (and a run's evidence) against every rule; exit 1 on a mandatory violation."""
    from mlgitops.policies.output import render_policy_check
    from mlgitops.policies.run import policy_check

    result = policy_check(project_dir(ctx), env, plan, program, evidence, against, sarif)
    show(result, as_json, render_policy_check)
    if result.findings.blocked:
        raise typer.Exit(1)


@policy_app.command("list")
def policy_list_cmd(as_json: JsonOpt = False) -> None:
    """Every rule with its kind, default enforcement, severity and description."""
    from mlgitops.policies.output import render_rules, rule_list

    show(rule_list(), as_json, render_rules)


# --- data ---------------------------------------------------------------------------------------

data_app = typer.Typer(
    help="Data gate (Great Expectations): validate datasets against their suites, bootstrap suites.",
    no_args_is_help=True,
)
app.add_typer(data_app, name="data")


@data_app.command("validate")
def data_validate_cmd(
    ctx: typer.Context,
    dataset: Annotated[
        list[str] | None, typer.Option("--dataset", help="Dataset name (repeatable; default: every dataset).")
    ] = None,
    docs: Annotated[Path | None, typer.Option("--docs", help="Also build GX Data Docs HTML in this folder.")] = None,
    env: EnvOpt = "local",
    as_json: JsonOpt = False,
    verbose: Annotated[
        bool, typer.Option("--verbose", help="engine: spark: show Spark's own log lines (default: errors only).")
    ] = False,
) -> None:
    """Validate each dataset against its suite; exit 1 when a critical expectation fails."""
    from mlgitops.data import render_text, validate

    reports = validate(_config(ctx, env), dataset or None, docs, verbose=verbose)
    show(reports, as_json, render_text)
    if not reports.success:
        raise typer.Exit(1)


@data_app.command("init-suite")
def data_init_suite_cmd(
    path: Annotated[str, typer.Argument(help="Sample data: a .csv or .parquet file (local or s3://).")],
    out: Annotated[Path, typer.Option("--out", help="Write the starter suite JSON here.")],
    as_json: JsonOpt = False,
) -> None:
    """A starter GX 1.x suite from a data sample, for a human to review and edit."""
    from mlgitops.data import init_suite, render_suite

    show(init_suite(path, out), as_json, render_suite)


# --- scaffold -----------------------------------------------------------------------------------


@app.command("new")
def new_cmd(
    directory: Annotated[
        Path,
        typer.Argument(help="Project directory to create (absent or empty); its name is the default project name."),
    ],
    no_input: Annotated[
        bool, typer.Option("--no-input", help="Do not prompt: the template's defaults plus --set answers.")
    ] = False,
    sets: Annotated[
        list[str] | None,
        typer.Option("--set", help="key=value answer to a prompt (repeatable), e.g. --set problem_type=regression."),
    ] = None,
    no_git: Annotated[
        bool,
        typer.Option(
            "--no-git", help="Do not make the project a git repository (default: git init and a first commit)."
        ),
    ] = False,
) -> None:
    """Scaffold a project from the template (cookiecutter): config, sample data, model, tests, infra, CI workflows; a git repository with a first commit."""
    from mlgitops.scaffold import create, parse_sets, render_text

    sys.stdout.write(render_text(create(directory, parse_sets(sets or []), no_input=no_input, init_git=not no_git)))


template_app = typer.Typer(help="Keep a scaffolded project in step with the template.", no_args_is_help=True)
app.add_typer(template_app, name="template")


@template_app.command("update")
def template_update_cmd(
    ctx: typer.Context,
    checkout: Annotated[
        str | None, typer.Option("--checkout", help="Template git ref to update to (default: its newest commit).")
    ] = None,
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
    env: Annotated[
        str | None,
        typer.Option(
            "--env",
            help="Environment the candidate is evaluated against and checked for promotion to (default: staging when declared, else the first declared one, else local).",
        ),
    ] = None,
    base: Annotated[
        Path | None,
        typer.Option(
            "--base",
            help="The base branch's evidence run holding plan/<env>.json (default: .mlgitops/evidence/base when present).",
        ),
    ] = None,
    as_json: JsonOpt = False,
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
    evidence: Annotated[
        Path | None,
        typer.Option("--evidence", help="Evidence run folder (default: $MLGITOPS_RUN_ID's, else the newest)."),
    ] = None,
    out: Annotated[
        Path | None, typer.Option("--out", help="Also write the markdown here (links point back into the run folder).")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """The PR report of a run: verdict, data gate, candidate vs champion, infrastructure changes, policy findings, cost, MLflow runs.

    Writes report.md and report.json into the run folder and prints the markdown (or, with --json, the JSON)."""
    from mlgitops.report import make_report, render

    show(make_report(project_dir(ctx), evidence, out), as_json, render)


@app.command("demo")
def demo_cmd(
    directory: Annotated[
        Path | None,
        typer.Argument(help="New or empty directory for the sample project (default: a new temporary one)."),
    ] = None,
) -> None:
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
    """A message for a string exit code, then the process ends (see `mlgitops.speed.exit`)."""
    from mlgitops.speed import exit

    if isinstance(code, str):
        err(code)
    exit(code if isinstance(code, int) else 0 if code is None else 1)
