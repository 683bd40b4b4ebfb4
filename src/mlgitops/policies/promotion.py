"""Promotion rules: the one place that decides whether a model may be promoted to an environment.

`mlgitops promote` runs them over the run's evidence and refuses on any blocking finding, in every
environment; `mlgitops policy check --evidence RUN` reports the same verdicts. A rule reads decisions that
were made once elsewhere (the evaluation's verdict, the data gate's success); it never recomputes them.
Missing evidence is a finding (nobody produced it); evidence that is there but unreadable is bad input.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from mlgitops.evidence import ChampionRef, DataReport, DeployState, Evaluation, Findings, Run, TrainingRecord, Verdict
from mlgitops.package import short
from mlgitops.policies.registry import promotion_rule

if TYPE_CHECKING:
    from mlgitops.config import Project

PREVIOUS_STAGE = {"prod": "staging"}  # an environment that only takes what the previous stage serves
EMBEDDED = "local"  # served by `mlgitops serve`: its promotion changes no cloud resource
EVIDENCE_TYPE = "mlgitops:evidence"  # the resource type of promotion findings


@dataclass(frozen=True)
class ModelDatasets:
    dataset: str
    holdout: str | None


@dataclass
class Evidence:
    """What the promotion rules read about one environment: the run's records and the previous stage's state."""

    env: str
    enforcement: str  # the environment's policies.enforcement: a missing policy check blocks where it is mandatory
    models: dict[str, ModelDatasets]
    digests: dict[str, str | None]  # the model (by digest) each would be promoted to
    run: str | None = None
    data: dict[str, DataReport | None] = field(default_factory=dict)
    training: dict[str, TrainingRecord | None] = field(default_factory=dict)
    evaluation: dict[str, Evaluation | None] = field(default_factory=dict)
    findings: Findings | None = None  # infrastructure findings of the plan the promotion would create
    current: DeployState | None = None  # what the environment serves now
    previous_env: str | None = None
    previous: DeployState | None = None

    @property
    def staged(self) -> bool:
        """The environment takes what the previous stage serves, with the evidence recorded there."""
        return self.previous_env is not None


def previous_stage(config: Project) -> str | None:
    prev = PREVIOUS_STAGE.get(config.env)
    return prev if prev in config.env_names else None


def load_evidence(run: Run | None, config: Project, digests: dict[str, str | None] | None = None) -> Evidence:
    """The evidence of `run` for `config.env` (every model, or those in `digests`); BadInput on an unreadable record.

    `digests` names the model to promote per model name; None takes what the previous stage serves (after a previous
    stage) or the evaluated candidate."""
    from mlgitops.evidence.state import read

    names = list(digests) if digests else list(config.models)
    prev = previous_stage(config)
    ev = Evidence(
        env=config.env,
        enforcement=config.policies.enforcement,
        digests={},
        models={n: ModelDatasets(config.models[n].dataset, config.models[n].holdout) for n in names},
        run=run.name if run else None,
        current=read(config.root, config.env),
        previous_env=prev,
        previous=read(config.root, prev) if prev else None,
    )
    if run is not None:
        for name, m in ev.models.items():
            for ds in dict.fromkeys(d for d in (m.dataset, m.holdout) if d):
                ev.data[ds] = run.data(ds)
            ev.training[name] = run.training(name)
            ev.evaluation[name] = run.evaluation(name)
        ev.findings = run.findings(config.env)
    for name in names:
        wanted = (digests or {}).get(name)
        if wanted is None and ev.previous is not None:
            wanted = ev.previous.digest(name)
        if wanted is None and ev.evaluation.get(name) is not None:
            wanted = ev.evaluation[name].candidate.digest  # type: ignore[union-attr]
        ev.digests[name] = wanted
    return ev


def _res(model: str) -> str:
    return f"model:{model}"


@promotion_rule(
    "promotion-data-gate", "The data gate passed on the exact dataset digests the candidate was trained on."
)
def data_gate(ev: Evidence) -> Iterator[tuple[str, str]]:
    if ev.staged:
        return  # checked when the model entered the previous stage; its evidence travels with it
    for name, m in ev.models.items():
        train = ev.training.get(name)
        for role, ds in (("train", m.dataset), ("holdout", m.holdout)):
            if ds is None:
                continue
            report = ev.data.get(ds)
            if report is None:
                yield _res(name), f"no data gate evidence for dataset {ds}; run `mlgitops data validate --dataset {ds}`"
            elif not report.success:
                yield (
                    _res(name),
                    f"dataset '{ds}' failed the data gate ({len(report.failures)} failed critical expectations); fix the data or the suite first",
                )
            elif train is None:
                yield (
                    _res(name),
                    f"no training evidence, so the {role} digest cannot be matched; run `mlgitops train --model {name}`",
                )
            elif train.dataset_digests.get(role) != report.digest:
                yield (
                    _res(name),
                    f"trained on {role} digest {train.dataset_digests.get(role)} but the data gate checked {report.digest}; retrain on the gated data",
                )


def _champion_then(ev: Evidence, name: str, wanted: str | None) -> ChampionRef | None:
    """The champion a valid evaluation of `wanted` was measured against: what the environment serves now, or, when
    it already serves `wanted` (a re-run completing an interrupted promotion), what that promotion replaced."""
    entry = ev.current.models.get(name) if ev.current else None
    if entry is None:
        return None
    if entry.digest == wanted:
        return None if entry.replaces is None else ChampionRef(digest=entry.replaces)
    return ChampionRef(version=entry.version, digest=entry.digest)


def _same(a: ChampionRef | None, b: ChampionRef | None) -> bool:
    """The same served model: compared by digest, since version numbers differ between stores."""
    if a is None or b is None:
        return a is b
    return a.digest == b.digest


@promotion_rule(
    "promotion-evaluation",
    "The evaluation of this exact candidate, against this environment's current champion, passed "
    "(thresholds and champion are decided once, by `mlgitops evaluate`).",
)
def evaluation(ev: Evidence) -> Iterator[tuple[str, str]]:
    if ev.staged:
        return
    for name in ev.models:
        e = ev.evaluation.get(name)
        wanted = ev.digests.get(name)
        redo = f"run `mlgitops evaluate --env {ev.env} --model {name}` (or `mlgitops pipeline pr --env {ev.env}`)"
        champion = _champion_then(ev, name, wanted)
        if e is None:
            yield _res(name), f"no evaluation evidence; {redo} first"
        elif wanted is not None and e.candidate.digest != wanted:
            yield (
                _res(name),
                f"the evaluation is for model {short(e.candidate.digest)}, not {short(wanted)}; evaluate {short(wanted)} first",
            )
        elif e.env != ev.env:
            yield (
                _res(name),
                f"the evaluation was measured against {e.env or 'no recorded environment'}, not {ev.env}; {redo}",
            )
        elif not _same(e.against, champion):
            then = f"champion {short(e.against.digest)}" if e.against else "no champion"
            now = short(champion.digest) if champion else "nothing"
            yield (
                _res(name),
                f"the evaluation compared against {then}, but deploy/{ev.env}.yaml serves {now} now; {redo}",
            )
        elif e.verdict != Verdict.PASS:
            yield (
                _res(name),
                f"{short(e.candidate.digest)} did not pass evaluation ({'; '.join(e.reasons) or 'no reason recorded'})",
            )


@promotion_rule(
    "promotion-staging-first", "A model reaches prod only after it was promoted to staging (the same digest)."
)
def staging_first(ev: Evidence) -> Iterator[tuple[str, str]]:
    if not ev.staged:
        return
    for name in ev.models:
        have = ev.previous.digest(name) if ev.previous else None
        wanted = ev.digests.get(name)
        if have is None:
            yield _res(name), f"'{name}' is not in deploy/{ev.previous_env}.yaml; promote it to {ev.previous_env} first"
        elif wanted is not None and wanted != have:
            yield (
                _res(name),
                (
                    f"{ev.env} takes only the model in deploy/{ev.previous_env}.yaml ({short(have)}), not {short(wanted)}; "
                    f"promote {short(wanted)} to {ev.previous_env} first"
                ),
            )


@promotion_rule(
    "promotion-policy-check", "The plan the promotion creates passes the environment's infrastructure rules."
)
def policy_check(ev: Evidence) -> Iterator[tuple[str, str]]:
    if ev.env == EMBEDDED:
        return
    where = f"policy check of {ev.env}"
    if ev.findings is None:
        if ev.enforcement == "mandatory":
            yield (
                "stack",
                f"{where}: missing, and policies are mandatory in {ev.env}; run `mlgitops policy check --env {ev.env}` first",
            )
        return
    blocking = [f for f in ev.findings.findings if f.blocks and f.resource_type != EVIDENCE_TYPE]
    if blocking:
        yield (
            "stack",
            (
                f"{where}: {len(blocking)} mandatory policy finding(s) for {ev.env}; fix them or add an exemption, "
                f"then re-run `mlgitops policy check --env {ev.env}`"
            ),
        )


@promotion_rule(
    "promotion-model-signature",
    "The registered model has an input/output signature.",
    severity="medium",
    enforcement="advisory",
)
def signature(ev: Evidence) -> Iterator[tuple[str, str]]:
    if ev.staged:
        return
    for name in ev.models:
        t = ev.training.get(name)
        if t is None:
            yield _res(name), f"no training evidence; run `mlgitops train --model {name}`"
        elif not t.has_signature:
            yield _res(name), "the logged model has no signature; pass an input example or signature when logging"


@promotion_rule(
    "promotion-clean-git",
    "The training run is linked to a clean git commit (reproducible from the repo).",
    severity="medium",
    enforcement="advisory",
)
def clean_git(ev: Evidence) -> Iterator[tuple[str, str]]:
    if ev.staged:
        return
    for name in ev.models:
        t = ev.training.get(name)
        if t is None:
            yield _res(name), f"no training evidence; run `mlgitops train --model {name}`"
        elif not t.git.sha:
            yield _res(name), "the training run is not linked to a git commit"
        elif t.git.dirty:
            yield (
                _res(name),
                f"the training run used uncommitted changes on top of {t.git.sha[:12]}; commit and retrain",
            )
