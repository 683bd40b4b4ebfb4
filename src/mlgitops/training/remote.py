"""Training on the compute an environment's stack provisions: a SageMaker training job or an AWS Batch job.

Everything a job needs is named the way the stack names it (`names`), never typed twice: the execution role, the
training image in the stack's ECR repository (tagged by `mlgitops.image.training_tag`), the data and artifacts
buckets, the KMS key by its alias, the Batch queue and job definition. The job trains with the same entry point
as local training (`mlgitops train --in-container` in the image); its `model.tar.gz` is then downloaded, verified
and registered by `runner.tracked`, with the same lineage, package and evidence as a local run, plus the job.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlgitops.errors import BadInput, GateFailed
from mlgitops.evidence import TrainingBackend

if TYPE_CHECKING:
    from mlgitops.config import Project
    from mlgitops.training.runner import TrainingResult

POLL_ENV = "MLGITOPS_POLL_SECONDS"  # how often a wait asks for the job's state (tests: a fraction of a second)
LOG_GROUPS = {TrainingBackend.SAGEMAKER: "/aws/sagemaker/TrainingJobs", TrainingBackend.BATCH: "/aws/batch/job"}
DONE = {"Completed", "SUCCEEDED"}
FAILED = {"Failed", "Stopped", "FAILED"}


# --- what the stack declares, by name --------------------------------------------------------------------------


def role_name(config: Project) -> str:
    return config.name("training")


def queue_name(config: Project) -> str:
    return config.name("batch")


def job_definition_name(config: Project, model: str) -> str:
    return config.name(f"train-{model}")


@dataclass(frozen=True)
class Stack:
    """The environment's training wiring, as ARNs and URIs for one account."""

    env: str
    region: str
    account: str
    role_arn: str
    image: str
    data_bucket: str
    artifacts_bucket: str
    kms_key: str

    @classmethod
    def of(cls, config: Project, account: str) -> Stack:
        from mlgitops.bucket import key_alias
        from mlgitops.image import reference, training_tag

        region = config.cloud.region
        return cls(
            env=config.env,
            region=region,
            account=account,
            role_arn=f"arn:aws:iam::{account}:role/{role_name(config)}",
            image=f"{account}.dkr.ecr.{region}.amazonaws.com/{reference(config, training_tag(config.root))}",
            data_bucket=config.bucket_name("data"),
            artifacts_bucket=config.bucket_name("artifacts"),
            kms_key=f"arn:aws:kms:{region}:{account}:{key_alias(config)}",
        )

    def output(self, job: str) -> str:
        """Where a Batch job's package goes (SageMaker puts its own at the same place: `<path>/<job>/output/`)."""
        return f"s3://{self.artifacts_bucket}/training/{job}/output/"


@dataclass(frozen=True)
class Submitted:
    model: str
    backend: TrainingBackend
    name: str  # SageMaker: the job name; Batch: the job id (what `describe_jobs` takes)
    arn: str

    def to_dict(self) -> dict[str, str]:
        return {
            "model": self.model,
            "backend": self.backend.value,
            "training_job_name": self.name,
            "training_job_arn": self.arn,
        }


def _aws(config: Project, service: str) -> Any:
    from mlgitops.bucket import client

    return client(config.cloud.region, service)


def _explain(exc: Exception, doing: str, env: str) -> BadInput:
    from botocore.exceptions import ClientError, NoCredentialsError, PartialCredentialsError

    if isinstance(exc, (NoCredentialsError, PartialCredentialsError)):
        return BadInput(
            f"no AWS credentials to {doing}: configure them the standard way (AWS_PROFILE, AWS_ACCESS_KEY_ID/"
            "AWS_SECRET_ACCESS_KEY, or the CI role through OIDC); nothing was submitted"
        )
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        return BadInput(f"AWS refused to {doing} in {env}: {error.get('Code', '')}: {error.get('Message', exc)}")
    return BadInput(f"cannot {doing} in {env}: {exc}")


