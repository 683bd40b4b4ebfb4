"""The `mlgitops.yaml` schema: the one versioned description of a project.

Defaults make a minimal file (project, owner, one dataset, one model) valid. Every model forbids
unknown keys so a typo is an error with a suggestion, never a silently ignored setting.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from mlgitops.config.metrics import Average, task_metrics

SLUG = r"^[a-z][a-z0-9-]*[a-z0-9]$"
ENV_NAME = r"^[a-z][a-z0-9]{0,11}$"
REGION = r"^[a-z]{2}(-gov)?-[a-z]+-\d$"
Enforcement = Literal["advisory", "mandatory", "disabled"]

# Longest role suffix the infrastructure derives from the project slug (see `Config.name`).
# Every `<project>-<env>-<role>` name mlgitops.infra declares, so a too-long slug fails at config time, not at `pulumi up`.
ROLES = (
    "data",
    "artifacts",
    "models",
    "access-logs",
    "storage",
    "training",
    "images",
    "batch",
    "batch-instance",
    "batch-job",
    "mlflow",
    "deploy",
    "publish",
    "observe",
)
NAME_LIMIT = 63  # S3 buckets and SageMaker names (IAM roles allow 64)
BUCKET_ROLES = (
    "data",
    "artifacts",
    "models",
    "access-logs",
)  # the roles that name S3 buckets (and take `cloud.name_suffix`)
NAME_SUFFIX = r"^[a-z0-9]{4,8}$"
Problem = tuple[tuple[str, ...], str]  # (key path, message)


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_default=True)


class Cloud(Strict):
    provider: Literal["aws"] = "aws"
    region: str = Field("us-east-1", pattern=REGION, description="AWS region, e.g. eu-west-1.")
    account_id: str | None = Field(None, pattern=r"^\d{12}$", description="12-digit AWS account id.")
    name_suffix: str | None = Field(
        None,
        pattern=NAME_SUFFIX,
        description=(
            "Appended to every S3 bucket name (<project>-<env>-<role>-<suffix>): bucket names are global, so a common project slug "
            "alone collides with someone else's bucket. Fixed here, so names stay computable offline; `mlgitops new` generates one."
        ),
    )


# What the data gate reads as null in a CSV on both engines unless a dataset sets `na_values`
# (pandas' own defaults minus its rarer spellings; Spark knows only the empty field by itself).
NULL_TOKENS = ("", "NA", "N/A", "n/a", "NaN", "nan", "-NaN", "-nan", "null", "NULL", "None", "#N/A", "#NA", "<NA>")
ColumnTypeName = Literal["string", "integer", "float", "boolean", "date", "timestamp"]


class Spark(Strict):
    """Where the Spark engine runs; `SPARK_MASTER` and spark-submit's own settings win over these."""

    master: str | None = Field(
        None, description="Master URL, e.g. spark://host:7077, yarn, k8s://...; default local[*]."
    )
    conf: dict[str, str | int | float | bool] = Field(
        default_factory=dict, description="Spark configuration, e.g. spark.executor.memory: 4g."
    )


class Dataset(Strict):
    model_config = ConfigDict(extra="forbid", validate_default=True, populate_by_name=True)

    path: str = Field(description="Local path (relative to the project) or s3:// URI.")
    format: Literal["csv", "parquet"] | None = Field(None, description="Defaults to the path's suffix.")
    suite: str | None = Field(None, description="Great Expectations suite JSON, e.g. expectations/train.json.")
    engine: Literal["pandas", "spark"] = Field("pandas", description="spark for data larger than memory.")
    column_types: dict[str, ColumnTypeName] = Field(
        default_factory=dict,
        alias="schema",
        description="Column types the gate reads a CSV with, on both engines (default: what the suite implies, else inferred).",
    )
    na_values: list[str] | None = Field(
        None, description=f"Strings read as null in a CSV, on both engines; default {list(NULL_TOKENS)}."
    )
    spark: Spark | None = Field(
        None, description="engine: spark: master and conf for this dataset (over the top-level spark:)."
    )

    @field_validator("path")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("dataset path is empty; set a local path (relative to the project) or an s3:// URI")
        return value

    @model_validator(mode="after")
    def _infer_format(self) -> Dataset:
        if self.format is None:
            suffix = Path(self.path).suffix.lower()
            if suffix not in (".csv", ".parquet"):
                raise ValueError(f"cannot infer format from '{self.path}'; set format: csv or parquet")
            self.format = suffix[1:]  # type: ignore[assignment]
        return self


