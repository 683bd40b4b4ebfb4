"""Promotion, rollback and drift: the file `deploy/<env>.yaml` is the truth, the registry alias follows it.

Order of a promotion (each boundary is a test seam, see `_step`):
  gates (evidence) -> lock -> compare-and-set re-read -> write file -> move alias -> tag version -> commit.
A promotion killed anywhere leaves either the old file or the new file (atomic rename). Killed after the
file but before the alias, the alias lags one step behind: `drift` reports it as `alias-behind`, and
re-running the same promotion (or `drift --fix`) completes it; other promotions still go through.

Evidence rules (`gather_evidence`):
  - non-prod env: the latest evidence run (`.mlgitops/evidence/<run>/`) must have
    evaluation/<model>.json for exactly this version with verdict "pass", a passing data/<dataset>.json for
    the model's training and holdout datasets, and no mandatory findings in findings/<env>.json (a missing
    findings file counts as policy verdict "not-run" until promotion policies exist). Missing evidence
    refuses (exit 1). `--version N` picks the version but evidence is still required for that version.
  - prod: the version must already be in deploy/staging.yaml; its recorded evidence is carried over, and
    findings/prod.json must have no mandatory findings.
  - where `policies.enforcement` is mandatory, a missing findings/<env>.json refuses too.
  - `force=True` skips the evidence rules (recorded as `forced: true`) but never the staging-first rule,
    the lock, or compare-and-set.
"""
from __future__ import annotations

import contextlib
import os
import subprocess
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterator

from mlgitops.errors import BadInput, GateFailed
from mlgitops.gitops import desired
from mlgitops.gitops import registry as reg

FAIL_AT_ENV = "MLGITOPS_TEST_FAIL_AT"
"""Test seam: `<step>` makes the process die (os._exit(97)) at that step boundary of promote/rollback."""
STEPS = ("gated", "locked", "file-written", "alias-moved", "tagged")
PREVIOUS_STAGE = {"prod": "staging"}
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
    evidence: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


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


def _findings_verdict(run: Path | None, env: str, enforcement: str = "advisory") -> str:
    """Verdict of `mlgitops policy check --env ENV` (Findings JSON); required where enforcement is mandatory."""
    from mlgitops.evidence import read_json

    path = run / "findings" / f"{env}.json" if run else None
    if path is None or not path.is_file():
        if enforcement == "mandatory":
            raise GateFailed(f"{path or f'.mlgitops/evidence/<run>/findings/{env}.json'}: missing, and policies are mandatory in {env}; run `mlgitops policy check --env {env}` first")
        return "not-run"
    mandatory = int(read_json(path).get("summary", {}).get("mandatory", 0))
    if mandatory:
        raise GateFailed(f"{path}: {mandatory} mandatory policy finding(s) for {env}; fix them or add an exemption, then re-run `mlgitops policy check --env {env}`")
    return "pass"


def gather_evidence(config: Any, model: str, version: str | None) -> tuple[str, dict[str, Any]]:
    """(version, evidence summary) for promoting `model` to `config.env`; GateFailed when evidence says no."""
    from mlgitops import evidence

    root, env = config.root, config.env
    run = evidence.latest(root)
    previous = PREVIOUS_STAGE.get(env)
    if previous and previous in config.env_names:
        staged = desired.read(root, previous)["models"].get(model)
        if staged is None:
            raise GateFailed(f"{desired.path_for(root, previous)}: '{model}' is not in {previous}; promote it to {previous} first")
        version = str(version or staged["version"])
        if str(staged["version"]) != version:
            raise GateFailed(f"{env} takes only the version in deploy/{previous}.yaml ({staged['version']}), not {version}; promote {version} to {previous} first")
        ev = {k: v for k, v in (staged.get("evidence") or {}).items() if k != "rolled_back_from"}
        ev.update(action="promote", stage_from=previous, policy_verdict=_findings_verdict(run, env, config.policies.enforcement))
        return version, ev
    if run is None:
        raise GateFailed(f"{evidence.root(root)}: no evidence yet; run `mlgitops data validate`, `mlgitops train` and `mlgitops evaluate` (or `mlgitops pipeline pr`) first")
    ev_path = run / "evaluation" / f"{model}.json"
    if not ev_path.is_file():
        raise GateFailed(f"{ev_path}: missing; run `mlgitops evaluate --model {model}` first (or pass --force)")
    ev_doc = evidence.read_json(ev_path)
    cand = str(ev_doc.get("candidate", {}).get("version"))
    version = str(version or cand)
    if cand != version:
        raise GateFailed(f"{ev_path}: evaluation is for version {cand}, not {version}; evaluate version {version} first (or pass --force)")
    if ev_doc.get("verdict") != "pass":
        reasons = "; ".join(ev_doc.get("reasons") or []) or "no reason recorded"
        raise GateFailed(f"{ev_path}: version {version} did not pass evaluation ({reasons})")
    spec = config.models[model]
    for ds in dict.fromkeys(d for d in (spec.dataset, spec.holdout) if d):
        path = run / "data" / f"{ds}.json"
        if not path.is_file():
            raise GateFailed(f"{path}: missing data-gate evidence for dataset '{ds}'; run `mlgitops data validate --dataset {ds}`")
        if not evidence.read_json(path).get("success"):
            raise GateFailed(f"{path}: dataset '{ds}' failed the data gate; fix the data or the suite first")
    training_path = run / "training" / f"{model}.json"
    training = evidence.read_json(training_path) if training_path.is_file() else {}
    git = training.get("git") or {}
    champion = ev_doc.get("champion") or {}
    return version, {
        "action": "promote",
        "evidence_run": run.name,
        "data_gate": "pass",
        "metrics": ev_doc.get("candidate", {}).get("metrics", {}),
        "champion_metrics": champion.get("metrics", {}) if isinstance(champion, dict) else {},
        "policy_verdict": _findings_verdict(run, env, config.policies.enforcement),
        "git_sha": (git.get("sha") if isinstance(git, dict) else None) or _git_head(root),
    }


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


