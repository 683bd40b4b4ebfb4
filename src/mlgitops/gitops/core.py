"""Promotion, rollback and drift: the file `deploy/<env>.yaml` is the truth, the registry alias follows it.

A model is identified by its digest (`mlgitops.package`), never by a registry version number: CI runners
start from a fresh clone whose tracking store numbers its versions from 1. The digest, the package's place
(the environment's models bucket; for `local`, a path under `.mlgitops/`) and the lineage go into git.

Order of a promotion (each boundary is a test seam, see `_step`):
  gates (evidence) -> package uploaded -> lock -> compare-and-set re-read -> write file -> move alias -> tag -> commit.
A promotion killed anywhere leaves either the old file or the new file (atomic rename). Killed after the
file but before the alias, the alias lags one step behind: `drift` reports it as `alias-behind`, and
re-running the same promotion (or `drift --fix`) completes it; other promotions still go through.

Evidence: `promote` runs the promotion rules (`mlgitops.policies.promotion`) over the latest evidence run and
refuses on any blocking finding, in every environment: the data gate passed on the trained digests, the
evaluation of exactly this model, against this environment and its current champion, passed; the plan of the
environment with the promotion applied has no mandatory finding (planned here, never taken from an earlier
check); and prod takes only what staging serves, with the evidence recorded there. An exempted rule
is recorded in the entry's evidence. `force=True` skips every rule but staging-first (recorded as
`forced: true`); it never skips the lock or compare-and-set. With no new candidate, or one the environment
already serves, `promote` is a no-op.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlgitops import bucket, git, image
from mlgitops import registry as reg
from mlgitops.errors import BadInput, GateFailed
from mlgitops.evidence import DeployEntry, DeployState, Finding, Findings, FindingStatus, PromotionEvidence, Run
from mlgitops.evidence import state as desired
from mlgitops.package import PACKAGE

if TYPE_CHECKING:
    from mlgitops.config import Project

FAIL_AT_ENV = "MLGITOPS_TEST_FAIL_AT"
"""Test seam: `<step>` makes the process die (os._exit(97)) at that step boundary of promote/rollback."""
STEPS = ("gated", "locked", "file-written", "alias-moved", "tagged")
STAGING_FIRST = "promotion-staging-first"  # the one rule `--force` does not skip
POLICY_CHECK = "promotion-policy-check"  # reads the plan the promotion creates, made only once the other rules agree
_UNSET: Any = object()
DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")


@dataclass
class Promotion:
    env: str
    model: str
    digest: str
    version: str | None
    replaces: str | None
    path: str
    action: str = "promote"  # promote | rollback | noop (the environment already serves it)
    commit: str | None = None
    evidence: PromotionEvidence = field(default_factory=PromotionEvidence)

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "evidence": self.evidence.to_dict()}


@dataclass
class Drift:
    env: str
    model: str
    registry_name: str
    file_digest: str | None
    alias_digest: str | None
    alias_version: str | None
    status: str  # in-sync | alias-missing | alias-behind | alias-differs | not-in-file | not-promoted | not-in-store

    @property
    def drifted(self) -> bool:
        """`not-in-store`: this tracking store never saw the model (a fresh runner's); git is the record, nothing to fix."""
        return self.status not in ("in-sync", "not-promoted", "not-in-store")

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "drifted": self.drifted}


class Promotions(list[Promotion]):
    """What `promote` and `rollback` return: a list of `Promotion`s that is also the `--json` document."""

    def to_dict(self) -> dict[str, Any]:
        return {"promotions": [p.to_dict() for p in self]}


@dataclass
class DriftCheck:
    """What `mlgitops drift` reports: each model's `Drift` in `env` (after the fix, when asked to fix it)."""

    env: str
    drift: list[Drift]

    @property
    def drifted(self) -> bool:
        return any(d.drifted for d in self.drift)

    def to_dict(self) -> dict[str, Any]:
        return {"env": self.env, "drift": [d.to_dict() for d in self.drift], "drifted": self.drifted}


