"""Evidence: the typed records the stages exchange (config -> gates -> evidence -> promotion -> deploy state -> infra).

- `records`: one pydantic model per kind (DataReport, TrainingRecord, Evaluation, Plan, PlanChanges, Findings,
  PipelineRun, MonitorReport, Report, DeployState), each file carrying `kind` and `schema_version`;
- `run`: `Run`, the one owner of a run folder's layout;
- `state`: `deploy/<env>.yaml`, the desired state promotion writes and infra reads;
- `store`: atomic writes and the one set of read errors (exit 2 naming the file).
"""
from mlgitops.evidence.records import (
    RECORDS,
    SCHEMA_VERSION,
    ChampionRef,
    ChampionSource,
    Change,
    ChangeAction,
    CostEstimate,
    DataReport,
    DeployEntry,
    DeployState,
    Enforcement,
    Evaluation,
    ExpectationResult,
    FeatureDrift,
    FeatureKind,
    Finding,
    Findings,
    FindingStatus,
    GitInfo,
    MetricCheck,
    MonitorReport,
    PipelineRun,
    Plan,
    PlanChanges,
    PromotionEvidence,
    Record,
    Report,
    ReportStatus,
    Resource,
    RunVerdict,
    Scored,
    Step,
    StepStatus,
    TrainingBackend,
    TrainingRecord,
    Verdict,
)
from mlgitops.evidence.run import BASE_RUN, RUN_ID_ENV, Run, root
from mlgitops.evidence.store import atomic_write

__all__ = [
    "BASE_RUN", "RECORDS", "RUN_ID_ENV", "SCHEMA_VERSION", "Change", "ChangeAction", "ChampionRef", "ChampionSource", "CostEstimate", "DataReport", "DeployEntry",
    "DeployState", "Enforcement", "Evaluation", "ExpectationResult", "FeatureDrift", "FeatureKind", "Finding", "FindingStatus", "Findings", "GitInfo",
    "MetricCheck", "MonitorReport", "PipelineRun", "Plan", "PlanChanges", "PromotionEvidence", "Record", "Report", "ReportStatus", "Resource", "Run", "RunVerdict", "Scored", "Step",
    "StepStatus", "TrainingBackend", "TrainingRecord", "Verdict", "atomic_write", "root",
]