class Compute(Strict):
    backend: Literal["sagemaker", "batch"] = "sagemaker"
    instance_type: str = Field("ml.m5.large", description="SageMaker instance type, or EC2 type for batch.")
    instance_count: int = Field(1, ge=1, le=100)
    max_runtime_minutes: int = Field(60, ge=1, le=7 * 24 * 60)
    spot: bool = True
    max_vcpus: int = Field(16, ge=1, le=4096, description="batch: compute environment ceiling.")
    gpus: int = Field(0, ge=0, le=8, description="batch: GPUs per job.")


class Threshold(Strict):
    min: float | None = None
    max: float | None = None

    @model_validator(mode="after")
    def _ordered(self) -> Threshold:
        if self.min is None and self.max is None:
            raise ValueError("a threshold needs min, max or both")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"min {self.min} is greater than max {self.max}")
        return self


# MLflow evaluate's metric names where smaller is better; everything else is greater-is-better.
LOWER_IS_BETTER = frozenset(
    {
        "log_loss",
        "mean_absolute_error",
        "mean_squared_error",
        "root_mean_squared_error",
        "max_error",
        "mean_absolute_percentage_error",
        "mean_on_target_error",
    }
)


def greater_is_better(metric: str) -> bool:
    """The direction of an MLflow evaluate metric: evaluation and the promotion rules must agree on it."""
    return metric not in LOWER_IS_BETTER


class Metrics(Strict):
    primary: str | None = Field(
        None,
        description="Metric the champion comparison uses (MLflow evaluate name). Default by task: "
        "root_mean_squared_error for a regressor; roc_auc for a binary classifier, f1_score for a multiclass one.",
    )
    thresholds: dict[str, Threshold] = Field(
        default_factory=dict, description="Bounds per metric, e.g. {f1_score: {min: 0.8}}."
    )
    average: Average = Field(
        Average.WEIGHTED,
        description="How a multiclass classifier's precision, recall, F1 and ROC AUC average "
        "over the classes (MLflow evaluate's `average`); binary classifiers always score the positive class.",
    )
    beat_champion_by: float = Field(0.0, ge=0, description="Margin on the primary metric over the champion.")


class DataCapture(Strict):
    enabled: bool = False
    sample_percent: int = Field(20, ge=1, le=100)


class Retrain(Strict):
    """What the retraining pull request changes when `mlgitops monitor` finds drift (`mlgitops retrain`): the training
    dataset's path, pointed to its newer version, so the PR's pipeline run retrains on it and the report compares the
    candidate with the champion."""

    dataset: str = Field(
        description="The dataset (under datasets:) the PR points to new data, usually the model's training dataset."
    )
    path: str = Field(
        description="Its new path: a local path or s3:// URI, where `{date}` becomes the day drift was found "
        "(YYYY-MM-DD), e.g. s3://acme-data/churn/{date}/train.csv, where your labelling job writes labelled data."
    )

    @field_validator("path")
    @classmethod
    def _placeholders(cls, value: str) -> str:
        import string

        names = (
            {f for _, f, _, _ in string.Formatter().parse(value) if f is not None}
            if "{" in value or "}" in value
            else set()
        )
        if not value.strip():
            raise ValueError("retrain path is empty; set the new data's path, e.g. data/train-{date}.csv")
        if names - {"date"}:
            raise ValueError(
                f"retrain path {value!r}: only the placeholder {{date}} is known; remove {', '.join(sorted(names - {'date'}))}"
            )
        return value


