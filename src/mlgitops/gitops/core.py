"""Promotion, rollback and drift: the file `deploy/<env>.yaml` is the truth, the registry alias follows it.

Order of a promotion (each boundary is a test seam, see `_step`):
  gates (evidence) -> lock -> compare-and-set re-read -> write file -> move alias -> tag version -> commit.
A promotion killed anywhere leaves either the old file or the new file (atomic rename). Killed after the
file but before the alias, the alias lags one step behind: `drift` reports it as `alias-behind`, and
re-running the same promotion (or `drift --fix`) completes it; other promotions still go through.

Evidence: `promote` runs the promotion rules (`mlgitops.policies.promotion`) over the latest evidence run and
refuses on any blocking finding, in every environment: the data gate passed on the trained digests, the
evaluation of exactly this version, against this environment and its current champion, passed; the plan of the
environment with the promotion applied has no mandatory finding (planned here, never taken from an earlier
check); and prod takes only what staging serves, with the evidence recorded there. An exempted rule
is recorded in the entry's evidence. `force=True` skips every rule but staging-first (recorded as
`forced: true`); it never skips the lock or compare-and-set.
"""
from __future__ import annotations

import contextlib
import json
import os
import subprocess
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator

from mlgitops.confine import project_relative
from mlgitops.errors import BadInput, GateFailed
from mlgitops.evidence import DeployEntry, Finding, Findings, FindingStatus, PromotionEvidence, Run
from mlgitops.evidence import state as desired
from mlgitops.gitops import registry as reg

if TYPE_CHECKING:
    from mlgitops.config import Config

FAIL_AT_ENV = "MLGITOPS_TEST_FAIL_AT"
"""Test seam: `<step>` makes the process die (os._exit(97)) at that step boundary of promote/rollback."""
STEPS = ("gated", "locked", "file-written", "alias-moved", "tagged")
STAGING_FIRST = "promotion-staging-first"  # the one rule `--force` does not skip
POLICY_CHECK = "promotion-policy-check"  # reads the plan the promotion creates, made only once the other rules agree
_UNSET: Any = object()


@dataclass
class Promotion:
    env: str
    model: str
    version: str
    replaces: str | None
    path: str
    action: str = "promote"
    commit: str | None = None
    evidence: PromotionEvidence = field(default_factory=PromotionEvidence)

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "evidence": self.evidence.to_dict()}


@dataclass
class Drift:
    env: str
    model: str
    registry_name: str
    file_version: str | None
    alias_version: str | None
    status: str  # in-sync | alias-missing | alias-behind | alias-differs | not-in-file | not-promoted

    @property
    def drifted(self) -> bool:
        return self.status not in ("in-sync", "not-promoted")

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "drifted": self.drifted}


def _step(name: str) -> None:
    if os.environ.get(FAIL_AT_ENV) == name:
        os._exit(97)


def _now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _git_head(project_dir: Path) -> str | None:
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=project_dir, capture_output=True, text=True, check=False)
    except OSError:
        return None
    return out.stdout.strip() or None if out.returncode == 0 else None


