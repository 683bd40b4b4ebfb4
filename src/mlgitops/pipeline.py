"""`mlgitops pipeline pr`: the pull-request pipeline, locally, exactly as CI runs it.

config -> data -> train -> evaluate -> plan (every environment) -> policy -> report. Each step is a typed
function from its inputs to its evidence records (the functions the CLI commands call, in this process, so the
heavy libraries import once), and a summary of those records gives the step its status and line. Bad input
stops the pipeline (exit 2), but the report still runs and says which step stopped it, why, and what did not
run. A gate that says no (exit 1) skips only the steps that need its output: plan, policy check and report
still run, so the report is complete; models train one by one, so one model's failure leaves the others
trained and evaluated.

Two cores, one wall clock: the data gate runs in a worker process (GX takes seconds to import) while this
process imports MLflow and opens the tracking store for training; then the plans run in the background while
training and evaluation run.

Library output (MLflow, GX, the user's training code) goes to `<run>/logs/pipeline.log`, not the terminal.
"""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, ParamSpec, Protocol, TypeVar

from mlgitops.errors import BadInput, GateFailed
from mlgitops.evidence import (
    BASE_RUN,
    RUN_ID_ENV,
    DataReport,
    Evaluation,
    Findings,
    PipelineRun,
    Plan,
    PlanChanges,
    Run,
    Step,
    StepStatus,
    Verdict,
)

if TYPE_CHECKING:
    from mlgitops.config import Project
    from mlgitops.training.runner import TrainingResult

OK, FAILED, ERROR, SKIPPED, NOT_RUN = (
    StepStatus.OK,
    StepStatus.FAILED,
    StepStatus.ERROR,
    StepStatus.SKIPPED,
    StepStatus.NOT_RUN,
)
NAMES = ("config", "data", "train", "evaluate", "plan", "policy", "report")
Summary = tuple[StepStatus, str]
T = TypeVar("T")
P = ParamSpec("P")


@dataclass
class PipelineResult:
    """A finished `pipeline pr`: its record (written to `pipeline.json`), its run folder and its report."""

    record: PipelineRun
    evidence: Run
    report: Path | None = None

    @property
    def steps(self) -> list[Step]:
        return self.record.steps

    @property
    def env(self) -> str | None:
        return self.record.env

    @property
    def exit_code(self) -> int:
        return self.record.exit_code

    @property
    def verdict(self) -> str:
        return self.record.verdict

    @property
    def run_dir(self) -> Path:
        return self.evidence.dir

    def to_dict(self) -> dict[str, Any]:
        """What `pipeline pr --json` prints: the record plus where its files are on this machine."""
        return {
            **self.record.to_dict(),
            "run_dir": str(self.run_dir),
            "report": str(self.report) if self.report else None,
        }


class Progress(Protocol):
    def start(self, name: str) -> None: ...
    def done(self, step: Step) -> None: ...


def default_env(envs: list[str]) -> str:
    """Where a merged candidate goes next (as the PR workflow decides): staging, else the first declared, else local."""
    return "staging" if "staging" in envs else envs[1] if len(envs) > 1 else "local"


# --- the steps: typed functions from their inputs to their records -----------------------------------------


def configure(root: Path, env: str | None) -> tuple[list[str], Project]:
    """Every environment's config checked, then the one the candidate is evaluated against loaded."""
    from mlgitops.config import check, load

    envs = check(root)
    return envs, load(root, env or default_env(envs))


def gate(root: Path, env: str, run_id: str) -> list[DataReport]:
    """The data gate of `env` into the run `run_id`: what `mlgitops data validate` does, callable in a worker process."""
    from mlgitops.config import load
    from mlgitops.data import validate

    os.environ[RUN_ID_ENV] = run_id
    try:
        return validate(load(root, env))
    except SystemExit as exc:  # a library ending the worker must not end the pipeline as if it succeeded
        raise RuntimeError(f"the data gate's worker exited ({exc.code})") from None


def _worker_main() -> None:
    """A worker whose `__main__` has neither `__spec__` nor `__file__` (`python -c`) is taken by pyspark (which GX
    imports when installed) for a doctest run, and exits; give it a file."""
    main = sys.modules["__main__"]
    if getattr(main, "__spec__", None) is None and not hasattr(main, "__file__"):
        main.__file__ = __file__


