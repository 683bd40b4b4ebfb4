"""Every record the stages exchange, one pydantic model per kind.

A record on disk carries `kind` (exactly its model's name) and `schema_version`, so a reader can tell a
foreign file or one written by a newer mlgitops from a corrupt one. Files written before these two keys
existed are read as the current version. `docs/evidence.schema.json` is generated from these models.
"""

from __future__ import annotations

import math
from enum import StrEnum
from pathlib import Path
from typing import Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, computed_field, field_serializer, field_validator

SCHEMA_VERSION = 1


class Part(BaseModel):
    """A piece of a record: unknown keys are ignored (computed fields are written, never read back)."""

    model_config = ConfigDict(extra="ignore", coerce_numbers_to_str=True)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON types, as written to disk and printed by `--json`."""
        return self.model_dump(mode="json")


class Record(Part):
    """A whole document: `kind` says which model reads it, `schema_version` which format it has."""

    kind: str
    schema_version: int = SCHEMA_VERSION

    @classmethod
    def load(cls, path: Path | str, fix: str | None = None) -> Self:
        """The record in the JSON file at `path`; BadInput naming the file when it is missing or not this record."""
        from mlgitops.evidence.store import load

        return load(Path(path), cls, fix)

    @classmethod
    def from_json(cls, text: str, where: str = "<json>") -> Self:
        from mlgitops.evidence.store import parse

        return parse(text, cls, where)

    def to_json(self) -> str:
        from mlgitops.evidence.store import dump

        return dump(self)

    def save(self, path: Path | str) -> Path:
        from mlgitops.evidence.store import write

        return write(Path(path), self)


class Verdict(StrEnum):
    """The decision of a gate."""

    PASS = "pass"
    FAIL = "fail"


class RunVerdict(StrEnum):
    """A pipeline run's outcome, from its worst step: fail is a gate's no (exit 1), error is bad input (exit 2)."""

    PASS = "pass"
    FAIL = "fail"
    ERROR = "error"


class ReportStatus(StrEnum):
    """What the report tells a reviewer: incomplete when evidence it needs is missing."""

    PASS = "pass"
    FAIL = "fail"
    INCOMPLETE = "incomplete"


class StepStatus(StrEnum):
    """A pipeline step's outcome: failed is a gate's no (exit 1), error is bad input (exit 2)."""

    OK = "ok"
    FAILED = "failed"
    ERROR = "error"
    SKIPPED = "skipped"  # ran, and found nothing to do (e.g. no candidate after a failed data gate)
    NOT_RUN = "not_run"  # never started: an earlier step had bad input

    @property
    def exit_code(self) -> int:
        return {"failed": 1, "error": 2}.get(self.value, 0)


class FindingStatus(StrEnum):
    VIOLATION = "violation"
    UNCHECKED = "unchecked"  # the value is unknown until deploy
    EXEMPTED = "exempted"  # a promotion rule waived by an unexpired exemption (recorded, never blocking)


class Enforcement(StrEnum):
    ADVISORY = "advisory"
    MANDATORY = "mandatory"
    DISABLED = "disabled"


class ChangeAction(StrEnum):
    CREATE = "create"
    UPDATE = "update"
    REPLACE = "replace"
    DELETE = "delete"


# --- data gate ---------------------------------------------------------------------------------------


class ExpectationResult(Part):
    """One expectation's outcome; severity decides whether a failure blocks (critical) or is reported."""

    expectation: str
    column: str | None = None
    severity: str
    success: bool
    observed_value: Any = None
    unexpected_count: int | None = None
    unexpected_percent: float | None = None
    partial_unexpected_list: list[Any] = Field(default_factory=list)

    @field_validator("observed_value", "partial_unexpected_list", mode="before")
    @classmethod
    def _plain(cls, value: Any) -> Any:
        """GX hands back numpy scalars and dates: keep what JSON can hold, the rest as text."""
        import json

        return json.loads(json.dumps(value, default=str))