def gather_evidence(config: "Config", model: str, version: str | None, force: bool = False) -> DeployEntry:
    """The entry promoting `model` to `config.env` would write; GateFailed when a promotion rule says no.

    The rules run twice: first on the run's evidence alone (cheap refusals first), then with the findings of the
    environment's plan as it would be with this entry promoted. A policy check made before the change is never used."""
    from mlgitops.policies.engine import check_evidence
    from mlgitops.policies.pack import enforcements, settings
    from mlgitops.policies.promotion import EMBEDDED, load_evidence

    run = Run.latest(config.root)
    ev = load_evidence(run, config, {model: version})
    where = f"evidence run {run.name}" if run else f"{config.root / '.mlgitops' / 'evidence'} (no evidence yet)"

    def rules(skip: tuple[str, ...] = ()) -> list[Finding]:
        found = check_evidence(ev, settings(config), enforcements(config))
        blocking = [f for f in found if f.blocks and f.policy not in skip and (not force or f.policy == STAGING_FIRST)]
        if blocking:
            raise GateFailed(f"{model} cannot be promoted to {config.env} ({where}):\n" + "\n".join(f"  {f.policy}: {f.message}" for f in blocking))
        return found

    plans = not force and config.env != EMBEDDED
    rules(skip=(POLICY_CHECK,) if plans else ())
    wanted = ev.versions[model]
    if wanted is None:
        raise BadInput("--force needs --version N (there is no evidence to pick a version from)")
    if ev.previous is not None:  # the very artifact the previous stage serves, not the registry's idea of it
        entry = ev.previous.models[model].model_copy(update={"replaces": None, "promoted_at": None})
    else:
        entry = candidate_entry(config, model, wanted)
    if plans:
        ev.findings = planned_findings(config, model, entry)
    findings = rules()
    exempted = sorted({f.policy for f in findings if f.status == FindingStatus.EXEMPTED})
    verdict = "pass" if ev.findings is not None else "not-run"
    if ev.previous is not None:
        staged = ev.previous.models[model].evidence
        summary = staged.model_copy(update={"action": "promote", "stage_from": ev.previous_env, "rolled_back_from": None,
                                            "policy_verdict": verdict, "exempted": exempted})
    else:
        training, evaluation = ev.training.get(model), ev.evaluation.get(model)
        summary = PromotionEvidence(
            evidence_run=run.name if run else None, data_gate="pass" if not force else None,
            metrics=evaluation.candidate.metrics if evaluation else {},
            champion_metrics=evaluation.champion.metrics if evaluation and evaluation.champion else {},
            policy_verdict=verdict, exempted=exempted,
            git_sha=(training.git.sha if training else None) or _git_head(config.root),
        )
    return entry.model_copy(update={"evidence": summary.model_copy(update={"forced": True}) if force else summary})


def candidate_entry(config: "Config", model: str, version: str) -> DeployEntry:
    """What deploy/<env>.yaml would record for this registry version (`replaces` and the time are set under the lock)."""
    name = config.registry_name(model)
    cl = reg.client(config.tracking_uri())
    mv = reg.version_info(cl, name, version)
    download_uri = cl.get_model_version_download_uri(name, version)
    return DeployEntry(version=str(version), registry_name=name, model_uri=f"models:/{name}/{version}",
                       artifact_uri=project_relative(download_uri, config.root), run_id=mv.run_id, digest=reg.artifact_digest(download_uri))


def planned_findings(config: "Config", model: str, entry: DeployEntry) -> Findings:
    """The environment's infrastructure findings with `entry` promoted: what `pulumi up` would apply after the merge."""
    from mlgitops.plan import plan_project
    from mlgitops.policies.engine import check

    state = desired.read(config.root, config.env)
    state.models[model] = entry
    return check(config, plan_project(config, state))


def _check_alias(cl: Any, name: str, env: str, state_version: str | None, state_replaces: str | None, path: Path) -> None:
    """Compare-and-set on the registry: the alias must be the file's version (or lag by one interrupted step)."""
    alias = reg.alias_version(cl, name, env)
    if alias in (state_version, state_replaces) or (alias is None and state_version is None):
        return
    raise GateFailed(
        f"registry alias '{env}' of {name} points at version {alias} but {path} says {state_version}: "
        f"someone moved it outside mlgitops; run `mlgitops drift --env {env}` and reconcile first"
    )


@contextlib.contextmanager
def _locked(project_dir: Path, env: str, timeout: float = 120) -> Iterator[None]:
    """The promotion lock of `env`; waiting too long is a refusal (exit 1), not a crash."""
    from filelock import FileLock, Timeout

    lock = FileLock(str(desired.lock_path(project_dir, env)))
    try:
        lock.acquire(timeout=timeout)
    except Timeout:
        raise GateFailed(f"{lock.lock_file}: another promotion of {env} has held the lock for {timeout:.0f}s; retry later") from None
    try:
        yield
    finally:
        lock.release()