def validate_data(project: Project, run_id: str) -> list[DataReport]:
    """The data gate in a worker process (GX takes seconds to import; threads would share one core through the GIL)
    while this process prepares training. Its output goes where this step's goes: the pipeline log. On Linux the
    worker is forked (nothing to re-import, and no re-run of a `__main__` that may not be importable, such as a
    test runner's); elsewhere it is spawned, as fork is unsafe on macOS."""
    import multiprocessing

    context = multiprocessing.get_context("fork" if sys.platform == "linux" else "spawn")
    sys.stdout.flush()
    sys.stderr.flush()  # a forked worker must not write this process's buffered output again
    with ProcessPoolExecutor(1, mp_context=context, initializer=_worker_main) as pool:
        reports = pool.submit(gate, project.root, project.env, run_id)
        if project.models:
            from mlgitops.evaluation import prepare as prepare_evaluation
            from mlgitops.training import prepare as prepare_training

            with contextlib.suppress(Exception):  # a head start only: train and evaluate redo it and report what fails
                prepare_training(project)
                prepare_evaluation()
        return reports.result()


@dataclass(frozen=True)
class Trained:
    """The train step's outcome: the models trained, and each failed model's message."""

    results: list[TrainingResult]
    failed: dict[str, str]


def train_models(project: Project) -> Trained:
    """Each model in turn: one model's failure is its own, the others still train and are evaluated."""
    from mlgitops.training import train

    results, failed = [], {}
    for name in project.select_models():
        try:
            results.append(train(project, name))
        except GateFailed as exc:
            sys.stderr.write(f"{exc}\n")
            failed[name] = str(exc).replace("(traceback above)", "(traceback in the log)")
    return Trained(results, failed)


def evaluate_candidates(project: Project, trained: Trained) -> list[Evaluation]:
    """Each trained candidate against its champion; bad input for one still leaves the others' evidence."""
    from mlgitops.evaluation import evaluate

    results, errors = [], []
    for t in trained.results:
        try:
            results.append(evaluate(project, t.model))
        except BadInput as exc:
            errors.append(str(exc))
    if errors:
        raise BadInput("; ".join([*errors, *_evaluations(results, trained)]))
    return results


@dataclass(frozen=True)
class Planned:
    """Every environment's plan, its changes once recorded, and the seconds of both: planning runs in the
    background, so the plan step's wall time is only the wait for it."""

    plans: dict[str, Plan]
    seconds: float
    changes: dict[str, PlanChanges] = field(default_factory=dict)


def plan_all(root: Path, envs: list[str]) -> Planned:
    from mlgitops.plan import plan_environments

    t0 = time.perf_counter()
    return Planned(plan_environments(root, envs), time.perf_counter() - t0)


def record_changes(run: Run, planned: Planned, base: Path, root: Path) -> Planned:
    """Each plan and its changes against the base branch's plan, into the run's evidence."""
    from mlgitops.report.content import changes_against

    t0 = time.perf_counter()
    changes: dict[str, PlanChanges] = {}
    for env, plan in planned.plans.items():
        run.write(plan)
        run.write(changes.setdefault(env, changes_against(plan, base, root)))
    return replace(planned, changes=changes, seconds=planned.seconds + time.perf_counter() - t0)


def check_policies(root: Path, planned: Planned, run: Run, env: str) -> dict[str, Findings]:
    """Every environment's infrastructure rules; the promotion rules over this run's evidence for `env` only."""
    from mlgitops.config import load
    from mlgitops.policies.run import check_project

    return {
        e: check_project(load(root, e), plan, run if e == env else None, changes=run.changes(e))[0]
        for e, plan in planned.plans.items()
    }


def write_report(run: Run, root: Path, record: PipelineRun) -> Path:
    """`pipeline.json` (naming the report), then the report over every record of the run."""
    from mlgitops.report import build, write

    record.report = run.report_md.name
    run.write(record)
    return write(build(run, root), run)[0]


# --- each step's status and line, from its records -------------------------------------------------------


def _configured(configured: tuple[list[str], Project]) -> Summary:
    envs, project = configured
    return OK, f"mlgitops.yaml is valid ({', '.join(envs)}); candidate evaluated against {project.env}"