class DataReport(Record):
    """What the data gate found for one dataset; `digest` pins the bytes a model is trained on."""

    kind: Literal["DataReport"] = "DataReport"
    dataset: str
    path: str
    digest: str
    rows: int
    columns: list[str]
    engine: str
    success: bool
    results: list[ExpectationResult]

    @computed_field  # type: ignore[prop-decorator]
    @property
    def failures(self) -> list[ExpectationResult]:
        return [r for r in self.results if not r.success and r.severity == "critical"]

    @computed_field  # type: ignore[prop-decorator]
    @property
    def warnings(self) -> list[ExpectationResult]:
        return [r for r in self.results if not r.success and r.severity != "critical"]


# --- training and evaluation -------------------------------------------------------------------------


class GitInfo(Part):
    sha: str | None = None
    branch: str | None = None
    dirty: bool | None = None


class TrainingBackend(StrEnum):
    """Where a model was fitted: here, or on the compute the environment's stack provisions."""

    LOCAL = "local"
    SAGEMAKER = "sagemaker"
    BATCH = "batch"


class TrainingRecord(Record):
    """One training run: the registered version and its lineage (data digests, git)."""

    kind: Literal["TrainingRecord"] = "TrainingRecord"
    model: str
    run_id: str
    experiment_id: str | None = None
    registry_name: str
    version: str
    model_uri: str
    artifact_uri: str | None = None
    logged_model_id: str | None = None
    digest: str | None = None  # the model's identity (`mlgitops.package`), the same in every store
    package: str | None = None  # its model.tar.gz, relative to the evidence run
    dataset_digests: dict[str, str] = Field(default_factory=dict)
    git: GitInfo = Field(default_factory=GitInfo)
    has_signature: bool = False
    tracking_uri: str | None = None
    params: dict[str, Any] = Field(default_factory=dict)
    backend: TrainingBackend = TrainingBackend.LOCAL
    training_job_name: str | None = None  # a remote job's name and ARN (SageMaker training job or Batch job)
    training_job_arn: str | None = None


class ChampionSource(StrEnum):
    """Where a champion's metrics came from."""

    REGISTRY = "registry"  # re-scored from the tracking store's registry
    PACKAGE = "package"  # re-scored from its package in the models bucket (or the project)
    RECORDED = "recorded"  # not re-scored: the metrics deploy/<env>.yaml recorded when it was promoted


class Scored(Part):
    version: str | None
    digest: str | None = None
    metrics: dict[str, float] = Field(default_factory=dict)
    source: ChampionSource | None = None  # set for a champion


class ChampionRef(Part):
    """What an environment served when a candidate was evaluated against it (deploy/<env>.yaml then)."""

    version: str | None = None
    digest: str | None = None


class Evaluation(Record):
    """Candidate vs champion on the holdout. `verdict` is decided here once; promotion reads it, and only for the
    environment (`env`) and the champion (`against`, None when nothing was served) it was measured against."""

    kind: Literal["Evaluation"] = "Evaluation"
    model: str
    env: str | None = None  # None: written before evaluations recorded it, so promotable nowhere
    against: ChampionRef | None = None
    primary: str
    candidate: Scored
    champion: Scored | None = None
    thresholds: dict[str, dict[str, float | None]] = Field(default_factory=dict)
    beat_champion_by: float = 0.0
    task: str | None = None  # classification | regression (None: written before evaluations recorded it)
    classes: list[str] = Field(default_factory=list)  # a classifier's labels in the holdout, as MLflow orders them
    average: str | None = None  # how precision/recall/F1 averaged: binary, macro, weighted or micro (None: a regressor)
    verdict: Verdict
    reasons: list[str] = Field(default_factory=list)  # why it failed
    notes: list[str] = Field(default_factory=list)  # what a reviewer should know (not reasons)

    @property
    def comparison(self) -> str:
        """The primary metric against the champion's, as the CLI and the pipeline print it."""
        line = f"{self.primary} {self.candidate.metrics.get(self.primary, math.nan):.4f}"
        if self.champion is None:
            return line + " (no champion)"
        return line + f" vs champion v{self.champion.version} {self.champion.metrics.get(self.primary, math.nan):.4f}"


# --- plan --------------------------------------------------------------------------------------------


