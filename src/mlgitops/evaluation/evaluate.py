"""Score the candidate (this run's trained version) and the champion (the version in
`deploy/<env>.yaml`) on the holdout with `mlflow.models.evaluate`, then apply the config's rules.

Rules go through `mlflow.validate_evaluation_results` one at a time so every failure becomes a reason:
`thresholds.<m>.min` / `.max` are MetricThreshold(threshold=...) with greater_is_better set by the
bound; `beat_champion_by > 0` is MetricThreshold(min_absolute_change=...) on the primary metric against
the champion. `beat_champion_by == 0` means "not worse than the champion", which MetricThreshold cannot
express (its changes must be positive), so it is plain code. A version is never compared with itself.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlgitops.config.metrics import average_used, default_primary
from mlgitops.config.schema import greater_is_better
from mlgitops.errors import BadInput
from mlgitops.evidence import ChampionRef, ChampionSource, DeployEntry, Evaluation, Run, Scored, TrainingRecord, Verdict
from mlgitops.evidence.state import read
from mlgitops.package import short

if TYPE_CHECKING:
    from mlgitops.config import Project


def champion_scored(
    config: Project, model: str, entry: DeployEntry, frame: Any, spec: Any, notes: list[str]
) -> tuple[Scored, Any]:
    """The served model scored on the holdout: from this store's registry when it holds that digest, else from its
    package (the models bucket needs credentials), else, when the package cannot be had here (a pull request has no
    credentials), the metrics recorded with its promotion. `notes` says which, for the report."""
    from mlgitops import registry as reg
    from mlgitops.bucket import Unavailable, model_dir

    deployed = f"deploy/{config.env}.yaml"
    label = f"evaluate {model} {entry.digest[:19]} (champion)"
    version = reg.version_by_digest(reg.client(config.tracking_uri()), entry.registry_name, entry.digest)
    if version is not None:
        metrics, loaded = score(
            f"models:/{entry.registry_name}/{version}",
            frame,
            spec.target,
            spec.task,
            label,
            f"the champion comes from {deployed}",
            spec.metrics.average.value,
        )
        return Scored(version=version, digest=entry.digest, metrics=metrics, source=ChampionSource.REGISTRY), loaded
    try:
        path = model_dir(config, model, entry.digest, entry.artifact_uri, deployed)
    except Unavailable as exc:
        if not entry.evidence.metrics:
            raise
        notes.append(
            f"champion {entry.digest[:19]} was not re-scored ({exc}); compared with the holdout metrics recorded in "
            f"{deployed} when it was promoted"
        )
        return Scored(
            version=entry.version,
            digest=entry.digest,
            metrics=_finite(entry.evidence.metrics),
            source=ChampionSource.RECORDED,
        ), None
    metrics, loaded = score(
        str(path),
        frame,
        spec.target,
        spec.task,
        label,
        f"the champion comes from {entry.artifact_uri}",
        spec.metrics.average.value,
    )
    notes.append(f"champion {entry.digest[:19]} re-scored from its package {entry.artifact_uri}")
    return Scored(version=entry.version, digest=entry.digest, metrics=metrics, source=ChampionSource.PACKAGE), loaded


def candidate_record(run: Run, model: str) -> TrainingRecord:
    record = run.training(model)
    if record is None:
        raise BadInput(
            f"{run.path(TrainingRecord, model)} does not exist: no training evidence for '{model}' in this pipeline run; "
            f"run `mlgitops train --model {model}` first"
        )
    return record


def _finite(metrics: dict[str, Any]) -> dict[str, float]:
    return {k: float(v) for k, v in metrics.items() if isinstance(v, (int, float)) and math.isfinite(float(v))}


def check_rules(
    candidate: dict[str, float],
    champion: dict[str, float] | None,
    thresholds: dict[str, dict[str, float | None]],
    primary: str,
    beat_by: float,
    where: str,
) -> list[str]:
    """Reasons the candidate fails (empty: pass). `where` names the config key for unknown metrics."""
    from mlflow.exceptions import MlflowException
    from mlflow.models import MetricThreshold
    from mlflow.models.evaluation import EvaluationResult

    def result(metrics: dict[str, float]) -> Any:
        return EvaluationResult(metrics=metrics, artifacts={})

    def check(name: str, rule: Any, baseline: dict[str, float] | None) -> str | None:
        import mlflow

        try:
            mlflow.validate_evaluation_results({name: rule}, result(candidate), result(baseline) if baseline else None)
        except MlflowException as exc:  # ModelValidationFailedException subclasses it
            return str(exc.message).strip()
        return None

    known = ", ".join(sorted(candidate))
    for name in [*thresholds, primary]:
        if name not in candidate:
            raise BadInput(
                f"mlgitops.yaml: {where}: metric '{name}' is not computed by mlflow.models.evaluate (available: {known}); use one of those names"
            )
    reasons = []
    for name, bounds in thresholds.items():
        for key, gib in (("min", True), ("max", False)):
            if bounds.get(key) is not None:
                reason = check(name, MetricThreshold(threshold=bounds[key], greater_is_better=gib), None)
                if reason:
                    reasons.append(f"threshold {name} {key} {bounds[key]}: {name}={candidate[name]:.4f}. {reason}")
    if champion is not None and primary in champion:
        gib = greater_is_better(primary)
        if beat_by > 0:
            reason = check(primary, MetricThreshold(min_absolute_change=beat_by, greater_is_better=gib), champion)
        else:
            worse = candidate[primary] < champion[primary] if gib else candidate[primary] > champion[primary]
            reason = "worse than the champion" if worse else None
        if reason:
            reasons.append(
                f"does not beat the champion by {beat_by} on {primary}: candidate {candidate[primary]:.4f} vs champion {champion[primary]:.4f}. {reason}"
            )
    return reasons


def score(
    model_uri: str, frame: Any, target: str, task: str, run_name: str, where: str, average: str = "weighted"
) -> tuple[dict[str, float], Any]:
    """Metrics of one registered version on the holdout, and the loaded model (for the chart).

    `average` is MLflow's own evaluator_config key (classifier.py reads `evaluator_config.get("average", "weighted")`
    for more than two classes; two classes always score the positive class)."""
    import mlflow
    from mlflow.exceptions import MlflowException

    try:
        model = mlflow.pyfunc.load_model(model_uri)
    except (MlflowException, OSError) as exc:
        raise BadInput(
            f"{model_uri} cannot be loaded from the tracking store ({str(exc).splitlines()[0]}); {where}"
        ) from None
    if not model_uri.startswith("models:/"):  # a package: its logged model id belongs to the store that trained it
        model._model_id = None
    with mlflow.start_run(run_name=run_name, tags={"mlgitops.step": "evaluate"}):
        result = mlflow.models.evaluate(
            model,
            frame,
            targets=target,
            model_type="classifier" if task == "classification" else "regressor",
            evaluator_config={"log_model_explainability": False, "average": average},
        )
    return _finite(result.metrics), model


def prepare() -> None:
    """Import MLflow's evaluators and matplotlib ahead of `evaluate` (see `training.prepare`)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot  # noqa: F401
    import mlflow.models.evaluation.evaluator_registry  # noqa: F401