class Monitoring(Strict):
    """What `mlgitops monitor` calls drift. The defaults leave a fresh sample of the training distribution unflagged:
    a feature drifts only when its shift is both large (PSI) and unlikely by chance (a two-sample test whose p-values
    are corrected for testing every feature at once), on enough rows to tell."""

    psi: float = Field(
        0.2,
        gt=0,
        description="Population stability index from which a feature (or the predictions) has drifted; "
        "0.1-0.2 is a moderate shift, above 0.2 a large one.",
    )
    p_value: float = Field(
        0.01,
        gt=0,
        lt=1,
        description="False discovery rate over all features: the two-sample tests' "
        "p-values (KS for numbers, chi-squared for categories) are Benjamini-Hochberg adjusted and compared with this.",
    )
    min_rows: int = Field(
        100,
        ge=10,
        description="Fewer captured rows in the window than this: no verdict on drift (exit 2 names the count).",
    )
    bins: int = Field(10, ge=2, le=100, description="Quantile bins of the reference for a number's PSI.")
    metric_tolerance: float = Field(
        0.05,
        ge=0,
        description="How much worse than at promotion the primary metric may be on labelled "
        "live traffic before it counts as drift (in the metric's units).",
    )
    ground_truth: str | None = Field(
        None,
        description="Labels of live traffic: a CSV (project-relative path or s3:// object) or an s3:// "
        "prefix of CSVs, with columns inference_id and the model's target.",
    )
    schedule: Literal["none", "hourly", "daily"] = Field(
        "none",
        description="SageMaker Model Monitor's data-quality schedule per "
        "endpoint with data capture on, against the baseline uploaded at promotion; none: no Model Monitor in the stack.",
    )
    retrain: Retrain | None = Field(
        None, description="What the monitor workflow's retraining pull request changes on drift; unset: it opens none."
    )


class Serving(Strict):
    instance_type: str = "ml.m5.large"
    min_instances: int = Field(1, ge=1, le=100)
    max_instances: int = Field(2, ge=1, le=100)
    target_invocations_per_instance: int = Field(100, ge=1)
    data_capture: DataCapture = Field(default_factory=DataCapture)
    image: str | None = Field(None, description="Serving container image URI; default: the project's ECR repo.")

    @model_validator(mode="after")
    def _bounds(self) -> Serving:
        if self.min_instances > self.max_instances:
            raise ValueError(f"min_instances {self.min_instances} is greater than max_instances {self.max_instances}")
        return self


class Model(Strict):
    entry_point: str = Field(pattern=r"^[A-Za-z_][\w.]*:[A-Za-z_]\w*$", description="module:function under src/.")
    dataset: str
    holdout: str | None = None
    target: str
    task: Literal["classification", "regression"] = "classification"
    params: dict[str, Any] = Field(default_factory=dict)
    compute: Compute = Field(default_factory=Compute)
    metrics: Metrics = Field(default_factory=Metrics)
    serving: Serving = Field(default_factory=Serving)
    registry_name: str | None = Field(None, description="Registered model name; default <project>-<model>.")

    @model_validator(mode="after")
    def _task_defaults(self) -> Model:
        if self.metrics.primary is None and self.task == "regression":  # a classifier's depends on its class count
            self.metrics.primary = "root_mean_squared_error"
        return self


# URI schemes MLflow 3's tracking store registry resolves (a bare path is the file store); tests/test_aws_api.py
# checks this against MLflow's own registry. `arn:` is a SageMaker managed MLflow server (the sagemaker-mlflow plugin).
TRACKING_SCHEMES = (
    "file",
    "sqlite",
    "postgresql",
    "mysql",
    "mssql",
    "http",
    "https",
    "databricks",
    "databricks-uc",
    "uc",
    "arn",
)