class Resource(Part):
    """One registered resource. `parent` is the parent URN (None for top-level ones); inputs are camelCase."""

    urn: str
    type: str
    name: str
    parent: str | None = None
    dependencies: list[str] = Field(default_factory=list)
    inputs: dict[str, Any] = Field(default_factory=dict)


PLAN_UNKNOWN = "<unknown>"  # how a plan records an input known only after deploy


def replace_unknowns(value: Any, sentinel: Any) -> Any:
    """`value` with every PLAN_UNKNOWN in it replaced by `sentinel`: each checker has its own mark for "not known yet"."""
    if value == PLAN_UNKNOWN:
        return sentinel
    if isinstance(value, dict):
        return {k: replace_unknowns(v, sentinel) for k, v in value.items()}
    if isinstance(value, list):
        return [replace_unknowns(v, sentinel) for v in value]
    return value


class Plan(Record):
    """Every resource a program declares for one stack, plus its stack outputs and notes (why something is absent)."""

    kind: Literal["Plan"] = "Plan"
    stack: str
    project: str
    resources: list[Resource] = Field(default_factory=list)
    outputs: dict[str, Any] = Field(default_factory=dict)
    notes: list[str] = Field(default_factory=list)

    def by_type(self, type_: str) -> list[Resource]:
        return [r for r in self.resources if r.type == type_]

    def get(self, urn_or_name: str) -> Resource:
        """The resource with this URN or logical name (KeyError if absent)."""
        for r in self.resources:
            if r.urn == urn_or_name or r.name == urn_or_name:
                return r
        raise KeyError(urn_or_name)

    def children(self, parent_urn: str) -> list[Resource]:
        return [r for r in self.resources if r.parent == parent_urn]


class Change(Part):
    action: ChangeAction
    urn: str
    type: str
    name: str
    paths: list[str] = Field(default_factory=list)


class PlanChanges(Record):
    """A plan against the base branch's plan of the same stack (`against` is None when there was none)."""

    kind: Literal["PlanChanges"] = "PlanChanges"
    env: str
    against: str | None = None
    changes: list[Change] = Field(default_factory=list)

    def counts(self) -> dict[str, int]:
        return {a.value: sum(c.action == a for c in self.changes) for a in ChangeAction}


# --- policies ----------------------------------------------------------------------------------------


class Finding(Part):
    policy: str
    severity: str
    enforcement: Enforcement
    resource_urn: str | None = None
    resource_type: str | None = None
    message: str
    status: FindingStatus = FindingStatus.VIOLATION

    @property
    def resource(self) -> str:
        return self.resource_urn.rsplit("::", 1)[-1] if self.resource_urn else "stack"

    @property
    def blocks(self) -> bool:
        return self.enforcement == Enforcement.MANDATORY and self.status == FindingStatus.VIOLATION


class CostEstimate(Part):
    monthly_usd: float = 0.0
    lines: list[dict[str, Any]] = Field(default_factory=list)  # {"resource", "item", "count", "usd_month"}
    unpriced: list[str] = Field(default_factory=list)

    @field_serializer("monthly_usd")
    def _cents(self, value: float) -> float:
        return round(value, 2)


class Findings(Record):
    """Every rule's verdict for one environment: infrastructure rules over a plan, promotion rules over a run."""

    kind: Literal["Findings"] = "Findings"
    env: str
    findings: list[Finding] = Field(default_factory=list)
    cost: CostEstimate | None = None
    notes: list[str] = Field(default_factory=list)  # how the check ran (e.g. default settings outside a project)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def summary(self) -> dict[str, int]:
        out = {"mandatory": 0, "advisory": 0, "unchecked": 0, "exempted": 0}
        for f in self.findings:
            key = f.enforcement.value if f.status == FindingStatus.VIOLATION else f.status.value
            out[key] = out.get(key, 0) + 1
        return out

    @computed_field  # type: ignore[prop-decorator]
    @property
    def passed(self) -> bool:
        return not self.blocked

    @property
    def blocked(self) -> bool:
        """A mandatory rule is violated: the gate says no."""
        return any(f.blocks for f in self.findings)


# --- monitoring --------------------------------------------------------------------------------------