def account(config: Project) -> str:
    """`cloud.account_id`, else the account of the credentials in use."""
    from botocore.exceptions import BotoCoreError, ClientError

    if config.cloud.account_id:
        return str(config.cloud.account_id)
    try:
        return str(_aws(config, "sts").get_caller_identity()["Account"])
    except (BotoCoreError, ClientError) as exc:
        raise _explain(exc, "find the account to train in", config.env) from None


def check_buckets(config: Project, stack: Stack) -> None:
    """Both buckets exist, else the stack was never applied: exit 2 before anything is uploaded or submitted."""
    from botocore.exceptions import BotoCoreError, ClientError

    s3 = _aws(config, "s3")
    for bucket in (stack.data_bucket, stack.artifacts_bucket):
        try:
            s3.head_bucket(Bucket=bucket)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchBucket", "NotFound"):
                raise BadInput(
                    f"the bucket s3://{bucket} of {config.env} does not exist: run `pulumi up` for {config.env} first "
                    "(it creates the buckets, the role and the image repository a training job uses)"
                ) from None
            raise _explain(exc, f"read s3://{bucket}", config.env) from None
        except BotoCoreError as exc:
            raise _explain(exc, f"read s3://{bucket}", config.env) from None


def check_instance_type(config: Project, model: str, backend: TrainingBackend) -> None:
    """The instance type SageMaker training (or EC2, for Batch) offers, named at its line of mlgitops.yaml."""
    from mlgitops.aws_api.config_checks import _instance_types
    from mlgitops.config import FILENAME
    from mlgitops.config.yamlfile import read

    spec = config.models[model].compute
    probe = config.model_copy(
        update={
            "models": {
                model: config.models[model].model_copy(
                    update={"compute": spec.model_copy(update={"backend": backend.value})}
                )
            }
        }
    )
    for path, text in _instance_types(probe):
        if path[-2:] == ("compute", "instance_type"):
            doc = read(Path(config.root) / FILENAME)
            raise BadInput(f"{doc.mark(path)}: {'.'.join(path)}: {text}; nothing was submitted")


# --- inputs -----------------------------------------------------------------------------------------------------


def upload_datasets(config: Project, model: str, stack: Stack) -> dict[str, str]:
    """One channel per dataset the model reads: its file in the data bucket under its content digest, uploaded
    unless that digest is there already (a dataset on S3 already is its own channel)."""
    from botocore.exceptions import BotoCoreError, ClientError

    from mlgitops.data.readers import stream_digest

    spec = config.models[model]
    s3 = _aws(config, "s3")
    channels = {}
    for dataset in dict.fromkeys(d for d in (spec.dataset, spec.holdout) if d):
        path = config.resolve(config.datasets[dataset].path)
        if not isinstance(path, Path):
            channels[dataset] = str(path)
            continue
        if not path.is_file():
            raise BadInput(
                f"mlgitops.yaml: datasets.{dataset}.path {config.datasets[dataset].path}: not a file here; a remote job "
                "trains on one file per dataset"
            )
        key = f"datasets/{dataset}/{stream_digest(path)}/{path.name}"
        try:
            try:
                s3.head_object(Bucket=stack.data_bucket, Key=key)
            except ClientError as exc:
                if exc.response.get("Error", {}).get("Code") not in ("404", "NoSuchKey", "NotFound"):
                    raise
                s3.upload_file(
                    str(path),
                    stack.data_bucket,
                    key,
                    ExtraArgs={"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": stack.kms_key},
                )
        except (BotoCoreError, ClientError) as exc:
            raise _explain(exc, f"upload dataset {dataset} to s3://{stack.data_bucket}", config.env) from None
        channels[dataset] = f"s3://{stack.data_bucket}/{key}"
    return channels


