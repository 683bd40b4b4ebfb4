"""Promotion rules over the evidence of a pipeline run (data gate, training, evaluation, deploy state).

Missing evidence is a finding, never a crash: a model cannot be promoted on evidence nobody produced."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

from mlgitops.config.schema import greater_is_better
from mlgitops.policies.registry import promotion_rule


@dataclass
class Evidence:
    """What the promotion rules read: the run folder's JSON files plus the settings of the config."""

    env: str
    models: dict[str, dict[str, Any]]  # name -> {"dataset", "holdout", "thresholds", "primary", "beat_champion_by"}
    data: dict[str, Any] = field(default_factory=dict)  # dataset name -> data/<dataset>.json (None when unreadable)
    training: dict[str, Any] = field(default_factory=dict)
    evaluation: dict[str, Any] = field(default_factory=dict)
    staging: dict[str, Any] | None = None  # deploy/staging.yaml
    environments: list[str] = field(default_factory=list)  # declared in mlgitops.yaml
    problems: list[str] = field(default_factory=list)  # unreadable files


def _read(path: Path, problems: list[str]) -> Any:
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        problems.append(f"{path}: unreadable evidence ({exc})")
        return None


def load_evidence(evidence_dir: Path | None, config: Any, staging_state: dict[str, Any] | None = None) -> Evidence:
    """Evidence of one run folder for `config` (a mlgitops Config)."""
    models = {name: {"dataset": m.dataset, "holdout": m.holdout, "primary": m.metrics.primary, "beat_champion_by": m.metrics.beat_champion_by,
                     "thresholds": {k: t.model_dump(exclude_none=True) for k, t in m.metrics.thresholds.items()}}
              for name, m in config.models.items()}
    ev = Evidence(env=config.env, models=models, staging=staging_state, environments=list(config.env_names))
    if evidence_dir is None:
        return ev
    for name, m in models.items():
        for ds in {m["dataset"], m["holdout"]} - {None}:
            ev.data[ds] = _read(evidence_dir / "data" / f"{ds}.json", ev.problems)
        ev.training[name] = _read(evidence_dir / "training" / f"{name}.json", ev.problems)
        ev.evaluation[name] = _read(evidence_dir / "evaluation" / f"{name}.json", ev.problems)
    return ev


def _res(model: str) -> str:
    return f"model:{model}"


@promotion_rule("promotion-data-gate", "The data gate passed on the exact dataset digests the candidate was trained on.")
def data_gate(ev: Evidence) -> Iterator[tuple[str, str]]:
    for name, m in ev.models.items():
        train = ev.training.get(name) or {}
        digests = train.get("dataset_digests") or {}
        for role, ds in (("train", m["dataset"]), ("holdout", m["holdout"])):
            if ds is None:
                continue
            report = ev.data.get(ds)
            if not report:
                yield _res(name), f"no data gate evidence for dataset {ds} (run `mlgitops data validate`)"
            elif report.get("success") is not True:
                yield _res(name), f"the data gate failed on dataset {ds} ({len(report.get('failures') or [])} failed expectations)"
            elif not train:
                yield _res(name), f"no training evidence, so the {role} digest cannot be matched (run `mlgitops train`)"
            elif digests.get(role) != report.get("digest"):
                yield _res(name), f"trained on {role} digest {digests.get(role)} but the data gate checked {report.get('digest')}"


def _evaluation(ev: Evidence, name: str) -> dict[str, Any] | None:
    return ev.evaluation.get(name)


@promotion_rule("promotion-metric-thresholds", "The candidate's metrics meet the configured thresholds.")
def thresholds(ev: Evidence) -> Iterator[tuple[str, str]]:
    for name, m in ev.models.items():
        e = _evaluation(ev, name)
        if not e:
            yield _res(name), "no evaluation evidence (run `mlgitops evaluate`)"
            continue
        metrics = (e.get("candidate") or {}).get("metrics") or {}
        for metric, t in m["thresholds"].items():
            value = metrics.get(metric)
            if value is None:
                yield _res(name), f"metric {metric} missing from the evaluation"
            elif t.get("min") is not None and value < t["min"]:
                yield _res(name), f"{metric} = {value:.4g} is below the minimum {t['min']}"
            elif t.get("max") is not None and value > t["max"]:
                yield _res(name), f"{metric} = {value:.4g} is above the maximum {t['max']}"


@promotion_rule("promotion-beats-champion", "The candidate beats the current champion's primary metric by the configured margin.")
def beats_champion(ev: Evidence) -> Iterator[tuple[str, str]]:
    for name, m in ev.models.items():
        e = _evaluation(ev, name)
        if not e:
            yield _res(name), "no evaluation evidence (run `mlgitops evaluate`)"
            continue
        champ = e.get("champion")
        if not champ:
            continue  # first model: nothing to beat
        primary, margin = m["primary"], float(m["beat_champion_by"] or 0)
        new, old = ((e.get("candidate") or {}).get("metrics") or {}).get(primary), (champ.get("metrics") or {}).get(primary)
        if new is None or old is None:
            yield _res(name), f"primary metric {primary} missing for the candidate or the champion"
            continue
        gain = (new - old) if greater_is_better(primary) else (old - new)
        if gain < margin:
            yield _res(name), (f"{primary}: candidate {new:.4g} vs champion v{champ.get('version')} {old:.4g} "
                               f"(gain {gain:+.4g}, needs {margin:+.4g})")


@promotion_rule("promotion-model-signature", "The registered model has an input/output signature.", severity="medium")
def signature(ev: Evidence) -> Iterator[tuple[str, str]]:
    for name in ev.models:
        t = ev.training.get(name)
        if not t:
            yield _res(name), "no training evidence (run `mlgitops train`)"
        elif t.get("has_signature") is not True:
            yield _res(name), "the logged model has no signature; pass an input example or signature when logging"


@promotion_rule("promotion-clean-git", "The training run is linked to a clean git commit (reproducible from the repo).", severity="medium")
def clean_git(ev: Evidence) -> Iterator[tuple[str, str]]:
    for name in ev.models:
        t = ev.training.get(name)
        git = (t or {}).get("git") or {}
        if not t:
            yield _res(name), "no training evidence (run `mlgitops train`)"
        elif not git.get("sha"):
            yield _res(name), "the training run is not linked to a git commit"
        elif git.get("dirty"):
            yield _res(name), f"the training run used uncommitted changes on top of {str(git.get('sha'))[:12]}; commit and retrain"


@promotion_rule("promotion-staging-first", "A version reaches prod only after it was promoted to staging.")
def staging_first(ev: Evidence) -> Iterator[tuple[str, str]]:
    if ev.env != "prod" or "staging" not in ev.environments:
        return
    staged = ((ev.staging or {}).get("models") or {})
    for name in ev.models:
        t = ev.training.get(name) or {}
        want = str(t.get("version") or ((ev.evaluation.get(name) or {}).get("candidate") or {}).get("version") or "")
        have = str((staged.get(name) or {}).get("version") or "")
        if not have:
            yield _res(name), "deploy/staging.yaml has no version of this model; promote to staging first"
        elif want and want != have:
            yield _res(name), f"candidate v{want} is not the version in staging (v{have}); promote it to staging first"


@promotion_rule("promotion-evidence-readable", "Every evidence file of the run is valid JSON.", severity="medium")
def readable(ev: Evidence) -> Iterator[tuple[str, str]]:
    for p in ev.problems:
        yield "evidence", p