class FeatureKind(StrEnum):
    """How a column is compared: numbers by KS and quantile-binned PSI, categories by chi-squared and per-value PSI."""

    NUMBER = "number"
    CATEGORY = "category"


class FeatureDrift(Part):
    """One column (or the predictions) live vs reference. `drifted` is decided here once: enough live rows, a PSI
    at or above the threshold and a Benjamini-Hochberg adjusted p-value below the false discovery rate."""

    name: str
    kind: FeatureKind
    drifted: bool
    psi: float
    test: str  # ks | chi2
    statistic: float
    p_value: float  # adjusted for the number of features tested at once (the predictions are tested on their own)
    raw_p_value: float
    reference_n: int
    live_n: int
    plot: str | None = None  # reference vs live PNG, relative to the evidence run (drifted ones only)

    @field_serializer("psi", "statistic", "p_value", "raw_p_value")
    def _round(self, value: float) -> float:
        return float(f"{value:.6g}")


class MetricCheck(Part):
    """The primary metric on labelled live traffic against the value recorded when the model was promoted."""

    metric: str
    promoted: float | None = None
    live: float | None = None
    labelled: int = 0
    tolerance: float = 0.0
    drifted: bool = False
    note: str | None = None  # why it could not be computed


class MonitorReport(Record):
    """`mlgitops monitor`: the traffic an environment's model served in a window, against its training data."""

    kind: Literal["MonitorReport"] = "MonitorReport"
    env: str
    model: str
    digest: str
    capture: str  # where the records were read (a project-relative folder or an s3:// prefix)
    since: str  # the window's start (UTC, ISO 8601)
    until: str
    files: int
    records: int
    rows: int
    reference: str  # the training dataset's name
    reference_digest: str
    thresholds: dict[str, float] = Field(default_factory=dict)
    features: list[FeatureDrift] = Field(default_factory=list)  # drifted first
    prediction: FeatureDrift | None = None
    schema_results: list[ExpectationResult] = Field(
        default_factory=list
    )  # the dataset's suite over the captured inputs
    metric: MetricCheck | None = None
    notes: list[str] = Field(default_factory=list)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def schema_failures(self) -> list[ExpectationResult]:
        return [r for r in self.schema_results if not r.success and r.severity == "critical"]

    @computed_field  # type: ignore[prop-decorator]
    @property
    def drifted(self) -> bool:
        """The verdict: a feature or the predictions drifted, a critical expectation failed, or the metric fell."""
        return (
            any(f.drifted for f in self.features)
            or bool(self.prediction and self.prediction.drifted)
            or bool(self.schema_failures)
            or bool(self.metric and self.metric.drifted)
        )

    @property
    def reasons(self) -> list[str]:
        out = [f"feature {f.name}: PSI {f.psi:.3f}, adjusted p {f.p_value:.2g}" for f in self.features if f.drifted]
        if self.prediction and self.prediction.drifted:
            out.append(f"predictions: PSI {self.prediction.psi:.3f}, p {self.prediction.p_value:.2g}")
        out += [
            f"expectation {r.expectation}"
            + (f" [{r.column}]" if r.column else "")
            + f" failed on {r.unexpected_count} live rows"
            for r in self.schema_failures
        ]
        if self.metric and self.metric.drifted:
            out.append(f"{self.metric.metric} {self.metric.live:.4f} live vs {self.metric.promoted:.4f} at promotion")
        return out


# --- pipeline and report -----------------------------------------------------------------------------


class Step(Part):
    """One pipeline step's outcome."""

    name: str
    status: StepStatus = StepStatus.SKIPPED
    seconds: float = 0.0
    exit_code: int = 0
    summary: str = ""


class PipelineRun(Record):
    """`mlgitops pipeline pr`: every step, in order. Paths are relative to the run folder."""

    kind: Literal["PipelineRun"] = "PipelineRun"
    env: str | None = None  # where the candidate is evaluated and would be promoted next
    run_id: str
    steps: list[Step] = Field(default_factory=list)
    report: str | None = None

    @computed_field  # type: ignore[prop-decorator]
    @property
    def exit_code(self) -> int:
        return max((s.exit_code for s in self.steps), default=0)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def verdict(self) -> RunVerdict:
        return [RunVerdict.PASS, RunVerdict.FAIL, RunVerdict.ERROR][self.exit_code]