def _step(name: str) -> None:
    if os.environ.get(FAIL_AT_ENV) == name:
        os._exit(97)


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def gather_evidence(
    config: Project, model: str, digest: str | None, force: bool = False, version: str | None = None
) -> DeployEntry | None:
    """The entry promoting `model` to `config.env` would write, with its package in place; GateFailed when a promotion
    rule says no; None when there is nothing new to promote (no candidate, or the one the environment serves).

    The rules run twice: first on the run's evidence alone (cheap refusals first), then with the findings of the
    environment's plan as it would be with this entry promoted. A policy check made before the change is never used."""
    from mlgitops.policies.engine import check_evidence
    from mlgitops.policies.pack import enforcements, settings
    from mlgitops.policies.promotion import EMBEDDED, load_evidence

    run = Run.latest(config.root)
    ev = load_evidence(run, config, {model: digest})
    wanted = ev.digests[model]
    served = ev.current.digest(model) if ev.current else None
    if served is not None and wanted in (None, served):
        return None
    where = f"evidence run {run.name}" if run else f"{config.root / '.mlgitops' / 'evidence'} (no evidence yet)"

    def rules(skip: tuple[str, ...] = ()) -> list[Finding]:
        found = check_evidence(ev, settings(config), enforcements(config))
        blocking = [f for f in found if f.blocks and f.policy not in skip and (not force or f.policy == STAGING_FIRST)]
        if blocking:
            raise GateFailed(
                f"{model} cannot be promoted to {config.env} ({where}):\n"
                + "\n".join(f"  {f.policy}: {f.message}" for f in blocking)
            )
        return found

    plans = not force and config.env != EMBEDDED
    rules(skip=(POLICY_CHECK,) if plans else ())
    if wanted is None:
        raise BadInput("--force needs --version N or --digest D (there is no evidence to pick a model from)")
    entry, package = candidate(config, model, wanted, run, ev.previous_env, version)
    if (
        config.env != EMBEDDED
    ):  # the image SageMaker serves it with: the model's requirements, built in (mlgitops.image)
        entry = entry.model_copy(update={"image": image.reference(config, image.tag(config.root, package))})
    if plans:
        ev.findings = planned_findings(config, model, entry)
    findings = rules()
    exempted = sorted({f.policy for f in findings if f.status == FindingStatus.EXEMPTED})
    verdict = "pass" if ev.findings is not None else "not-run"
    if ev.previous is not None:
        staged = entry.evidence
        summary = staged.model_copy(
            update={
                "action": "promote",
                "stage_from": ev.previous_env,
                "rolled_back_from": None,
                "policy_verdict": verdict,
                "exempted": exempted,
            }
        )
    else:
        training, evaluation = ev.training.get(model), ev.evaluation.get(model)
        summary = PromotionEvidence(
            evidence_run=run.name if run else None,
            data_gate="pass" if not force else None,
            metrics=evaluation.candidate.metrics if evaluation else {},
            champion_metrics=evaluation.champion.metrics if evaluation and evaluation.champion else {},
            policy_verdict=verdict,
            exempted=exempted,
            git_sha=(training.git.sha if training else None) or git.line(config.root, "rev-parse", "HEAD"),
        )
    publish(config, model, entry, package)
    return entry.model_copy(update={"evidence": summary.model_copy(update={"forced": True}) if force else summary})