def _apply(config: Any, model: str, version: str, evidence: dict[str, Any], expect: Any, action: str, commit: bool) -> Promotion:
    """Lock, compare-and-set, write the file, move the alias, tag the version; all or refuse."""
    root, env = config.root, config.env
    name = config.registry_name(model)
    path = desired.path_for(root, env)
    if expect is _UNSET:
        expect = desired.current_version(desired.read(root, env), model)
    cl = reg.client(config.tracking_uri())
    mv = reg.version_info(cl, name, version)
    download_uri = cl.get_model_version_download_uri(name, version)
    digest = reg.artifact_digest(download_uri)
    _step("gated")
    with _locked(root, env):
        _step("locked")
        state = desired.read(root, env)
        current = desired.current_version(state, model)
        if current != (None if expect is None else str(expect)):
            raise GateFailed(f"{path}: '{model}' changed underneath (expected version {expect}, found {current}); another promotion won. Re-read and retry.")
        entry = state["models"].get(model) or {}
        _check_alias(cl, name, env, current, None if entry.get("replaces") is None else str(entry.get("replaces")), path)
        if current == version and action == "promote":
            replaces = entry.get("replaces")  # re-run of the same promotion: complete the registry side
            new_entry = entry
        else:
            replaces = current
            new_entry = {
                "version": str(version),
                "registry_name": name,
                "model_uri": f"models:/{name}/{version}",
                "artifact_uri": download_uri,
                "run_id": mv.run_id,
                "digest": digest,
                "replaces": replaces,
                "promoted_at": _now(),
                "evidence": evidence,
            }
            state["models"][model] = new_entry
            state["env"] = env
            desired.write(root, env, state)
        _step("file-written")
        cl.set_registered_model_alias(name, env, str(version))
        _step("alias-moved")
        import json

        cl.set_model_version_tag(name, str(version), reg.tag_key(env, "promoted_at"), new_entry["promoted_at"])
        cl.set_model_version_tag(name, str(version), reg.tag_key(env, "evidence"), json.dumps(new_entry["evidence"], sort_keys=True, default=str))
        if action == "promote":
            cl.set_model_version_tag(name, str(version), reg.tag_key(env, "previous"), "" if replaces is None else str(replaces))
        _step("tagged")
        sha = git_commit(root, path, model, env, new_entry, action) if commit else None
    return Promotion(env, model, str(version), None if replaces is None else str(replaces), str(path), action, sha, new_entry["evidence"])