def _validated(reports: list[DataReport]) -> Summary:
    parts = []
    for r in reports:
        failed = ", ".join(f"{f.expectation}" + (f" [{f.column}]" if f.column else "") for f in r.failures)
        warned = ", ".join(f"{w.expectation}" + (f" [{w.column}]" if w.column else "") for w in r.warnings)
        parts.append(
            f"{r.dataset} {'pass' if r.success else 'FAIL'} ({r.rows} rows"
            + (f"; {failed}" if failed else "")
            + (f"; warning: {warned}" if warned else "")
            + ")"
        )
    return (OK if all(r.success for r in reports) else FAILED), "; ".join(parts)


def _trained(trained: Trained) -> Summary:
    parts = [f"{t.model} v{t.version} (MLflow run {t.run_id})" for t in trained.results]
    return (FAILED, "; ".join([*trained.failed.values(), *parts])) if trained.failed else (OK, "; ".join(parts))


def _evaluations(results: list[Evaluation], trained: Trained) -> list[str]:
    return [
        *(
            f"{r.model} v{r.candidate.version} {r.verdict.upper()}: {r.comparison}"
            + (f" ({r.reasons[0]})" if r.reasons else "")
            for r in results
        ),
        *(f"{m} not evaluated (training failed)" for m in trained.failed),
    ]


def _evaluated(results: list[Evaluation], trained: Trained) -> Summary:
    return (OK if all(r.verdict == Verdict.PASS for r in results) else FAILED), "; ".join(
        _evaluations(results, trained)
    )


def _changed(planned: Planned) -> Summary:
    parts = []
    for env, c in planned.changes.items():
        text = ", ".join(f"{n} to {a}" for a, n in c.counts().items() if n) or "no changes"
        parts.append(
            f"{env}: {len(planned.plans[env].resources)} resources, {text}" + ("" if c.against else " (no base plan)")
        )
    return OK, "; ".join(parts) + " (planned in the background)"


def _checked(findings: dict[str, Findings], env: str) -> Summary:
    parts = [
        f"{e} {'FAILED' if f.blocked else 'pass'} ({f.summary['mandatory']} mandatory, {f.summary['advisory']} advisory)"
        for e, f in findings.items()
    ]
    return (FAILED if any(f.blocked for f in findings.values()) else OK), "; ".join(
        parts
    ) + f"; promotion rules for {env}"


# --- running them ---------------------------------------------------------------------------------------


class _Stopped(Exception):
    """A step had bad input (or its gate left nothing to go on): the steps after it cannot run; the report still does."""


@dataclass
class _Steps:
    """Runs the steps in order: each one timed, its output captured into the run's log, its status recorded."""

    result: PipelineResult
    progress: Progress | None

    def __call__(
        self, name: str, summary: Callable[[T], Summary], func: Callable[P, T], *args: P.args, **kwargs: P.kwargs
    ) -> T:
        step = self._start(name)
        t0 = time.perf_counter()
        out: T | None = None
        with _captured() as captured:
            try:
                out = func(*args, **kwargs)
                step.status, step.summary = summary(out)
            except BadInput as exc:
                step.status, step.summary = ERROR, str(exc)
            except GateFailed as exc:
                step.status, step.summary = FAILED, str(exc)
            log = _log(self.result.evidence, name, captured)
        step.seconds = round(out.seconds if isinstance(out, Planned) else time.perf_counter() - t0, 3)
        if log and step.status in (FAILED, ERROR):
            step.summary += f" (output: {log})"
        self._done(step)
        if step.status == ERROR or out is None:
            raise _Stopped(f"{name} had bad input" if step.status == ERROR else f"{name} failed")
        return out

    def skip(self, name: str, why: str) -> None:
        step = Step(name=name, status=SKIPPED, summary=why)
        self.result.steps.append(step)
        self._done(step)

    def not_run(self, why: str) -> None:
        """Every step not yet started, but the report."""
        for name in NAMES[len(self.result.steps) : -1]:
            step = Step(name=name, status=NOT_RUN, summary=f"not run: {why}")
            self.result.steps.append(step)
            if self.progress:
                self.progress.done(step)

    def _start(self, name: str) -> Step:
        step = Step(name=name)
        self.result.steps.append(step)
        if self.progress:
            self.progress.start(name)
        return step

    def _done(self, step: Step) -> None:
        step.exit_code = step.status.exit_code
        if self.progress:
            self.progress.done(step)