def job_name(config: Project, model: str, now: dt.datetime | None = None) -> str:
    """`<project>-<env>-<model>-<UTC time>`, within SageMaker's and Batch's 63 characters."""
    stamp = (now or dt.datetime.now(dt.UTC)).strftime("%Y%m%d-%H%M%S")
    return f"{config.name(model)[: 62 - len(stamp)].rstrip('-')}-{stamp}"


def hyperparameters(params: dict[str, Any]) -> dict[str, str]:
    """SageMaker passes hyperparameters as strings: each value JSON-encoded, decoded again in the container."""
    return {str(k): json.dumps(v) for k, v in params.items()}


def _tags(config: Project, model: str) -> list[dict[str, str]]:
    from mlgitops.infra.common import tags

    return [{"Key": k, "Value": v} for k, v in tags(config, model=model).items()]


def sagemaker_request(config: Project, model: str, stack: Stack, channels: dict[str, str], name: str) -> dict[str, Any]:
    """CreateTrainingJob's request for `model`, wired to the stack."""
    compute = config.models[model].compute
    stopping: dict[str, int] = {"MaxRuntimeInSeconds": compute.max_runtime_minutes * 60}
    if compute.spot:  # how long to wait for spot capacity, the runtime included
        stopping["MaxWaitTimeInSeconds"] = 2 * stopping["MaxRuntimeInSeconds"]
    return {
        "TrainingJobName": name,
        "AlgorithmSpecification": {"TrainingImage": stack.image, "TrainingInputMode": "File"},
        "RoleArn": stack.role_arn,
        "HyperParameters": hyperparameters(config.models[model].params),
        "InputDataConfig": [
            {
                "ChannelName": dataset,
                "DataSource": {
                    "S3DataSource": {
                        "S3DataType": "S3Prefix",
                        "S3Uri": uri,
                        "S3DataDistributionType": "FullyReplicated",
                    }
                },
            }
            for dataset, uri in channels.items()
        ],
        "OutputDataConfig": {"S3OutputPath": f"s3://{stack.artifacts_bucket}/training", "KmsKeyId": stack.kms_key},
        "ResourceConfig": {
            "InstanceType": compute.instance_type,
            "InstanceCount": compute.instance_count,
            "VolumeSizeInGB": 30,
            "VolumeKmsKeyId": stack.kms_key,
        },
        "StoppingCondition": stopping,
        "EnableManagedSpotTraining": compute.spot,
        "Environment": {"MLGITOPS_MODEL": model},
        "Tags": _tags(config, model),
    }


def batch_request(config: Project, model: str, stack: Stack, channels: dict[str, str], name: str) -> dict[str, Any]:
    """SubmitJob's request for `model` on the stack's queue and job definition: the container fetches its channels
    and uploads its package itself (`container.py`), so they travel as environment variables."""
    from mlgitops.training.container import CHANNELS_ENV, HYPERPARAMETERS_ENV, KMS_ENV, MODEL_ENV, OUTPUT_ENV

    environment = {
        MODEL_ENV: model,
        CHANNELS_ENV: json.dumps(channels),
        OUTPUT_ENV: stack.output(name),
        KMS_ENV: stack.kms_key,
        HYPERPARAMETERS_ENV: json.dumps(hyperparameters(config.models[model].params)),
    }
    return {
        "jobName": name,
        "jobQueue": queue_name(config),
        "jobDefinition": job_definition_name(config, model),
        "containerOverrides": {"environment": [{"name": k, "value": v} for k, v in environment.items()]},
        "propagateTags": True,
        "tags": {t["Key"]: t["Value"] for t in _tags(config, model)},
    }