def _apply(config: "Config", model: str, candidate: DeployEntry, expect: Any, action: str, commit: bool) -> Promotion:
    """Lock, compare-and-set, write the file, move the alias, tag the version; all or refuse."""
    root, env = config.root, config.env
    name, version = candidate.registry_name, candidate.version
    path = desired.path_for(root, env)
    if expect is _UNSET:
        expect = desired.read(root, env).version(model)
    cl = reg.client(config.tracking_uri())
    _step("gated")
    with _locked(root, env):
        _step("locked")
        state = desired.read(root, env)
        current = state.version(model)
        if current != (None if expect is None else str(expect)):
            raise GateFailed(f"{path}: '{model}' changed underneath (expected version {expect}, found {current}); another promotion won. Re-read and retry.")
        entry = state.models.get(model)
        _check_alias(cl, name, env, current, entry.replaces if entry else None, path)
        if entry is not None and current == version and action == "promote":
            new_entry = entry  # re-run of the same promotion: complete the registry side
        else:
            new_entry = candidate.model_copy(update={"replaces": current, "promoted_at": _now()})
            state.models[model] = new_entry
            desired.write(root, state)
        _step("file-written")
        cl.set_registered_model_alias(name, env, version)
        _step("alias-moved")
        cl.set_model_version_tag(name, version, reg.tag_key(env, "promoted_at"), str(new_entry.promoted_at))
        cl.set_model_version_tag(name, version, reg.tag_key(env, "evidence"),
                                 json.dumps(new_entry.evidence.model_dump(mode="json", exclude_defaults=True), sort_keys=True))
        if action == "promote":
            cl.set_model_version_tag(name, version, reg.tag_key(env, "previous"), new_entry.replaces or "")
        _step("tagged")
        sha = git_commit(root, path, model, env, new_entry, action) if commit else None
    return Promotion(env, model, version, new_entry.replaces, str(path), action, sha, new_entry.evidence)


def promote(config: "Config", model: str | None = None, version: str | int | None = None, *, force: bool = False,
            commit: bool = False, expect_current: Any = _UNSET) -> list[Promotion]:
    """Promote each model (or one) to `config.env`. `expect_current`: compare-and-set against this version."""
    names = config.select_models(model)
    if version is not None and len(names) > 1:
        raise BadInput("--version needs --model when the config declares several models")
    if config.env not in config.env_names:
        raise BadInput(f"mlgitops.yaml: unknown environment '{config.env}' (declared: {', '.join(config.env_names)})")
    if commit:
        require_git(config.root)
    wanted = None if version is None else str(version)
    out = []
    for name in names:
        out.append(_apply(config, name, gather_evidence(config, name, wanted, force), expect_current, "promote", commit))
    return out


def rollback(config: "Config", model: str | None = None, to: str | int | None = None, *, commit: bool = False) -> list[Promotion]:
    """Back to the version the current one replaced (or `to`), which must have been promoted to this env before."""
    from pydantic import ValidationError

    if commit:
        require_git(config.root)
    out = []
    for name in config.select_models(model):
        state = desired.read(config.root, config.env)
        entry = state.models.get(name)
        if entry is None:
            raise GateFailed(f"{desired.path_for(config.root, config.env)}: '{name}' was never promoted to {config.env}; nothing to roll back")
        current = entry.version
        reg_name = config.registry_name(name)
        cl = reg.client(config.tracking_uri())
        tags = reg.version_info(cl, reg_name, current).tags or {}
        prev_key = reg.tag_key(config.env, "previous")  # set by promote only, so rollbacks walk back in order
        target = str(to) if to is not None else (tags[prev_key] if prev_key in tags else entry.replaces)
        if not target:
            raise GateFailed(f"{name} version {current} is the first promoted to {config.env}; there is nothing earlier to roll back to")
        target = str(target)
        if target == current:
            raise BadInput(f"--to {target} is already the version in {config.env}")
        ttags = reg.version_info(cl, reg_name, target).tags or {}
        if reg.tag_key(config.env, "promoted_at") not in ttags:
            raise BadInput(f"version {target} of {reg_name} was never promoted to {config.env}; use `mlgitops promote --version {target}` instead")
        try:
            ev = PromotionEvidence.model_validate_json(ttags.get(reg.tag_key(config.env, "evidence"), "{}"))
        except ValidationError:
            ev = PromotionEvidence()
        back = candidate_entry(config, name, target).model_copy(update={"evidence": ev.model_copy(update={"action": "rollback", "rolled_back_from": current})})
        out.append(_apply(config, name, back, current, "rollback", commit))
    return out