def evaluate(config: Project, model: str) -> Evaluation:
    """Evaluate one model; writes evaluation/<model>.json and .png into this run's evidence."""
    from mlgitops.data import load_frame
    from mlgitops.speed import import_mlflow
    from mlgitops.tracking import ensure_experiment, store_lock

    mlflow = import_mlflow()

    config.select_models(model)
    spec = config.models[model]
    if not spec.holdout:
        raise BadInput(
            f"mlgitops.yaml: models.{model}.holdout is not set; name a dataset to evaluate on (e.g. holdout: holdout)"
        )
    root = Path(config.root)
    run = Run.current(root)
    cand = candidate_record(run, model)
    entry = read(root, config.env).models.get(model)
    frame = load_frame(config, spec.holdout)
    if spec.target not in frame.columns:
        raise BadInput(
            f"mlgitops.yaml: models.{model}.target '{spec.target}' is not a column of dataset '{spec.holdout}'"
        )
    tracking_uri = config.tracking_uri()
    mlflow.set_tracking_uri(tracking_uri)
    mlflow.set_registry_uri(tracking_uri)
    import numpy as np

    task = spec.task
    classes = (
        [str(c) for c in np.unique(frame[spec.target].dropna().to_numpy())] if task == "classification" else []
    )  # MLflow's order
    average = average_used(task, len(classes), spec.metrics.average.value)
    primary = spec.metrics.primary or default_primary(task, len(classes))
    notes: list[str] = []
    with store_lock(tracking_uri):
        mlflow.set_experiment(experiment_id=ensure_experiment(config))
        cand_metrics, cand_model = score(
            cand.model_uri,
            frame,
            spec.target,
            task,
            f"evaluate {model} v{cand.version} (candidate)",
            f"the candidate comes from {run.path(TrainingRecord, model)}: run `mlgitops train --model {model}` again",
            spec.metrics.average.value,
        )
        champion, champ_model = None, None
        if entry is not None and entry.digest == cand.digest:
            notes.append(
                f"{cand.digest[:19]} is already the champion in deploy/{config.env}.yaml; not compared with itself"
            )
        elif entry is not None:
            champion, champ_model = champion_scored(config, model, entry, frame, spec, notes)
    thresholds = {k: v.model_dump() for k, v in spec.metrics.thresholds.items()}
    failures = check_rules(
        cand_metrics,
        champion.metrics if champion else None,
        thresholds,
        primary,
        spec.metrics.beat_champion_by,
        f"models.{model}.metrics",
    )
    if average is not None and average != "binary":
        notes.append(
            f"precision, recall, F1{' and ROC AUC' if average != 'micro' else ''} are {average} averages over {len(classes)} classes (metrics.average)"
        )
    against = None if entry is None else ChampionRef(version=entry.version, digest=entry.digest)
    ev = Evaluation(
        model=model,
        env=config.env,
        against=against,
        primary=primary,
        candidate=Scored(version=cand.version, digest=cand.digest, metrics=cand_metrics),
        champion=champion,
        thresholds=thresholds,
        beat_champion_by=spec.metrics.beat_champion_by,
        task=task,
        classes=classes,
        average=average,
        verdict=Verdict.FAIL if failures else Verdict.PASS,
        reasons=failures,
        notes=notes,
    )
    from mlgitops.evaluation.charts import chart, predictions

    features = frame.drop(columns=[spec.target])
    preds = {f"candidate v{ev.candidate.version}": predictions(cand_model, features, task)}
    if champ_model is not None and champion is not None:
        preds[f"champion {f'v{champion.version}' if champion.version else short(champion.digest)}"] = predictions(
            champ_model, features, task
        )
    chart(run.chart(model), ev, frame[spec.target], preds)
    run.write(ev)
    return ev