@contextlib.contextmanager
def _captured() -> Iterator[IO[bytes]]:
    """Point file descriptors 1 and 2 at a temp file for the duration (library and subprocess output too)."""
    from mlgitops.files import redirected

    with tempfile.TemporaryFile() as out, redirected(out):
        yield out


def _log(run: Run, name: str, out: IO[bytes]) -> Path | None:
    """Append a step's captured output to `<run>/logs/pipeline.log`; None when it printed nothing."""
    out.seek(0)
    text = out.read()
    if not text:
        return None
    path = run.log
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("ab") as f:
        f.write(f"===== {name} =====\n".encode() + text + (b"" if text.endswith(b"\n") else b"\n"))
    return path


def run_pr(
    project_dir: Path, env: str | None = None, base: Path | None = None, progress: Progress | None = None
) -> PipelineResult:
    """Run every step in order; see the module docstring for what stops what."""
    root = Path(project_dir).resolve()
    if base is not None and not Path(base).is_dir():
        raise BadInput(f"--base {base}: no such folder; pass the base branch's evidence run (holding plan/<env>.json)")
    run = Run.current(root)
    if run.name == BASE_RUN:
        raise BadInput(f"{RUN_ID_ENV}={BASE_RUN} is reserved for the base branch's plans; choose another run id")
    base_dir = Path(base).resolve() if base else Run.base(root).dir
    result = PipelineResult(PipelineRun(env=env, run_id=run.name), run)
    step = _Steps(result, progress)
    pool = ThreadPoolExecutor(1, thread_name_prefix="mlgitops-plan")
    try:
        run.reset()  # first: even a run that stops at its config leaves its own pipeline.json and report
        envs, project = step("config", _configured, configure, root, env)
        result.record.env = project.env
        data = step("data", _validated, validate_data, project, run.name)
        plans = pool.submit(plan_all, root, envs)  # the second core is free from here on
        trained = None
        if failed := [r.dataset for r in data if not r.success]:
            step.skip(
                "train", f"the data gate failed on {', '.join(failed)}: a model trained on that data proves nothing"
            )
        else:
            trained = step("train", _trained, train_models, project)
        if trained is None or not trained.results:
            why = (
                "training skipped"
                if trained is None
                else "training failed"
                if trained.failed
                else "training did not run"
            )
            step.skip("evaluate", f"no candidate to evaluate ({why})")
        else:
            step("evaluate", lambda results: _evaluated(results, trained), evaluate_candidates, project, trained)
        planned = step("plan", _changed, lambda: record_changes(run, plans.result(), base_dir, root))
        step(
            "policy", lambda findings: _checked(findings, project.env), check_policies, root, planned, run, project.env
        )
    except _Stopped as stop:
        step.not_run(str(stop))
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
    with contextlib.suppress(_Stopped):
        result.report = step("report", lambda path: (OK, str(path)), write_report, run, root, result.record)
    if result.report is not None:
        run.write(result.record)
    return result


class ConsoleProgress:
    """One line per step on the terminal's stderr (a spinner while it runs when that is a terminal)."""

    ICON = {OK: "[green]✓[/]", FAILED: "[red]✗[/]", ERROR: "[red]![/]", SKIPPED: "[dim]-[/]", NOT_RUN: "[dim]·[/]"}

    def __init__(self) -> None:
        from rich.console import Console

        # A duplicate of stderr: the steps point descriptor 2 at their log while this keeps writing to the terminal.
        self._file = os.fdopen(os.dup(2), "w", buffering=1)
        self.console = Console(
            file=self._file, highlight=False, soft_wrap=True, emoji=False
        )  # "green.broken:train:" is no emoji code
        self._status: Any = None

    def start(self, name: str) -> None:
        from rich.live import Live
        from rich.spinner import Spinner

        # No redirection of sys.stdout/stderr: step output belongs in the log, not above the spinner.
        self._status = Live(
            Spinner("dots", f"{name} …"),
            console=self.console,
            transient=True,
            redirect_stdout=False,
            redirect_stderr=False,
        )
        self._status.start()

    def done(self, step: Step) -> None:
        if self._status is not None:
            self._status.stop()
        from rich.markup import escape

        self.console.print(f"{self.ICON[step.status]} {step.name:<8} {step.seconds:6.1f}s  {escape(step.summary)}")

    def close(self) -> None:
        if self._status is not None:
            self._status.stop()
        self._file.close()