def candidate(
    config: Project, model: str, digest: str, run: Run | None, previous_env: str | None, version: str | None = None
) -> tuple[DeployEntry, Path]:
    """The entry for the model `digest` (artifact_uri where `publish` puts it; `replaces` and the time are set under the
    lock) and its verified package on this machine. Looked up in the previous stage's file (prod takes what staging
    serves), then in the evidence run's training records, then in this tracking store's registry."""
    from mlgitops.config import load
    from mlgitops.evidence import state
    from mlgitops.package import build, short, verify

    name = config.registry_name(model)
    if previous_env is not None:
        staged = state.read(config.root, previous_env).models.get(model)
        if staged is not None and staged.digest == digest:
            where = f"deploy/{previous_env}.yaml"
            path = (
                bucket.model_dir(load(config.root, previous_env), model, digest, staged.artifact_uri, where).parent
                / PACKAGE
            )
            verify(path, digest, where)
            return staged.model_copy(
                update={"artifact_uri": target_uri(config, model, digest), "replaces": None, "promoted_at": None}
            ), path
    trained = run.training(model) if run is not None and version is None else None
    if trained is not None and trained.digest == digest and trained.package:
        path = run.dir / trained.package  # type: ignore[union-attr]
        verify(path, digest, str(run.path(type(trained), model)))  # type: ignore[union-attr]
        return DeployEntry(
            digest=digest,
            artifact_uri=target_uri(config, model, digest),
            registry_name=name,
            version=trained.version,
            model_uri=trained.model_uri,
            run_id=trained.run_id,
            model_id=trained.logged_model_id,
            data_digests=trained.dataset_digests,
        ), path
    cl = reg.client(config.tracking_uri())
    version = reg.find(
        cl, name, digest, version or (trained.version if trained is not None and trained.digest == digest else None)
    )
    if version is None:
        raise BadInput(
            f"model {short(digest)} of '{model}' is in neither the evidence run, deploy/{previous_env or config.env}.yaml "
            f"nor the tracking store {config.tracking_uri()}; train it (`mlgitops pipeline pr`) or pass --version"
        )
    mv = reg.version_info(cl, name, version)
    path = bucket.cache_dir(config.root, model, digest) / PACKAGE
    if build(reg.local_copy(cl.get_model_version_download_uri(name, version)), path) != digest:
        raise BadInput(
            f"version {version} of '{name}' is tagged {reg.DIGEST_TAG}={short(digest)} but its files are another model; "
            f"remove the tag (`mlgitops promote --version {version}` computes it again)"
        )
    return DeployEntry(
        digest=digest,
        artifact_uri=target_uri(config, model, digest),
        registry_name=name,
        version=version,
        model_uri=f"models:/{name}/{version}",
        run_id=mv.run_id,
        model_id=getattr(mv, "model_id", None),
    ), path


def target_uri(config: Project, model: str, digest: str) -> str:
    """Where the environment's package lives: its models bucket, or for `local` a project path under `.mlgitops/`."""
    from mlgitops.policies.promotion import EMBEDDED

    if config.env == EMBEDDED:
        return (bucket.cache_dir(Path("."), model, digest) / PACKAGE).as_posix()
    return bucket.object_uri(config, model, digest)


def publish(config: Project, model: str, entry: DeployEntry, package: Path) -> None:
    """Put the package where `entry.artifact_uri` says (idempotent); raised errors leave git untouched."""
    import shutil

    if entry.artifact_uri.startswith("s3://"):
        if (
            config.monitoring.schedule != "none"
        ):  # computed first: data that is not the training data refuses before any upload
            from mlgitops.monitoring import baseline

            files = {
                n: json.dumps(body, indent=1).encode() for n, body in baseline.compute(config, model, entry).items()
            }
        bucket.upload(config, model, package, entry.digest)
        if config.monitoring.schedule != "none":
            bucket.upload_baseline(config, model, entry.digest, files)
        return
    dest = Path(config.root) / entry.artifact_uri
    if dest.resolve() != package.resolve():
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(package, dest)


def digest_of(config: Project, model: str, version: str | int) -> str:
    """The digest of a registered version of `model` in this tracking store (`--version`)."""
    cl = reg.client(config.tracking_uri())
    name = config.registry_name(model)
    return reg.digest_of_version(cl, name, reg.version_info(cl, name, str(version)))


def planned_findings(config: Project, model: str, entry: DeployEntry) -> Findings:
    """The environment's infrastructure findings with `entry` promoted: what `pulumi up` would apply after the merge."""
    from mlgitops.plan import plan_project
    from mlgitops.policies.engine import check

    state = desired.read(config.root, config.env)
    state.models[model] = entry
    return check(config, plan_project(config, state))


