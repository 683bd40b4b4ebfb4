"""`mlgitops pipeline pr`: the pull-request pipeline, locally, exactly as CI runs it.

config -> data -> train -> evaluate -> plan (every environment) -> policy -> report, calling the functions
the CLI commands call, so the heavy libraries import once. Bad input stops the pipeline (exit 2), but the
report still runs and says which step stopped it, why, and what did not run. A gate that says no (exit 1)
skips only the steps that need its output: plan, policy check and report still run, so the report is
complete; models train one by one, so one model's failure leaves the others trained and evaluated.

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
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from mlgitops.errors import BadInput, GateFailed
from mlgitops.evidence import BASE_RUN, RUN_ID_ENV, DataReport, PipelineRun, Plan, Run, Step, StepStatus, Verdict

if TYPE_CHECKING:
    from mlgitops.config import Project
    from mlgitops.training.runner import TrainingResult

OK, FAILED, ERROR, SKIPPED, NOT_RUN = StepStatus.OK, StepStatus.FAILED, StepStatus.ERROR, StepStatus.SKIPPED, StepStatus.NOT_RUN


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
        return {**self.record.to_dict(), "run_dir": str(self.run_dir), "report": str(self.report) if self.report else None}


class Progress(Protocol):
    def start(self, name: str) -> None: ...
    def done(self, step: Step) -> None: ...


@dataclass
class _State:
    """What the steps hand each other."""

    root: Path
    base: Path
    run: PipelineResult
    config: Project | None = None
    envs: list[str] = field(default_factory=list)
    pool: ThreadPoolExecutor | None = None
    plans: Future[dict[str, Plan]] | None = None
    data: list[DataReport] = field(default_factory=list)
    trained: list[TrainingResult] = field(default_factory=list)
    failed_models: list[str] = field(default_factory=list)
    training_note: str = ""
    plan_seconds: float = 0.0

    @property
    def project(self) -> Project:
        assert self.config is not None, "the config step runs first"
        return self.config


def default_env(envs: list[str]) -> str:
    """Where a merged candidate goes next (as the PR workflow decides): staging, else the first declared, else local."""
    return "staging" if "staging" in envs else envs[1] if len(envs) > 1 else "local"


def _config(s: _State) -> tuple[StepStatus, str]:
    from mlgitops.config import check, load

    s.run.evidence.reset()  # first: even a run that stops here leaves its own pipeline.json and report
    s.envs = check(s.root)
    env = s.run.record.env = s.run.env or default_env(s.envs)
    s.config = load(s.root, env)
    return OK, f"mlgitops.yaml is valid ({', '.join(s.envs)}); candidate evaluated against {env}"


def _plan_all(s: _State) -> dict[str, Plan]:
    from mlgitops.plan import plan_environments

    t0 = time.perf_counter()
    try:
        return plan_environments(s.root, s.envs)
    finally:
        s.plan_seconds = time.perf_counter() - t0


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


def _gate(s: _State) -> list[DataReport]:
    """The data gate in a worker process (GX takes seconds to import; threads would share one core through the GIL)
    while this process prepares training. Its output goes where this step's goes: the pipeline log. On Linux the
    worker is forked (nothing to re-import, and no re-run of a `__main__` that may not be importable, such as a
    test runner's); elsewhere it is spawned, as fork is unsafe on macOS."""
    import multiprocessing

    context = multiprocessing.get_context("fork" if sys.platform == "linux" else "spawn")
    sys.stdout.flush()
    sys.stderr.flush()  # a forked worker must not write this process's buffered output again
    with ProcessPoolExecutor(1, mp_context=context, initializer=_worker_main) as pool:
        reports = pool.submit(gate, s.root, s.project.env, s.run.evidence.name)
        if s.project.models:
            from mlgitops.evaluation import prepare as prepare_evaluation
            from mlgitops.training import prepare as prepare_training

            with contextlib.suppress(Exception):  # a head start only: train and evaluate redo it and report what fails
                prepare_training(s.project)
                prepare_evaluation()
        return reports.result()


def _data(s: _State) -> tuple[StepStatus, str]:
    s.data = _gate(s)
    s.pool = ThreadPoolExecutor(1, thread_name_prefix="mlgitops-plan")
    s.plans = s.pool.submit(_plan_all, s)  # the second core is free from here on
    parts = []
    for r in s.data:
        failed = ", ".join(f"{f.expectation}" + (f" [{f.column}]" if f.column else "") for f in r.failures)
        warned = ", ".join(f"{w.expectation}" + (f" [{w.column}]" if w.column else "") for w in r.warnings)
        parts.append(f"{r.dataset} {'pass' if r.success else 'FAIL'} ({r.rows} rows" + (f"; {failed}" if failed else "")
                     + (f"; warning: {warned}" if warned else "") + ")")
    return (OK if all(r.success for r in s.data) else FAILED), "; ".join(parts)


def _train(s: _State) -> tuple[StepStatus, str]:
    failed = [r.dataset for r in s.data if not r.success]
    if failed:
        s.training_note = "training skipped"
        return SKIPPED, f"the data gate failed on {', '.join(failed)}: a model trained on that data proves nothing"
    from mlgitops.training import train

    parts, errors = [], []
    for name in s.project.select_models():
        try:  # one model's failure is its own: the others still train and are evaluated
            t = train(s.project, name)
        except GateFailed as exc:
            sys.stderr.write(f"{exc}\n")
            errors.append(str(exc).replace("(traceback above)", "(traceback in the log)"))
            s.failed_models.append(name)
            continue
        s.trained.append(t)
        parts.append(f"{t.model} v{t.version} (MLflow run {t.run_id})")
    if errors:
        s.training_note = "training failed"
        return FAILED, "; ".join([*errors, *parts])
    return OK, "; ".join(parts)


def _evaluate(s: _State) -> tuple[StepStatus, str]:
    if not s.trained:
        return SKIPPED, f"no candidate to evaluate ({s.training_note or 'training did not run'})"
    from mlgitops.evaluation import evaluate

    results, errors = [], []
    for t in s.trained:
        try:  # each model's evaluation is its own: bad input for one still leaves the others' evidence
            results.append(evaluate(s.project, t.model))
        except BadInput as exc:
            errors.append(str(exc))
    parts = [f"{r.model} v{r.candidate.version} {r.verdict.upper()}: {r.comparison}" + (f" ({r.reasons[0]})" if r.reasons else "")
             for r in results]
    parts += [f"{m} not evaluated (training failed)" for m in s.failed_models]
    if errors:
        raise BadInput("; ".join([*errors, *parts]))
    return (OK if all(r.verdict == Verdict.PASS for r in results) else FAILED), "; ".join(parts)


def _plan(s: _State) -> tuple[StepStatus, str]:
    from mlgitops.report.content import changes_against

    assert s.plans is not None
    plans = s.plans.result()
    t0 = time.perf_counter()
    parts = []
    for env, plan in plans.items():
        s.run.evidence.write(plan)
        changes = changes_against(plan, s.base, s.root)
        s.run.evidence.write(changes)
        text = ", ".join(f"{n} to {a}" for a, n in changes.counts().items() if n) or "no changes"
        parts.append(f"{env}: {len(plan.resources)} resources, {text}" + ("" if changes.against else " (no base plan)"))
    s.plan_seconds += time.perf_counter() - t0
    return OK, "; ".join(parts) + " (planned in the background)"


def _policy(s: _State) -> tuple[StepStatus, str]:
    from mlgitops.config import load
    from mlgitops.policies.run import check_project

    assert s.plans is not None
    plans = s.plans.result()
    parts, blocked = [], False
    for env in s.envs:
        findings, _ = check_project(load(s.root, env), plans[env], s.run.evidence if env == s.run.env else None,
                                    changes=s.run.evidence.changes(env))
        n = findings.summary
        blocked |= findings.blocked
        parts.append(f"{env} {'FAILED' if findings.blocked else 'pass'} ({n['mandatory']} mandatory, {n['advisory']} advisory)")
    return (FAILED if blocked else OK), "; ".join(parts) + f"; promotion rules for {s.run.env}"


def _report(s: _State) -> tuple[StepStatus, str]:
    from mlgitops.report import build, write

    s.run.record.report = s.run.evidence.report_md.name
    s.run.evidence.write(s.run.record)
    s.run.report, _ = write(build(s.run.evidence, s.root), s.run.evidence)
    return OK, str(s.run.report)


STEPS: tuple[tuple[str, Callable[[_State], tuple[StepStatus, str]]], ...] = (
    ("config", _config), ("data", _data), ("train", _train), ("evaluate", _evaluate),
    ("plan", _plan), ("policy", _policy), ("report", _report),
)


@contextlib.contextmanager
def _captured() -> Iterator[Any]:
    """Point file descriptors 1 and 2 at a temp file for the duration (library and subprocess output too)."""
    from mlgitops.files import redirected

    with tempfile.TemporaryFile() as out, redirected(out):
        yield out


def _log(run: Run, name: str, out: Any) -> Path | None:
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


def run_pr(project_dir: Path, env: str | None = None, base: Path | None = None, progress: Progress | None = None) -> PipelineResult:
    """Run every step in order; see the module docstring for what stops what."""
    root = Path(project_dir).resolve()
    if base is not None and not Path(base).is_dir():
        raise BadInput(f"--base {base}: no such folder; pass the base branch's evidence run (holding plan/<env>.json)")
    folder = Run.current(root)
    if folder.name == BASE_RUN:
        raise BadInput(f"{RUN_ID_ENV}={BASE_RUN} is reserved for the base branch's plans; choose another run id")
    run = PipelineResult(PipelineRun(env=env, run_id=folder.name), folder)
    s = _State(root=root, base=Path(base).resolve() if base else Run.base(root).dir, run=run)
    stopped = ""
    try:
        for name, func in STEPS:
            step = Step(name=name)
            run.steps.append(step)
            if stopped and name != "report":  # the report still runs: it says what stopped the run and what did not run
                step.status, step.summary = NOT_RUN, f"not run: {stopped}"
                if progress:
                    progress.done(step)
                continue
            if progress:
                progress.start(name)
            t0 = time.perf_counter()
            with _captured() as out:
                try:
                    step.status, step.summary = func(s)
                except BadInput as exc:
                    step.status, step.summary = ERROR, str(exc)
                except GateFailed as exc:
                    step.status, step.summary = FAILED, str(exc)
                log = _log(run.evidence, name, out)
            # the plan's own time: it ran in the background, so its wall time here is only the wait
            step.seconds = round(s.plan_seconds if name == "plan" and step.status == OK else time.perf_counter() - t0, 3)
            step.exit_code = step.status.exit_code
            if log and step.status in (FAILED, ERROR):
                step.summary += f" (output: {log})"
            if step.status == ERROR:
                stopped = f"{name} had bad input"
            if progress:
                progress.done(step)
    finally:
        if s.pool is not None:
            s.pool.shutdown(wait=False, cancel_futures=True)
    if run.report is not None:
        run.evidence.write(run.record)
    return run


class ConsoleProgress:
    """One line per step on the terminal's stderr (a spinner while it runs when that is a terminal)."""

    ICON = {OK: "[green]✓[/]", FAILED: "[red]✗[/]", ERROR: "[red]![/]", SKIPPED: "[dim]-[/]", NOT_RUN: "[dim]·[/]"}

    def __init__(self) -> None:
        from rich.console import Console

        # A duplicate of stderr: the steps point descriptor 2 at their log while this keeps writing to the terminal.
        self._file = os.fdopen(os.dup(2), "w", buffering=1)
        self.console = Console(file=self._file, highlight=False, soft_wrap=True, emoji=False)  # "green.broken:train:" is no emoji code
        self._status: Any = None

    def start(self, name: str) -> None:
        from rich.live import Live
        from rich.spinner import Spinner

        # No redirection of sys.stdout/stderr: step output belongs in the log, not above the spinner.
        self._status = Live(Spinner("dots", f"{name} …"), console=self.console, transient=True, redirect_stdout=False, redirect_stderr=False)
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