class Tracking(Strict):
    uri: str = Field(
        "sqlite:///.mlgitops/mlflow.db",
        description="MLflow tracking URI; relative sqlite paths are project-relative. "
        "No credentials: set MLFLOW_TRACKING_USERNAME / MLFLOW_TRACKING_PASSWORD (or MLFLOW_TRACKING_TOKEN) instead.",
    )

    @field_validator("uri")
    @classmethod
    def _scheme(cls, value: str) -> str:
        scheme = (
            value.split(":", 1)[0].split("+", 1)[0].lower() if re.match(r"^[A-Za-z][A-Za-z0-9+.-]+:", value) else ""
        )
        if not value.strip():
            raise ValueError(
                "tracking URI is empty; use sqlite:///.mlgitops/mlflow.db, a path, or http(s)://your-mlflow-server"
            )
        if scheme and scheme not in TRACKING_SCHEMES:
            raise ValueError(
                f"MLflow cannot use a tracking URI of scheme '{scheme}:'; use one of {', '.join(s + ':' for s in TRACKING_SCHEMES)} or a path"
            )
        return value

    artifact_location: str | None = Field(None, description="Default: .mlgitops/artifacts locally.")

    @field_validator("uri", "artifact_location")
    @classmethod
    def _no_credentials(cls, value: str | None) -> str | None:
        from mlgitops.secrets import has_userinfo, mask_uri

        if value and has_userinfo(value):  # this file is versioned: a password here ends up in git and in PR comments
            raise ValueError(
                f"'{mask_uri(value)}' carries credentials (user:password@); remove them and set "
                "MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD (or MLFLOW_TRACKING_TOKEN) in the environment"
            )
        return value


class Exemption(Strict):
    rule: str
    resource: str = Field("*", description="Glob on the resource name or URN.")
    reason: str = Field(min_length=1)
    expires: dt.date


class Policies(Strict):
    enforcement: Enforcement = "advisory"
    overrides: dict[str, Enforcement] = Field(default_factory=dict, description="Per-rule enforcement.")
    budget_usd_month: float | None = Field(None, gt=0)
    instance_types: list[str] = Field(
        default_factory=lambda: [
            "ml.t2.medium",
            "ml.m5.large",
            "ml.m5.xlarge",
            "ml.m5.2xlarge",
            "ml.c5.large",
            "ml.c5.xlarge",
            "ml.c5.2xlarge",
        ],
        description="Allowed SageMaker serving instance types.",
    )
    max_instances_cap: int = Field(10, ge=1, description="Ceiling for autoscaling max capacity.")
    exemptions: list[Exemption] = Field(default_factory=list)


class Storage(Strict):
    noncurrent_version_days: int = Field(30, ge=1, description="Expire non-current artifact versions after this age.")
    access_logging: bool | None = Field(
        None, description="Server access logs of every bucket to a log bucket; unset: on in prod, off elsewhere."
    )
    force_destroy: bool = False