def evaluate_all(config: Project, model: str | None = None) -> list[Evaluation]:
    return [evaluate(config, name) for name in config.select_models(model)]


@dataclass(frozen=True)
class Evaluations:
    """What `mlgitops evaluate` found: an `Evaluation` per model, and where each one's chart was written."""

    evaluations: list[Evaluation]
    charts: dict[str, Path]

    @property
    def passed(self) -> bool:
        return all(e.verdict == Verdict.PASS for e in self.evaluations)

    def to_dict(self) -> dict[str, Any]:
        return {"evaluations": [e.to_dict() for e in self.evaluations]}


def evaluate_models(config: Project, model: str | None = None) -> Evaluations:
    """`evaluate_all`, with the charts' places in this run's evidence."""
    results = evaluate_all(config, model)
    run = Run.current(config.root)
    return Evaluations(results, {e.model: run.chart(e.model) for e in results})


def render_text(result: Evaluations) -> str:
    """Per model the verdict, the comparison and the chart, then its reasons and notes."""
    lines = []
    for e in result.evaluations:
        lines.append(
            f"{e.verdict.upper()} {e.model} v{e.candidate.version}: {e.comparison}; chart {result.charts[e.model]}"
        )
        lines += [f"  - {line}" for line in [*e.reasons, *(f"note: {n}" for n in e.notes)]]
    return "".join(line + "\n" for line in lines)