def check_job_definition(config: Project, model: str, stack: Stack) -> None:
    """Batch cannot override a job's image: the stack's job definition must already run this commit's image."""
    from botocore.exceptions import BotoCoreError, ClientError

    name = job_definition_name(config, model)
    try:
        found = _aws(config, "batch").describe_job_definitions(jobDefinitionName=name, status="ACTIVE")[
            "jobDefinitions"
        ]
    except (BotoCoreError, ClientError) as exc:
        raise _explain(exc, f"read the job definition {name}", config.env) from None
    latest = max(found, key=lambda d: d.get("revision", 0), default=None)
    image = (latest or {}).get("containerProperties", {}).get("image")
    if image != stack.image:
        raise BadInput(
            f"the Batch job definition {name} of {config.env} runs {image or 'nothing (it does not exist)'}, but this "
            f"commit's training image is {stack.image}: run `pulumi up` for {config.env} first"
        )


def submit(config: Project, model: str, backend: TrainingBackend) -> Submitted:
    """Check everything, upload the datasets, submit the job. Bad input submits nothing."""
    from botocore.exceptions import BotoCoreError, ClientError

    config.select_models(model)
    check_instance_type(config, model, backend)
    stack = Stack.of(config, account(config))
    check_buckets(config, stack)
    if backend == TrainingBackend.BATCH:
        check_job_definition(config, model, stack)
    channels = upload_datasets(config, model, stack)
    name = job_name(config, model)
    try:
        if backend == TrainingBackend.SAGEMAKER:
            arn = _aws(config, "sagemaker").create_training_job(
                **sagemaker_request(config, model, stack, channels, name)
            )["TrainingJobArn"]
            return Submitted(model, backend, name, arn)
        job = _aws(config, "batch").submit_job(**batch_request(config, model, stack, channels, name))
        return Submitted(model, backend, job["jobId"], job.get("jobArn", ""))
    except (BotoCoreError, ClientError) as exc:
        raise _explain(exc, f"submit the {backend.value} job for {model}", config.env) from None


# --- waiting and registering ------------------------------------------------------------------------------------


@dataclass
class JobState:
    status: str
    detail: str
    arn: str
    output: str | None  # the job's model.tar.gz
    failure: str | None
    log_streams: list[str]


def describe(config: Project, backend: TrainingBackend, name: str) -> JobState:
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        if backend == TrainingBackend.SAGEMAKER:
            job = _aws(config, "sagemaker").describe_training_job(TrainingJobName=name)
            return JobState(
                job["TrainingJobStatus"],
                job.get("SecondaryStatus", ""),
                job["TrainingJobArn"],
                job.get("ModelArtifacts", {}).get("S3ModelArtifacts"),
                job.get("FailureReason"),
                [f"{name}/"],
            )
        jobs = _aws(config, "batch").describe_jobs(jobs=[name])["jobs"]
    except (BotoCoreError, ClientError) as exc:
        raise _explain(exc, f"describe the {backend.value} job {name}", config.env) from None
    if not jobs:
        raise BadInput(
            f"no Batch job {name} in {config.env}; pass the job id `mlgitops train --backend batch --no-wait` printed"
        )
    job = jobs[0]
    env = {e["name"]: e["value"] for e in job.get("container", {}).get("environment", [])}
    output = env.get("MLGITOPS_OUTPUT")
    stream = job.get("container", {}).get("logStreamName")
    return JobState(
        job["status"],
        job.get("statusReason", ""),
        job.get("jobArn", ""),
        f"{output}model.tar.gz" if output else None,
        job.get("statusReason") if job["status"] == "FAILED" else None,
        [stream] if stream else [],
    )


def _print_logs(config: Project, backend: TrainingBackend, state: JobState, since: dict[str, int]) -> None:
    """The job's new CloudWatch log lines, on stderr. A job's log group appears only once it runs: none yet is fine."""
    from botocore.exceptions import BotoCoreError, ClientError

    logs = _aws(config, "logs")
    for prefix in state.log_streams:
        try:
            page = logs.filter_log_events(
                logGroupName=LOG_GROUPS[backend], logStreamNamePrefix=prefix, startTime=since.get(prefix, 0)
            )
        except (BotoCoreError, ClientError):
            continue
        for event in page.get("events", []):
            print(event.get("message", "").rstrip(), file=sys.stderr)
            since[prefix] = max(since.get(prefix, 0), event.get("timestamp", 0) + 1)