class GitHub(Strict):
    repository: str = Field(pattern=r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$", description="owner/name")
    deploy_environments: list[str] = Field(
        default_factory=list,
        description=(
            "Environments deployed from CI, in promotion order; with platform.ci_identity, each one's stack gets a deploy role "
            "trusted by the GitHub environment of its name alone (empty: every declared environment)."
        ),
    )


class Platform(Strict):
    ci_identity: bool = Field(
        False,
        description="CI roles for this environment: deploy (trusted by the GitHub environment of its name), "
        "publish and observe (trusted by the publish and observe environments), through the account's GitHub OIDC "
        "provider (the platform stack creates it). Needs github.repository.",
    )
    stack: str | None = Field(
        None,
        pattern=r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$",
        description=(
            "The account's platform stack, <org>/<project>/<stack> (e.g. acme/mlgitops-platform/prod): its outputs are read through a "
            "StackReference (the GitHub OIDC provider's ARN). Unset: the provider is looked up by its URL."
        ),
    )
    tracking_server: bool = Field(False, description="SageMaker managed MLflow tracking server.")
    tracking_server_size: Literal["Small", "Medium", "Large"] = "Small"


class Config(Strict):
    project: str = Field(
        pattern=SLUG, min_length=2, max_length=40, description="Slug naming every resource <project>-<env>-<role>."
    )
    owner: str = Field(min_length=1)
    cloud: Cloud = Field(default_factory=Cloud)
    tags: dict[str, str] = Field(default_factory=dict)
    datasets: dict[str, Dataset] = Field(default_factory=dict)
    models: dict[str, Model] = Field(default_factory=dict)
    tracking: Tracking = Field(default_factory=Tracking)
    policies: Policies = Field(default_factory=Policies)
    storage: Storage = Field(default_factory=Storage)
    github: GitHub | None = None
    platform: Platform = Field(default_factory=Platform)
    spark: Spark = Field(
        default_factory=Spark, description="Spark master and conf for every dataset with engine: spark."
    )
    monitoring: Monitoring = Field(
        default_factory=Monitoring, description="Drift thresholds of `mlgitops monitor` and where labels arrive."
    )
    environments: dict[str, dict[str, Any]] = Field(
        default_factory=dict, description="Overlays deep-merged over the base per environment."
    )

    @property
    def env_names(self) -> list[str]:
        return ["local", *(e for e in self.environments if e != "local")]

    def select_models(self, model: str | None = None) -> list[str]:
        """The named model, or every model in config order; BadInput naming the declared ones otherwise."""
        from mlgitops.errors import BadInput

        if model is None:
            if not self.models:
                raise BadInput("mlgitops.yaml declares no models; add one under `models:`")
            return list(self.models)
        if model not in self.models:
            raise BadInput(
                f"mlgitops.yaml: no model '{model}' under `models:` (declared: {', '.join(self.models) or 'none'})"
            )
        return [model]

    def registry_name(self, model: str) -> str:
        return self.models[model].registry_name or f"{self.project}-{model}"

    @field_validator("environments")
    @classmethod
    def _env_names(cls, value: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
        for name in value:
            if not re.match(ENV_NAME, name):
                raise ValueError(
                    f"environment name '{name}' must match {ENV_NAME} (lowercase, starts with a letter, at most 12 characters)"
                )
        return value


class Project(Config):
    """A config bound to its project folder and environment: what `load()` returns. Frozen, so the environment a
    config describes can only be chosen where it is made (`load`, or `Project.of` for a config read elsewhere)."""

    model_config = ConfigDict(frozen=True)

    root: Path = Field(exclude=True)
    env: str = Field(exclude=True)

    @classmethod
    def of(cls, config: Config, root: Path, env: str) -> Project:
        """`config` (already validated) in `env`, its relative paths anchored at `root`."""
        return cls.model_construct(config.model_fields_set | {"root", "env"}, **dict(config), root=root, env=env)

    def name(self, role: str) -> str:
        """Physical name of a resource: `<project>-<env>-<role>`."""
        return f"{self.project}-{self.env}-{role}"

    def bucket_name(self, role: str) -> str:
        """Physical name of an S3 bucket: `<project>-<env>-<role>`, then `-<cloud.name_suffix>` when set (S3 names are
        global, so a common slug alone collides with someone else's bucket)."""
        suffix = self.cloud.name_suffix
        return f"{self.name(role)}-{suffix}" if suffix else self.name(role)

    def tracking_uri(self) -> str:
        """The MLflow tracking URI with a relative `sqlite:///` path anchored at the project, not the cwd."""
        uri = self.tracking.uri
        if uri.startswith("sqlite:///") and not uri.startswith("sqlite:////"):
            return f"sqlite:///{self.root / uri.removeprefix('sqlite:///')}"
        return uri

    def artifact_location(self) -> str:
        """Where MLflow stores artifacts: the configured location, else `.mlgitops/artifacts` in the project."""
        return self.tracking.artifact_location or (self.root / ".mlgitops" / "artifacts").as_uri()

    def resolve(self, path: str) -> Path | str:
        """A dataset or suite path: URIs stay as they are, local paths are project-relative."""
        return path if "://" in path else self.root / path


# GitHub environments the shared CI roles trust (`mlgitops.infra.identity`): a stack's deploy role must not share them.
CI_ENVIRONMENTS = ("publish", "observe")


def ci_problems(config: Project) -> list[Problem]:
    """With `platform.ci_identity`, the environment's deploy role is trusted by the GitHub environment of its name."""
    if not config.platform.ci_identity:
        return []
    if config.github is None:
        return [
            (
                ("platform", "ci_identity"),
                "the CI roles are trusted by GitHub environments of a repository: set github.repository (owner/name)",
            )
        ]
    if config.env in CI_ENVIRONMENTS:
        return [
            (
                ("environments", config.env),
                f"environment '{config.env}' would share its GitHub environment with every "
                f"{config.env} role of the project: rename it (publish and observe are the CI jobs' own)",
            )
        ]
    listed = config.github.deploy_environments
    if config.env != "local" and listed and config.env not in listed:
        return [
            (
                ("github", "deploy_environments"),
                f"platform.ci_identity is on in {config.env}, which deploy_environments "
                f"({', '.join(listed)}) does not list: add it, or turn ci_identity off there",
            )
        ]
    return []


def reference_problems(config: Project) -> list[Problem]:
    """Checks across sections (dataset references, derived resource names, CI identity), as (key path, message)."""
    problems = ci_problems(config)
    for name, model in config.models.items():
        if not re.match(SLUG, name):
            problems.append(
                (("models", name), f"model name '{name}' must be a slug matching {SLUG} (it names the endpoint)")
            )
        problems += metric_problems(name, model)
        for field in ("dataset", "holdout"):
            ref = getattr(model, field)
            if ref is not None and ref not in config.datasets:
                known = ", ".join(sorted(config.datasets)) or "none declared"
                problems.append(
                    (("models", name, field), f"dataset '{ref}' is not declared under datasets (declared: {known})")
                )
    retrain = config.monitoring.retrain
    if retrain is not None and retrain.dataset not in config.datasets:
        known = ", ".join(sorted(config.datasets)) or "none declared"
        problems.append(
            (
                ("monitoring", "retrain", "dataset"),
                f"dataset '{retrain.dataset}' is not declared under datasets (declared: {known})",
            )
        )
    longest_env = max(config.env_names, key=len)
    suffix = f"-{config.cloud.name_suffix}" if config.cloud.name_suffix else ""
    for role in (*ROLES, *config.models):
        candidate = f"{config.project}-{longest_env}-{role}{suffix if role in BUCKET_ROLES else ''}"
        if len(candidate) > NAME_LIMIT:
            problems.append(
                (
                    ("project",),
                    f"resource name '{candidate}' is {len(candidate)} characters; S3 and SageMaker allow {NAME_LIMIT}: shorten the project slug, the environment, the model name or cloud.name_suffix",
                )
            )
    return problems


def metric_problems(name: str, model: Model) -> list[Problem]:
    """Metric names the model's task does not compute, and settings that do not apply to it, before anything trains."""
    known = task_metrics(model.task)
    where = ("models", name, "metrics")
    problems: list[Problem] = []
    names: list[tuple[tuple[str, ...], str]] = [(("primary",), model.metrics.primary)] if model.metrics.primary else []
    names += [(("thresholds", m), m) for m in model.metrics.thresholds]
    for path, metric in names:
        if metric not in known:
            import difflib

            base, _, suffix = metric.rpartition("_")
            named = [m for m in (f"{base}_score", base) if m in known]
            if suffix in {a.value for a in Average} and model.task == "classification" and named:
                fix = f"; name '{named[0]}' and set metrics.average: {suffix}"
            else:
                hint = difflib.get_close_matches(metric, sorted(known), n=1, cutoff=0.6)
                fix = f"; did you mean '{hint[0]}'?" if hint else ""
            problems.append(
                (
                    (*where, *path),
                    f"metric '{metric}' is not computed for task {model.task}{fix} (known: {', '.join(sorted(known))})",
                )
            )
    uses_auc = [p for p, m in names if m == "roc_auc"]
    if model.task == "classification" and model.metrics.average == Average.MICRO and uses_auc:
        # MLflow computes a multiclass ROC AUC only for macro or weighted; two classes ignore `average` anyway
        problems.append(
            (
                (*where, *uses_auc[0]),
                "roc_auc is not computed for more than two classes with average: micro "
                "(and a binary classifier ignores average); use average: macro or weighted, or another metric",
            )
        )
    if model.task == "regression" and "average" in model.metrics.model_fields_set:
        problems.append(
            ((*where, "average"), "average applies to multiclass classifiers only; remove it for task regression")
        )
    return problems