def promote(config: Any, model: str | None = None, version: str | int | None = None, *, force: bool = False,
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
        ver, ev = _forced_evidence(config, name, wanted) if force else gather_evidence(config, name, wanted)
        out.append(_apply(config, name, ver, ev, expect_current, "promote", commit))
    return out


def _forced_evidence(config: Any, model: str, version: str | None) -> tuple[str, dict[str, Any]]:
    """`--force`: no evidence rules, except that prod still takes only the staging version."""
    prev = PREVIOUS_STAGE.get(config.env)
    if prev and prev in config.env_names:
        version, ev = gather_evidence(config, model, version)
    elif version is None:
        raise BadInput("--force needs --version N (there is no evidence to pick a version from)")
    else:
        ev = {"git_sha": _git_head(config.root)}
    return version, {**ev, "action": "promote", "forced": True}


def rollback(config: Any, model: str | None = None, to: str | int | None = None, *, commit: bool = False) -> list[Promotion]:
    """Back to the version the current one replaced (or `to`), which must have been promoted to this env before."""
    if commit:
        require_git(config.root)
    out = []
    for name in config.select_models(model):
        state = desired.read(config.root, config.env)
        current = desired.current_version(state, name)
        if current is None:
            raise GateFailed(f"{desired.path_for(config.root, config.env)}: '{name}' was never promoted to {config.env}; nothing to roll back")
        reg_name = config.registry_name(name)
        cl = reg.client(config.tracking_uri())
        tags = reg.version_info(cl, reg_name, current).tags or {}
        prev_key = reg.tag_key(config.env, "previous")  # set by promote only, so rollbacks walk back in order
        target = str(to) if to is not None else (tags[prev_key] if prev_key in tags else state["models"][name].get("replaces"))
        if not target:
            raise GateFailed(f"{name} version {current} is the first promoted to {config.env}; there is nothing earlier to roll back to")
        target = str(target)
        if target == current:
            raise BadInput(f"--to {target} is already the version in {config.env}")
        ttags = reg.version_info(cl, reg_name, target).tags or {}
        if reg.tag_key(config.env, "promoted_at") not in ttags:
            raise BadInput(f"version {target} of {reg_name} was never promoted to {config.env}; use `mlgitops promote --version {target}` instead")
        import json

        try:
            ev = json.loads(ttags.get(reg.tag_key(config.env, "evidence"), "{}"))
        except ValueError:
            ev = {}
        ev.update(action="rollback", rolled_back_from=current)
        out.append(_apply(config, name, target, ev, current, "rollback", commit))
    return out


def drift(config: Any, model: str | None = None) -> list[Drift]:
    """Where the registry alias named after the env and deploy/<env>.yaml disagree."""
    state = desired.read(config.root, config.env)
    cl = reg.client(config.tracking_uri())
    out = []
    for name in config.select_models(model):
        reg_name = config.registry_name(name)
        entry = state["models"].get(name) or {}
        fv = desired.current_version(state, name)
        av = reg.alias_version(cl, reg_name, config.env)
        if fv == av:
            status = "in-sync" if fv else "not-promoted"
        elif fv is None:
            status = "not-in-file"
        elif av is None:
            status = "alias-missing"
        elif entry.get("replaces") is not None and str(entry.get("replaces")) == av:
            status = "alias-behind"
        else:
            status = "alias-differs"
        out.append(Drift(config.env, name, reg_name, fv, av, status))
    return out


def fix_drift(config: Any, model: str | None = None) -> list[Drift]:
    """Move each alias to the file's version (the file is the truth), under the promotion lock."""
    with _locked(config.root, config.env):
        cl = reg.client(config.tracking_uri())
        for d in drift(config, model):
            if d.drifted and d.file_version:
                cl.set_registered_model_alias(d.registry_name, config.env, d.file_version)
            elif d.status == "not-in-file":
                cl.delete_registered_model_alias(d.registry_name, config.env)
    return drift(config, model)


def commit_message(model: str, env: str, entry: dict[str, Any], action: str) -> str:
    ev = entry.get("evidence") or {}
    lines = [f"{action}: {model} v{entry['version']} to {env}" + (f" (replaces v{entry['replaces']})" if entry.get("replaces") else ""), ""]
    lines.append(f"model_uri: {entry['model_uri']}")
    lines.append(f"digest: {entry['digest']}")
    for key in ("data_gate", "policy_verdict", "git_sha", "evidence_run", "forced", "rolled_back_from"):
        if key in ev:
            lines.append(f"{key}: {ev[key]}")
    for key, label in (("metrics", "metrics"), ("champion_metrics", "champion")):
        if ev.get(key):
            lines.append(f"{label}: " + ", ".join(f"{k}={v:.4g}" if isinstance(v, (int, float)) else f"{k}={v}" for k, v in sorted(ev[key].items())))
    return "\n".join(lines) + "\n"


def require_git(project_dir: Path) -> None:
    """Checked before anything changes, so `--commit` outside git is bad input with nothing written."""
    res = subprocess.run(["git", "rev-parse", "--show-toplevel"], cwd=project_dir, capture_output=True, text=True, check=False)
    if res.returncode != 0:
        raise BadInput(f"{project_dir}: not a git repository; run `git init` there or drop --commit")


def git_commit(project_dir: Path, path: Path, model: str, env: str, entry: dict[str, Any], action: str) -> str:
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