def wait(config: Project, backend: TrainingBackend, name: str) -> JobState:
    """Until the job ends: its state as it changes and its log lines, on stderr. A failed job is exit 1 with its reason."""
    poll = float(os.environ.get(POLL_ENV, "15"))
    start, shown, since = time.monotonic(), "", {}  # type: ignore[var-annotated]
    while True:
        state = describe(config, backend, name)
        progress = f"{state.status} {state.detail}".strip()
        if progress != shown:
            minutes, seconds = divmod(int(time.monotonic() - start), 60)
            print(f"[{minutes:02d}:{seconds:02d}] {name}: {progress}", file=sys.stderr)
            shown = progress
        _print_logs(config, backend, state, since)
        if state.status in DONE:
            return state
        if state.status in FAILED:
            raise GateFailed(
                f"the {backend.value} job {name} for {config.env} ended {state.status}: {state.failure or 'no reason given'}"
            )
        time.sleep(poll)


def attach(config: Project, model: str, backend: TrainingBackend, name: str) -> TrainingResult:
    """Wait for the job, then download its model.tar.gz, verify it and register it like a local run."""
    import tempfile

    from mlgitops.bucket import download
    from mlgitops.training.runner import tracked

    config.select_models(model)
    state = wait(config, backend, name)
    if not state.output:
        raise BadInput(
            f"the {backend.value} job {name} names no model output; it did not come from `mlgitops train --backend`"
        )
    work = Path(tempfile.mkdtemp(prefix="mlgitops-job-"))
    model_dir = unpack(download(state.output, work / "job.tar.gz", config.cloud.region), work / "model", state.output)

    def register(ctx: Any, failed: Any) -> Any:
        return log_model_dir(
            config,
            model,
            model_dir,
            failed,
            {"backend": backend, "training_job_name": name, "training_job_arn": state.arn or None},
        )

    return tracked(config, model, register)


def unpack(tar_path: Path, dest: Path, where: str) -> Path:
    """The MLflow model in a job's archive (at its root, as SageMaker tars the model directory). Refused: links,
    absolute or `..` paths, and anything that is not an MLflow model."""
    import tarfile

    from mlgitops.package import members

    dest.mkdir(parents=True, exist_ok=True)
    for name, data in members(tar_path):  # every member checked before one byte is written
        target = dest / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    if not (dest / "MLmodel").is_file():
        with tarfile.open(tar_path) as tar:
            names = tar.getnames()[:5]
        raise BadInput(
            f"{where}: no MLmodel at the archive's root (found {names}); the job's image must save an MLflow model "
            "into SM_MODEL_DIR (`mlgitops train --in-container` does)"
        )
    return dest


def log_model_dir(config: Project, model: str, model_dir: Path, failed: Any, extra: dict[str, Any]) -> Any:
    """Log a model made elsewhere as this run's MLflow 3 logged model, byte for byte, and register it."""
    import yaml

    from mlgitops.speed import import_mlflow
    from mlgitops.training.runner import Logged

    mlflow = import_mlflow()
    try:
        meta = yaml.safe_load((model_dir / "MLmodel").read_text()) or {}
        logged = mlflow.initialize_logged_model(name="model", source_run_id=mlflow.active_run().info.run_id)
        mlflow.MlflowClient().log_model_artifacts(logged.model_id, str(model_dir))
        mlflow.finalize_logged_model(logged.model_id, "READY")
        version = mlflow.register_model(f"models:/{logged.model_id}", config.registry_name(model)).version
    except Exception as exc:
        raise GateFailed(
            f"registering the {model} model of job {extra.get('training_job_name')} failed: {exc}; {failed()}"
        ) from None
    mlflow.set_tag("mlgitops.registered_version", str(version))
    return Logged(logged.model_id, str(version), bool(meta.get("signature")), extra)
