"""`mlgitops monitor`: what an environment's endpoint served, against what its model was trained on.

config -> deploy/<env>.yaml (the model, its training-data digest, when it was promoted) -> the captured traffic of
the window (`capture`) -> schema and ranges (the dataset's GX suite, `reference`), per-feature drift and the
predictions' shift (`drift`), the primary metric on labelled traffic (`labels`) -> a MonitorReport in the evidence
run, with a reference-vs-live plot per drifted feature (`plots`).
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlgitops.errors import BadInput
from mlgitops.evidence import FeatureDrift, MetricCheck, MonitorReport, Run

if TYPE_CHECKING:
    from mlgitops.config import Project
    from mlgitops.config.schema import Monitoring
    from mlgitops.evidence import DeployEntry
    from mlgitops.monitoring.capture import Traffic

__all__ = ["default_location", "monitor", "render_text", "window_start"]

UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def window_start(since: str | None, entry: DeployEntry, now: dt.datetime) -> dt.datetime:
    """`--since` (a duration such as 24h or 7d, or an ISO 8601 time), else the time the model was promoted."""
    from mlgitops.monitoring.capture import parse_time

    if since is None:
        return parse_time(entry.promoted_at) if entry.promoted_at else dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
    m = re.fullmatch(r"(\d+)([mhdw])", since.strip())
    if m:
        return now - dt.timedelta(**{UNITS[m.group(2)]: int(m.group(1))})
    try:
        return parse_time(since)
    except ValueError:
        raise BadInput(
            f"--since {since}: not a duration or a time; use e.g. 30m, 24h, 7d, 2w or 2026-01-31T12:00:00Z"
        ) from None


def default_location(config: Project, model: str) -> str | Path:
    """Where `model`'s endpoint in `config.env` captures: the local folder `mlgitops serve` writes, or for a cloud
    environment the S3 prefix SageMaker writes below the destination `mlgitops.infra.serving` configures."""
    from mlgitops.policies.promotion import EMBEDDED
    from mlgitops.serving.capture import VARIANT, endpoint_dir

    if config.env == EMBEDDED:
        return endpoint_dir(config.root, config.env, config.name(model))
    return f"s3://{config.bucket_name('models')}/data-capture/{model}/{config.name(model)}/{VARIANT}/"


def _shown(location: str | Path, root: Path) -> str:
    path = Path(location)
    return (
        path.relative_to(root).as_posix() if isinstance(location, Path) and path.is_relative_to(root) else str(location)
    )


def monitor(
    config: Project,
    model: str | None = None,
    since: str | None = None,
    capture: str | None = None,
    now: dt.datetime | None = None,
) -> MonitorReport:
    """Compare the window's captured traffic with the served model's training data; the report is written into the
    evidence run. BadInput (exit 2) when nothing is promoted, nothing was captured or the reference changed."""
    import pandas as pd

    from mlgitops.monitoring import drift, reference
    from mlgitops.serving import served_version

    name, entry, path = served_version(config, model)
    spec, settings = config.models[name], config.monitoring
    now = now or dt.datetime.now(dt.UTC)
    start = window_start(since, entry, now)
    location: str | Path = (
        capture
        if capture and capture.startswith("s3://")
        else Path(capture).resolve()
        if capture
        else default_location(config, name)
    )
    ref, ref_digest = reference.training_data(config, name, entry)
    features = [c for c in ref.columns if c != spec.target]
    seen, shown = _window(config, name, location, start, now, features)
    live = seen.inputs()
    notes = []
    absent = [f for f in features if f not in live.columns]
    if absent:
        notes.append(f"the requests carry no column {', '.join(absent)}: not compared")
    compared = [f for f in features if f in live.columns]
    results = drift.verdicts(compared, [drift.compare(ref[f], live[f], settings.bins) for f in compared], settings)

    import mlflow.pyfunc

    loaded = mlflow.pyfunc.load_model(path)
    expected = pd.Series(_reference_predictions(loaded, ref[features]))
    answered = pd.Series([p for p in seen.predictions if p is not None])
    prediction = _prediction_drift(expected, answered, settings)
    report = MonitorReport(
        env=config.env,
        model=name,
        digest=entry.digest,
        capture=shown,
        since=f"{start:%Y-%m-%dT%H:%M:%SZ}",
        until=f"{now:%Y-%m-%dT%H:%M:%SZ}",
        files=seen.files,
        records=seen.records,
        rows=len(live),
        reference=spec.dataset,
        reference_digest=ref_digest,
        thresholds={
            "psi": settings.psi,
            "p_value": settings.p_value,
            "min_rows": settings.min_rows,
            "metric_tolerance": settings.metric_tolerance,
        },
        features=results,
        prediction=prediction,
        schema_results=reference.schema_check(config, name, live),
        notes=notes,
        metric=_metric(config, name, entry, loaded, live[compared], seen.ids) if settings.ground_truth else None,
    )
    run = Run.current(config.root)
    for f in [*report.features, *([report.prediction] if report.prediction else [])]:
        if f.drifted:
            is_feature = f is not report.prediction
            _plot(run, name, f, ref[f.name] if is_feature else expected, live[f.name] if is_feature else answered)
    run.write(report)
    return report


def _window(
    config: Project, name: str, location: str | Path, start: dt.datetime, now: dt.datetime, features: list[str]
) -> tuple[Traffic, str]:
    """The traffic captured in [start, now] and where it was read (as the report shows it); BadInput when there is
    none, or too little for a verdict."""
    from mlgitops.monitoring import capture as traffic

    shown, since = _shown(location, config.root), f"{start:%Y-%m-%dT%H:%M:%SZ}"
    if isinstance(location, Path):
        if not location.is_dir():
            raise BadInput(
                f"{shown}: nothing captured since {since} (no such folder); serve with data capture on "
                f"(models.{name}.serving.data_capture.enabled) and send traffic, or pass --capture"
            )
        files = traffic.local_files(location, start, now)
    else:
        files = traffic.s3_files(location, start, now)
    seen = traffic.read(files, start, now, features)
    if not seen.records:
        raise BadInput(
            f"{shown}: nothing captured since {since} ({seen.files} file(s) of the window); send traffic "
            f"to the endpoint, or widen the window with --since"
        )
    rows = sum(len(p) for p in seen.parts)
    if rows < config.monitoring.min_rows:
        raise BadInput(
            f"{shown}: {rows} row(s) captured since {since}, fewer than monitoring.min_rows "
            f"({config.monitoring.min_rows}) needed for a verdict; wait for more traffic or widen --since"
        )
    return seen, shown


def model_inputs(model: Any, frame: Any) -> Any:
    """`frame`'s columns the model takes, cast to its signature's types (the scoring server does the same)."""
    schema = model.metadata.get_input_schema()
    if schema is None or not schema.has_input_names():
        return frame
    types = {"double": "float64", "float": "float32", "long": "int64", "integer": "int32"}
    out = frame[[c for c in schema.input_names() if c in frame.columns]].copy()
    for spec in schema.inputs:
        kind = types.get(str(getattr(spec.type, "name", spec.type)))
        if kind and spec.name in out.columns:
            out[spec.name] = out[spec.name].astype(kind)
    return out


def _reference_predictions(model: Any, features: Any) -> list[Any]:
    import numpy as np

    pred = model.predict(model_inputs(model, features))
    pred = pred.iloc[:, 0] if hasattr(pred, "iloc") and getattr(pred, "ndim", 1) == 2 else pred
    return list(np.asarray(pred).ravel())


def _prediction_drift(expected: Any, answered: Any, settings: Monitoring) -> FeatureDrift | None:
    """The predictions' shift: the model's outputs on its training data against what it answered live."""
    from mlgitops.monitoring import drift

    if not len(answered):
        return None
    c = drift.compare(expected, answered, settings.bins)
    return drift.drift("predictions", c, c.p_value, settings)


def _metric(
    config: Project, name: str, entry: DeployEntry, model: Any, live: Any, ids: list[str | None]
) -> MetricCheck:
    from mlgitops.config.schema import greater_is_better
    from mlgitops.monitoring import labels

    spec, settings = config.models[name], config.monitoring
    metric = spec.metrics.primary or ("roc_auc" if spec.task == "classification" else "root_mean_squared_error")
    promoted = entry.evidence.metrics.get(metric)
    truth = labels.load(config, spec.target)
    keyed = [(i, t) for i, t in enumerate(ids) if t is not None and t in truth.index]
    check = MetricCheck(metric=metric, promoted=promoted, labelled=len(keyed), tolerance=settings.metric_tolerance)
    if not keyed:
        return check.model_copy(update={"note": "no labelled live rows yet (no captured inference id has a label)"})
    rows = [i for i, _ in keyed]
    value = labels.score(
        metric,
        truth.loc[[t for _, t in keyed]].to_numpy(),
        model,
        model_inputs(model, live.iloc[rows].reset_index(drop=True)),
        spec.task,
    )
    if value is None:
        return check.model_copy(update={"note": f"{metric} is not computed on live traffic"})
    if promoted is None:
        return check.model_copy(
            update={"live": value, "note": f"deploy/{config.env}.yaml recorded no {metric} at promotion"}
        )
    worse = promoted - value if greater_is_better(metric) else value - promoted
    return check.model_copy(update={"live": value, "drifted": worse > settings.metric_tolerance})


def _plot(run: Run, model: str, f: FeatureDrift, reference: Any, live: Any) -> None:
    from mlgitops.monitoring.plots import distribution

    path = distribution(run.monitor_plot(model, f.name), f.name, f.kind, reference, live, f.psi)
    f.plot = path.relative_to(run.dir).as_posix()


def render_text(report: MonitorReport) -> str:
    """What `mlgitops monitor` prints without --json: the verdict, a line per feature (drifted first), the reasons."""
    from mlgitops.evidence.run import run_id

    lines = [
        f"{'DRIFT' if report.drifted else 'OK'} {report.model} {report.digest[:19]} ({report.env}): {report.rows} rows in "
        f"{report.records} captured requests since {report.since}, against {report.reference} "
        f"({report.reference_digest.removeprefix('sha256:')[:12]})"
    ]
    width = max([len(f.name) for f in report.features] + [len("predictions")])
    lines.append(f"  {'feature':<{width}}  {'kind':<8}  {'psi':>7}  {'p (adj)':>9}  {'ref n':>6}  {'live n':>7}")
    for f in [*report.features, *([report.prediction] if report.prediction else [])]:
        lines.append(
            f"  {f.name:<{width}}  {f.kind.value:<8}  {f.psi:>7.3f}  {f.p_value:>9.2g}  {f.reference_n:>6}  {f.live_n:>7}"
            + ("  DRIFTED" if f.drifted else "")
        )
    lines += [f"  - {r}" for r in report.reasons] + [f"  note: {n}" for n in report.notes]
    if report.metric is not None:
        m = report.metric
        live = f"{m.live:.4f}" if m.live is not None else "-"
        lines.append(
            f"  {m.metric}: live {live} on {m.labelled} labelled rows, {m.promoted} at promotion"
            + (f" ({m.note})" if m.note else "")
        )
    lines.append(f"  evidence: .mlgitops/evidence/{run_id()}/monitor/{report.model}.json")
    return "\n".join(lines) + "\n"