class MlflowLink(Part):
    tracking_uri: str | None = None
    experiment_id: str | None = None
    run_id: str | None = None
    model_uri: str | None = None
    url: str | None = None


class ReportModel(Part):
    name: str
    training: TrainingRecord | None = None
    evaluation: Evaluation | None = None
    chart: str | None = None
    mlflow: MlflowLink | None = None


class PlanSummary(Part):
    resources: int
    notes: list[str] = Field(default_factory=list)


class ChangeSummary(Part):
    against: str | None = None
    counts: dict[str, int] = Field(default_factory=dict)
    items: list[Change] = Field(default_factory=list)


class ReportEnvironment(Part):
    env: str
    enforcement: str | None = None
    budget_usd_month: float | None = None
    plan: PlanSummary | None = None
    changes: ChangeSummary | None = None
    mermaid: str | None = None
    findings: Findings | None = None
    serving: dict[str, str] = Field(
        default_factory=dict
    )  # model -> version in deploy/<env>.yaml when the report was rendered


class ReportVerdict(Part):
    status: ReportStatus
    reasons: list[str] = Field(default_factory=list)
    missing: list[str] = Field(default_factory=list)


class Report(Record):
    """What a reviewer reads: `report.json` holds exactly what `report.md` shows and renders it again."""

    kind: Literal["Report"] = "Report"
    project: str | None = None
    run_id: str
    target_env: str | None = None
    steps: list[Step] = Field(default_factory=list)
    log: str | None = None
    datasets: list[DataReport] = Field(default_factory=list)
    models: list[ReportModel] = Field(default_factory=list)
    environments: list[ReportEnvironment] = Field(default_factory=list)
    monitoring: list[MonitorReport] = Field(
        default_factory=list
    )  # `mlgitops monitor` runs written into this evidence run
    verdict: ReportVerdict


# --- deploy state: deploy/<env>.yaml -----------------------------------------------------------------


class PromotionEvidence(Part):
    """What a promotion was decided on, recorded with it (and in the commit message)."""

    action: str = "promote"
    evidence_run: str | None = None
    stage_from: str | None = None
    data_gate: str | None = None
    metrics: dict[str, float] = Field(default_factory=dict)
    champion_metrics: dict[str, float] = Field(default_factory=dict)
    policy_verdict: str | None = None
    exempted: list[str] = Field(default_factory=list)  # promotion rules waived by an exemption
    git_sha: str | None = None
    forced: bool | None = None
    rolled_back_from: str | None = None


class DeployEntry(Part):
    """What one model's endpoint should serve in an environment: a model identified by its digest, its package,
    and its lineage. Nothing here names the machine that wrote it; registry versions are informative only."""

    digest: str
    artifact_uri: str  # s3://<models bucket>/<model>/<hex>/model.tar.gz (for `local`: a path inside the project)
    registry_name: str
    version: str | None = None  # in the tracking store that trained it
    model_uri: str | None = None
    image: str | None = None  # the serving image, when promotion pins one (else the config's or the stack's default)
    run_id: str | None = None
    model_id: str | None = None  # MLflow's logged model
    data_digests: dict[str, str] = Field(default_factory=dict)
    replaces: str | None = None  # the digest this entry replaced
    promoted_at: str | None = None
    evidence: PromotionEvidence = Field(default_factory=PromotionEvidence)


class DeployState(Record):
    """`deploy/<env>.yaml`: the desired state of one environment, written only by promote and rollback."""

    kind: Literal["DeployState"] = "DeployState"
    env: str
    models: dict[str, DeployEntry] = Field(default_factory=dict)

    def digest(self, model: str) -> str | None:
        entry = self.models.get(model)
        return None if entry is None else entry.digest


RECORDS: tuple[type[Record], ...] = (
    DataReport,
    TrainingRecord,
    Evaluation,
    Plan,
    PlanChanges,
    Findings,
    PipelineRun,
    MonitorReport,
    Report,
    DeployState,
)