def _alias_digest(cl: Any, name: str, env: str) -> tuple[str | None, str | None]:
    """(version, digest) the registry alias `env` points at, (None, None) when there is none."""
    mv = reg.alias_version(cl, name, env)
    return (None, None) if mv is None else (str(mv.version), reg.digest_of_version(cl, name, mv))


def _check_alias(cl: Any, name: str, env: str, current: str | None, replaces: str | None, path: Path) -> None:
    """Compare-and-set on the registry: the alias must be the file's model (or lag by one interrupted step)."""
    version, digest = _alias_digest(cl, name, env)
    if digest is None or digest in (current, replaces):
        return
    raise GateFailed(
        f"registry alias '{env}' of {name} points at version {version} ({digest[:19]}) but {path} says {(current or 'nothing')[:19]}: "
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
        raise GateFailed(
            f"{lock.lock_file}: another promotion of {env} has held the lock for {timeout:.0f}s; retry later"
        ) from None
    try:
        yield
    finally:
        lock.release()


def _apply(config: Project, model: str, new: DeployEntry | None, expect: Any, action: str, commit: bool) -> Promotion:
    """Lock, compare-and-set, write the file, move the alias, tag the version; all or refuse.

    `new` None: the environment already serves its model; only the registry side is completed."""
    root, env = config.root, config.env
    path = desired.path_for(root, env)
    if expect is _UNSET:
        expect = desired.read(root, env).digest(model)
    cl = reg.client(config.tracking_uri())
    _step("gated")
    with _locked(root, env):
        _step("locked")
        state = desired.read(root, env)
        current = state.digest(model)
        if current != expect:
            raise GateFailed(
                f"{path}: '{model}' changed underneath (expected {(expect or 'nothing')[:19]}, found {(current or 'nothing')[:19]}); "
                "another promotion won. Re-read and retry."
            )
        entry = state.models.get(model)
        name = (new or entry).registry_name  # type: ignore[union-attr]
        _check_alias(cl, name, env, current, entry.replaces if entry else None, path)
        if new is None or (entry is not None and current == new.digest and action == "promote"):
            new_entry, action = entry, "noop"  # already served: complete the registry side of an interrupted promotion
        else:
            new_entry = new.model_copy(update={"replaces": current} if action == "promote" else {})
            new_entry = new_entry.model_copy(update={"promoted_at": _now()})
            state.models[model] = new_entry
            desired.write(root, state)
        assert new_entry is not None
        _step("file-written")
        version = reg.find(
            cl, name, new_entry.digest, new_entry.version
        )  # None: this store never saw the model; git is the record
        if version is not None:
            cl.set_registered_model_alias(name, env, version)
        _step("alias-moved")
        if version is not None:
            cl.set_model_version_tag(name, version, reg.tag_key(env, "promoted_at"), str(new_entry.promoted_at))
            cl.set_model_version_tag(
                name,
                version,
                reg.tag_key(env, "evidence"),
                json.dumps(new_entry.evidence.model_dump(mode="json", exclude_defaults=True), sort_keys=True),
            )
        _step("tagged")
        sha = (
            git_commit(root, path, model, env, new_entry, "promote" if action == "noop" else action) if commit else None
        )
    return Promotion(
        env, model, new_entry.digest, new_entry.version, new_entry.replaces, str(path), action, sha, new_entry.evidence
    )


def promote(
    config: Project,
    model: str | None = None,
    version: str | int | None = None,
    *,
    digest: str | None = None,
    force: bool = False,
    commit: bool = False,
    expect_current: Any = _UNSET,
) -> Promotions:
    """Promote each model (or one) to `config.env`. `version` selects in this tracking store, `digest` by identity;
    `expect_current`: compare-and-set against this digest."""
    names = config.select_models(model)
    if (version is not None or digest is not None) and len(names) > 1:
        raise BadInput("--version and --digest need --model when the config declares several models")
    if version is not None and digest is not None:
        raise BadInput("--version and --digest both select the model; pass one of them")
    if config.env not in config.env_names:
        raise BadInput(f"mlgitops.yaml: unknown environment '{config.env}' (declared: {', '.join(config.env_names)})")
    if commit:
        require_git(config.root)
    if digest is not None and not DIGEST.match(digest):
        raise BadInput(
            f"--digest {digest}: not a model digest; pass sha256:<64 hex digits> as deploy/<env>.yaml records it"
        )
    out = Promotions()
    for name in names:
        wanted = digest_of(config, name, version) if version is not None else digest
        new = gather_evidence(config, name, wanted, force, None if version is None else str(version))
        out.append(_apply(config, name, new, expect_current, "promote", commit))
    return out


def history(project_dir: Path, env: str) -> Iterator[DeployState]:
    """The committed states of deploy/<env>.yaml, newest first (nothing outside git, or when never committed)."""
    rel = f"deploy/{env}.yaml"
    for sha in (git.output(project_dir, "log", "--format=%H", "--", rel) or "").split():
        shown = git.output(project_dir, "show", f"{sha}:{rel}")
        if shown is not None:
            yield desired.parse(shown, f"{rel} at {sha[:12]}", env)


def _restorable(states: list[DeployState], model: str, current: DeployEntry, to: str | None) -> DeployEntry | None:
    """The committed entry to go back to. By default what the current model replaced when it was promoted: the entry
    just before that promotion, so repeated rollbacks walk back along the chain instead of to and fro."""
    entries = [e for st in states if (e := st.models.get(model)) is not None]  # newest first
    if to is not None:
        hex_to = to.removeprefix("sha256:")
        return next(
            (
                e
                for e in entries
                if e.version == to or (len(hex_to) >= 7 and e.digest.removeprefix("sha256:").startswith(hex_to))
            ),
            None,
        )
    start = next(
        (i for i, e in enumerate(entries) if e.digest == current.digest and e.evidence.action == "promote"), None
    )
    older = entries[start + 1 :] if start is not None else entries
    return next((e for e in older if e.digest == current.replaces), None)


def rollback(config: Project, model: str | None = None, to: str | None = None, *, commit: bool = False) -> Promotions:
    """Back to the model the current one replaced (or `to`: a digest, a prefix of one, or a recorded version), found in
    the git history of deploy/<env>.yaml, so a fresh clone can roll back without any tracking store."""
    from mlgitops.package import short

    if commit:
        require_git(config.root)
    out = Promotions()
    for name in config.select_models(model):
        path = desired.path_for(config.root, config.env)
        entry = desired.read(config.root, config.env).models.get(name)
        if entry is None:
            raise GateFailed(f"{path}: '{name}' was never promoted to {config.env}; nothing to roll back")
        if to is None and not entry.replaces:
            raise GateFailed(
                f"{name} {short(entry.digest)} is the first model promoted to {config.env}; there is nothing earlier to roll back to"
            )
        back = _restorable(list(history(config.root, config.env)), name, entry, None if to is None else str(to))
        if back is None:
            want = str(to) if to is not None else short(entry.replaces)
            raise BadInput(
                f"{want} of '{name}' is not in the git history of {path}; rollback restores an entry that promote "
                f"committed (`mlgitops promote --commit`); list them with `git log -p -- deploy/{config.env}.yaml`"
            )
        if back.digest == entry.digest:
            raise BadInput(f"--to {to}: {short(back.digest)} is already the model in {config.env}")
        back = back.model_copy(
            update={
                "evidence": back.evidence.model_copy(update={"action": "rollback", "rolled_back_from": entry.digest})
            }
        )
        out.append(_apply(config, name, back, entry.digest, "rollback", commit))
    return out


def drift(config: Project, model: str | None = None) -> list[Drift]:
    """Where the registry alias named after the env and deploy/<env>.yaml disagree, by digest."""
    state = desired.read(config.root, config.env)
    cl = reg.client(config.tracking_uri())
    out = []
    for name in config.select_models(model):
        reg_name = config.registry_name(name)
        entry = state.models.get(name)
        fd = entry.digest if entry else None
        av, ad = _alias_digest(cl, reg_name, config.env)
        if fd == ad:
            status = "in-sync" if fd else "not-promoted"
        elif fd is None:
            status = "not-in-file"
        elif ad is None:
            status = "alias-missing" if reg.version_by_digest(cl, reg_name, fd) else "not-in-store"
        elif entry is not None and entry.replaces == ad:
            status = "alias-behind"
        else:
            status = "alias-differs"
        out.append(Drift(config.env, name, reg_name, fd, ad, av, status))
    return out


def fix_drift(config: Project, model: str | None = None) -> list[Drift]:
    """Move each alias to the version holding the file's model (the file is the truth), under the promotion lock."""
    with _locked(config.root, config.env):
        cl = reg.client(config.tracking_uri())
        for d in drift(config, model):
            version = reg.version_by_digest(cl, d.registry_name, d.file_digest) if d.file_digest else None
            if d.drifted and version:
                cl.set_registered_model_alias(d.registry_name, config.env, version)
            elif d.status == "not-in-file":
                cl.delete_registered_model_alias(d.registry_name, config.env)
    return drift(config, model)


def check_drift(config: Project, model: str | None = None, fix: bool = False) -> DriftCheck:
    """`drift`, or with `fix` `fix_drift`, as one result."""
    return DriftCheck(config.env, fix_drift(config, model) if fix else drift(config, model))


def render_promotions(results: Promotions) -> str:
    """A line per model: what was promoted or rolled back, from what, where it was written and committed."""
    from mlgitops.package import short

    lines = []
    for r in results:
        if r.action == "noop":
            lines.append(
                f"{r.model}: {r.env} is already serving {short(r.digest)}; nothing to promote"
                + (f" (committed {r.commit[:12]})" if r.commit else "")
            )
            continue
        was = f" (replaces {short(r.replaces)})" if r.replaces else ""
        lines.append(
            f"{r.action}: {r.model} {short(r.digest)} -> {r.env}{was}; wrote {r.path}"
            + (f"; commit {r.commit[:12]}" if r.commit else "")
        )
    return "".join(line + "\n" for line in lines)


def render_drift(result: DriftCheck) -> str:
    """A line per model: the file's digest, the alias's digest and version, the status."""
    lines = []
    for d in result.drift:
        alias = f"{(d.alias_digest or '-')[:19]} (v{d.alias_version})" if d.alias_version else "-"
        lines.append(f"{d.model}: file {(d.file_digest or '-')[:19]} alias {alias}: {d.status}\n")
    return "".join(lines)


def commit_message(model: str, env: str, entry: DeployEntry, action: str) -> str:
    from mlgitops.package import short

    ev = entry.evidence
    lines = [
        f"{action}: {model} {short(entry.digest)} to {env}"
        + (f" (replaces {short(entry.replaces)})" if entry.replaces else ""),
        "",
    ]
    lines.append(f"digest: {entry.digest}")
    lines.append(f"package: {entry.artifact_uri}")
    if entry.version:
        lines.append(
            f"registry: {entry.registry_name} v{entry.version} (informative: numbered by the store that trained it)"
        )
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
    if git.toplevel(project_dir) is None:
        raise BadInput(f"{project_dir}: not a git repository; run `git init` there or drop --commit")


def git_commit(project_dir: Path, path: Path, model: str, env: str, entry: DeployEntry, action: str) -> str | None:
    """`git add deploy/<env>.yaml && git commit` with the evidence in the message; the new sha, None when the file
    already is as committed (nothing to commit)."""
    rel = os.path.relpath(path, project_dir)
    for args in (("add", "--", rel), ("commit", "-q", "-m", commit_message(model, env, entry, action), "--", rel)):
        if args[0] == "commit" and git.output(project_dir, "diff", "--cached", "--quiet", "--", rel) is not None:
            return None
        res = git.run(project_dir, *args)
        if res is None or res.returncode != 0:
            why = "git is not installed" if res is None else (res.stderr.strip() or res.stdout.strip())
            raise BadInput(f"git {args[0]} failed in {project_dir}: {why} ({path} was written; commit it by hand)")
    return git.line(project_dir, "rev-parse", "HEAD")