def drift(config: "Config", model: str | None = None) -> list[Drift]:
    """Where the registry alias named after the env and deploy/<env>.yaml disagree."""
    state = desired.read(config.root, config.env)
    cl = reg.client(config.tracking_uri())
    out = []
    for name in config.select_models(model):
        reg_name = config.registry_name(name)
        entry = state.models.get(name)
        fv = entry.version if entry else None
        av = reg.alias_version(cl, reg_name, config.env)
        if fv == av:
            status = "in-sync" if fv else "not-promoted"
        elif fv is None:
            status = "not-in-file"
        elif av is None:
            status = "alias-missing"
        elif entry is not None and entry.replaces == av:
            status = "alias-behind"
        else:
            status = "alias-differs"
        out.append(Drift(config.env, name, reg_name, fv, av, status))
    return out


def fix_drift(config: "Config", model: str | None = None) -> list[Drift]:
    """Move each alias to the file's version (the file is the truth), under the promotion lock."""
    with _locked(config.root, config.env):
        cl = reg.client(config.tracking_uri())
        for d in drift(config, model):
            if d.drifted and d.file_version:
                cl.set_registered_model_alias(d.registry_name, config.env, d.file_version)
            elif d.status == "not-in-file":
                cl.delete_registered_model_alias(d.registry_name, config.env)
    return drift(config, model)


def commit_message(model: str, env: str, entry: DeployEntry, action: str) -> str:
    ev = entry.evidence
    lines = [f"{action}: {model} v{entry.version} to {env}" + (f" (replaces v{entry.replaces})" if entry.replaces else ""), ""]
    lines.append(f"model_uri: {entry.model_uri}")
    lines.append(f"digest: {entry.digest}")
    for key in ("data_gate", "policy_verdict", "git_sha", "evidence_run", "forced", "rolled_back_from"):
        if getattr(ev, key) is not None:
            lines.append(f"{key}: {getattr(ev, key)}")
    if ev.exempted:
        lines.append(f"exempted: {', '.join(ev.exempted)}")
    for label, metrics in (("metrics", ev.metrics), ("champion", ev.champion_metrics)):
        if metrics:
            lines.append(f"{label}: " + ", ".join(f"{k}={v:.4g}" for k, v in sorted(metrics.items())))
    return "\n".join(lines) + "\n"


def require_git(project_dir: Path) -> None:
    """Checked before anything changes, so `--commit` outside git is bad input with nothing written."""
    res = subprocess.run(["git", "rev-parse", "--show-toplevel"], cwd=project_dir, capture_output=True, text=True, check=False)
    if res.returncode != 0:
        raise BadInput(f"{project_dir}: not a git repository; run `git init` there or drop --commit")


def git_commit(project_dir: Path, path: Path, model: str, env: str, entry: DeployEntry, action: str) -> str:
    """`git add deploy/<env>.yaml && git commit` with the evidence in the message; returns the new sha."""
    def git(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["git", *args], cwd=project_dir, capture_output=True, text=True, check=False)

    rel = os.path.relpath(path, project_dir)
    for args in (("add", "--", rel), ("commit", "-q", "-m", commit_message(model, env, entry, action), "--", rel)):
        if args[0] == "commit" and git("diff", "--cached", "--quiet", "--", rel).returncode == 0:
            # a re-run of a committed promotion: nothing changed, the commit that holds the file is the answer
            return git("log", "-1", "--format=%H", "--", rel).stdout.strip() or git("rev-parse", "HEAD").stdout.strip()
        res = git(*args)
        if res.returncode != 0:
            raise BadInput(f"git {args[0]} failed in {project_dir}: {res.stderr.strip() or res.stdout.strip()} ({path} was written; commit it by hand)")
    return git("rev-parse", "HEAD").stdout.strip()
