"""Remote training: `mlgitops train --backend sagemaker|batch` against a moto server (real SageMaker, S3, STS and Batch
APIs on 127.0.0.1; moto runs no container and drops a job's environment), the training image's side
(`--in-container` on SageMaker's /opt/ml layout), registration of a job's output with `--attach`, and the Batch
job definition the stack declares."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tarfile
import time
from pathlib import Path

import pytest
import yaml

from mlgitops.config import load
from mlgitops.package import model_digest
from tests.infra_helpers import copy_example

TRAINING = Path(__file__).resolve().parents[1] / "templates" / "project" / "{{cookiecutter.project_slug}}" / "training"
HADOLINT = Path(sys.executable).with_name("hadolint")
MODEL = "churn-classifier"


def cli(root: Path, *args: str, **env: str | None) -> subprocess.CompletedProcess[str]:
    merged = {**os.environ, "MLGITOPS_RUN_ID": None, "MLGITOPS_POLL_SECONDS": "0.05", **env}
    return subprocess.run(
        [sys.executable, "-m", "mlgitops", "--project", str(root), *args],
        capture_output=True,
        text=True,
        env={k: v for k, v in merged.items() if v is not None},
        timeout=300,
    )


def opt_ml(base: Path, project: Path, hyperparameters: dict[str, str] | None = None) -> dict[str, str]:
    """SageMaker's training layout under `base`, channels holding the project's datasets; the SM_* variables for it."""
    for dataset in ("train", "holdout"):
        (base / "input" / "data" / dataset).mkdir(parents=True)
        shutil.copy(project / "data" / f"{dataset}.csv", base / "input" / "data" / dataset)
    (base / "input" / "config").mkdir(parents=True)
    (base / "input" / "config" / "hyperparameters.json").write_text(json.dumps(hyperparameters or {}))
    return {
        "SM_MODEL_DIR": str(base / "model"),
        "SM_OUTPUT_DATA_DIR": str(base / "output" / "data"),
        "SM_INPUT_CONFIG_DIR": str(base / "input" / "config"),
        "SM_CHANNEL_TRAIN": str(base / "input" / "data" / "train"),
        "SM_CHANNEL_HOLDOUT": str(base / "input" / "data" / "holdout"),
    }


@pytest.fixture(scope="module")
def job_model(tmp_path_factory) -> Path:
    """A model trained in the container's layout, as a SageMaker job leaves it; the job's data is in the channels only."""
    project = copy_example(tmp_path_factory.mktemp("ic") / "churn")
    env = opt_ml(project.parent / "ml", project, {"n_estimators": "7", "max_depth": "3"})
    shutil.move(project / "data", project.parent / "data-elsewhere")  # the image holds no data
    proc = cli(project, "train", "--in-container", **env)
    assert proc.returncode == 0, proc.stderr
    return Path(env["SM_MODEL_DIR"])


def test_in_container_fits_on_the_channels_with_the_jobs_hyperparameters(job_model):
    import mlflow.sklearn

    model = mlflow.sklearn.load_model(str(job_model))
    forest = model.steps[-1][1]
    assert (forest.n_estimators, forest.max_depth) == (7, 3)  # hyperparameters, JSON-decoded, over the config's params
    assert (job_model / "MLmodel").is_file() and (job_model / "requirements.txt").is_file()


def test_in_container_refuses_an_empty_channel_and_writes_the_failure_reason(tmp_path):
    project = copy_example(tmp_path / "churn")
    env = opt_ml(tmp_path / "ml", project)
    for f in (tmp_path / "ml" / "input" / "data" / "holdout").iterdir():
        f.unlink()
    proc = cli(project, "train", "--in-container", **env)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    reason = (tmp_path / "ml" / "output" / "failure").read_text()  # what DescribeTrainingJob reports as FailureReason
    assert "channel holdout" in reason and "holds 0 files" in reason


def test_the_training_dockerfile_passes_hadolint_and_its_entry_point_only_trains(tmp_path):
    lint = subprocess.run(
        [str(HADOLINT), "--no-color", "--failure-threshold", "warning", str(TRAINING / "Dockerfile")],
        capture_output=True,
        text=True,
    )
    assert lint.returncode == 0, lint.stdout
    assert subprocess.run(["sh", str(TRAINING / "train"), "serve"], capture_output=True).returncode == 2


def test_the_training_tag_follows_code_and_config_not_data(tmp_path):
    from mlgitops.image import training_context, training_tag

    project = copy_example(tmp_path / "churn")
    base = training_tag(project)
    assert base.startswith("training-") and training_tag(project) == base
    (project / "data" / "train.csv").write_text("changed\n")
    assert training_tag(project) == base
    (project / "src" / "churn" / "train.py").write_text("# another model\n")
    assert training_tag(project) != base
    context = Path(training_context(load(project, "staging"), tmp_path / "ctx")["context"])
    assert sorted(p.relative_to(context).as_posix() for p in context.rglob("*") if p.is_file()) == [
        "Dockerfile",
        "mlgitops.yaml",
        "pyproject.toml",
        "requirements-mlgitops.txt",
        "src/churn/__init__.py",
        "src/churn/train.py",
        "train",
    ]


def stack():
    from mlgitops.training.remote import Stack

    return Stack(
        env="staging",
        region="eu-west-1",
        account="123456789012",
        role_arn="arn:aws:iam::123456789012:role/churn-staging-training",
        image="123456789012.dkr.ecr.eu-west-1.amazonaws.com/churn-staging-images:training-0123456789abcdef",
        data_bucket="churn-staging-data",
        artifacts_bucket="churn-staging-artifacts",
        kms_key="arn:aws:kms:eu-west-1:123456789012:alias/churn-staging-storage",
    )


def test_both_requests_are_what_botocores_models_accept(tmp_path):
    """Batch's API is checked against its request model: moto's Batch needs a docker daemon to run a job."""
    import botocore.session
    from botocore.validate import ParamValidator

    from mlgitops.training.remote import batch_request, sagemaker_request

    config = load(copy_example(tmp_path / "churn"), "staging")
    channels = {"train": "s3://churn-staging-data/datasets/train/ab/train.csv"}
    session = botocore.session.get_session()
    for service, operation, request in (
        ("sagemaker", "CreateTrainingJob", sagemaker_request(config, MODEL, stack(), channels, "job-1")),
        ("batch", "SubmitJob", batch_request(config, MODEL, stack(), channels, "job-1")),
    ):
        shape = session.get_service_model(service).operation_model(operation).input_shape
        report = ParamValidator().validate(request, shape)
        assert not report.has_errors(), report.generate_report()
    env = {
        e["name"]: e["value"]
        for e in batch_request(config, MODEL, stack(), channels, "job-1")["containerOverrides"]["environment"]
    }
    assert (
        json.loads(env["MLGITOPS_CHANNELS"]) == channels
        and env["MLGITOPS_OUTPUT"] == "s3://churn-staging-artifacts/training/job-1/output/"
    )
    assert env["MLGITOPS_MODEL"] == MODEL


def test_the_batch_job_definition_fits_its_instances_with_a_job_role_and_the_training_image(tmp_path):
    from mlgitops.image import training_tag
    from mlgitops.plan import plan_configs
    from mlgitops.policies.engine import check

    project = copy_example(tmp_path / "churn")
    doc = yaml.safe_load((project / "mlgitops.yaml").read_text())
    doc["models"][MODEL]["compute"] = {"backend": "batch", "instance_type": "m5.large", "spot": True}
    (project / "mlgitops.yaml").write_text(yaml.safe_dump(doc))
    config = load(project, "staging")
    [plan] = plan_configs([(config, None)])
    [job] = plan.by_type("aws:batch/jobDefinition:JobDefinition")
    props = json.loads(job.inputs["containerProperties"])
    wanted = {r["type"]: int(r["value"]) for r in props["resourceRequirements"]}
    assert wanted == {"VCPU": 2, "MEMORY": 7372}  # all of an m5.large a job can have; 4 vCPU / 16 GiB was never placed
    assert props["image"].endswith(f":{training_tag(project)}") and props["command"] == ["train"]
    role = next(r for r in plan.by_type("aws:iam/role:Role") if r.inputs.get("name") == "churn-staging-batch-job")
    assert json.loads(role.inputs["assumeRolePolicy"])["Statement"][0]["Principal"] == {
        "Service": "ecs-tasks.amazonaws.com"
    }
    assert props["jobRoleArn"].endswith("/churn-staging-batch-job")
    assert not [f for f in check(config, plan).findings if f.policy == "batch-job-fits-instance"]


# --- against a moto server --------------------------------------------------------------------------------------


@pytest.fixture()
def aws_project(tmp_path, moto_s3) -> Path:
    """The churn example whose staging stack was applied (its buckets and key exist); prod's was not."""
    import boto3

    from mlgitops.bucket import key_alias

    project = copy_example(tmp_path / "churn")
    config = load(project, "staging")
    s3, kms = boto3.client("s3"), boto3.client("kms")
    for role in ("data", "artifacts"):
        try:
            s3.create_bucket(
                Bucket=config.bucket_name(role), CreateBucketConfiguration={"LocationConstraint": "eu-west-1"}
            )
        except s3.exceptions.BucketAlreadyOwnedByYou:
            pass
    if key_alias(config) not in {a["AliasName"] for a in kms.list_aliases()["Aliases"]}:
        kms.create_alias(AliasName=key_alias(config), TargetKeyId=kms.create_key()["KeyMetadata"]["KeyId"])
    return project


def jobs() -> list[str]:
    import boto3

    return [j["TrainingJobName"] for j in boto3.client("sagemaker").list_training_jobs()["TrainingJobSummaries"]]


def test_a_sagemaker_job_is_wired_to_the_stack_and_its_output_registered_like_local_training(aws_project, job_model):
    import boto3
    import mlflow

    from mlgitops.image import training_tag
    from mlgitops.package import package_digest

    proc = cli(aws_project, "train", "--env", "staging", "--backend", "sagemaker", "--no-wait", "--json")
    assert proc.returncode == 0, proc.stderr
    [submitted] = json.loads(proc.stdout)["training"]
    assert submitted["backend"] == "sagemaker" and submitted["model"] == MODEL
    job = boto3.client("sagemaker").describe_training_job(TrainingJobName=submitted["training_job_name"])
    key = "arn:aws:kms:eu-west-1:123456789012:alias/churn-staging-storage"
    assert job["RoleArn"] == "arn:aws:iam::123456789012:role/churn-staging-training"
    assert (
        job["AlgorithmSpecification"]["TrainingImage"]
        == f"123456789012.dkr.ecr.eu-west-1.amazonaws.com/churn-staging-images:{training_tag(aws_project)}"
    )
    assert job["OutputDataConfig"] == {"S3OutputPath": "s3://churn-staging-artifacts/training", "KmsKeyId": key}
    assert job["ResourceConfig"]["VolumeKmsKeyId"] == key
    assert (job["ResourceConfig"]["InstanceType"], job["ResourceConfig"]["InstanceCount"]) == ("ml.m5.xlarge", 1)
    assert job["EnableManagedSpotTraining"] is True
    assert job["StoppingCondition"] == {"MaxRuntimeInSeconds": 3600, "MaxWaitTimeInSeconds": 7200}
    assert {k: json.loads(v) for k, v in job["HyperParameters"].items()} == load(aws_project, "staging").models[
        MODEL
    ].params
    s3 = boto3.client("s3")
    for channel in job["InputDataConfig"]:  # one per dataset, its bytes in the data bucket under their digest
        bucket, key_ = channel["DataSource"]["S3DataSource"]["S3Uri"].removeprefix("s3://").split("/", 1)
        local = aws_project / "data" / f"{channel['ChannelName']}.csv"
        assert s3.get_object(Bucket=bucket, Key=key_)["Body"].read() == local.read_bytes()
    assert {c["ChannelName"] for c in job["InputDataConfig"]} == {"train", "holdout"}

    # the job's output, where SageMaker writes it: the container's model directory, tarred
    output = job["ModelArtifacts"]["S3ModelArtifacts"]
    archive = aws_project.parent / "job.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        for f in job_model.iterdir():
            tar.add(f, arcname=f.name)
    s3.upload_file(str(archive), *output.removeprefix("s3://").split("/", 1))
    logs = boto3.client("logs")  # what the container printed, as SageMaker ships it to CloudWatch
    logs.create_log_group(logGroupName="/aws/sagemaker/TrainingJobs")
    stream = f"{submitted['training_job_name']}/algo-1-1700000000"
    logs.create_log_stream(logGroupName="/aws/sagemaker/TrainingJobs", logStreamName=stream)
    logs.put_log_events(
        logGroupName="/aws/sagemaker/TrainingJobs",
        logStreamName=stream,
        logEvents=[{"timestamp": int(time.time() * 1000), "message": "saved the model into /opt/ml/model"}],
    )
    proc = cli(
        aws_project,
        "train",
        "--env",
        "staging",
        "--backend",
        "sagemaker",
        "--model",
        MODEL,
        "--attach",
        submitted["training_job_name"],
        "--json",
    )
    assert proc.returncode == 0, proc.stderr
    [record] = json.loads(proc.stdout)["training"]
    assert record["backend"] == "sagemaker" and record["training_job_arn"] == job["TrainingJobArn"]
    assert record["digest"] == model_digest(job_model)  # byte for byte the job's model
    run = aws_project / ".mlgitops" / "evidence" / "local"
    assert package_digest(run / record["package"]) == record["digest"]
    assert record["dataset_digests"]["train"].startswith("sha256:") and record["git"]
    uri = load(aws_project, "staging").tracking_uri()  # both URIs: another test may have set the process's registry URI
    version = mlflow.MlflowClient(tracking_uri=uri, registry_uri=uri).get_model_version(
        record["registry_name"], record["version"]
    )
    assert version.tags["mlgitops.digest"] == record["digest"]
    assert "Completed" in proc.stderr and "saved the model into /opt/ml/model" in proc.stderr  # its state and its log


def test_bad_input_submits_nothing(aws_project):
    before = jobs()
    missing = cli(aws_project, "train", "--env", "prod", "--backend", "sagemaker", "--no-wait")
    assert missing.returncode == 2 and "run `pulumi up` for prod first" in missing.stderr
    unknown = cli(aws_project, "train", "--env", "staging", "--backend", "kubernetes")
    assert unknown.returncode == 2 and "--backend kubernetes: not a training backend" in unknown.stderr
    nocreds = cli(
        aws_project,
        "train",
        "--env",
        "staging",
        "--backend",
        "sagemaker",
        AWS_ACCESS_KEY_ID=None,
        AWS_SECRET_ACCESS_KEY=None,
        AWS_SHARED_CREDENTIALS_FILE=os.devnull,
        AWS_CONFIG_FILE=os.devnull,
        AWS_EC2_METADATA_DISABLED="true",
    )
    assert nocreds.returncode == 2 and "no AWS credentials" in nocreds.stderr
    text = (aws_project / "mlgitops.yaml").read_text()
    (aws_project / "mlgitops.yaml").write_text(text.replace("instance_type: ml.m5.xlarge", "instance_type: ml.m5.huge"))
    line = 1 + text.split("instance_type: ml.m5.xlarge")[0].count("\n")
    odd = cli(aws_project, "train", "--env", "staging", "--backend", "sagemaker")
    assert odd.returncode == 2 and f"mlgitops.yaml:{line}:" in odd.stderr and "SageMaker training offers" in odd.stderr
    for proc in (missing, unknown, nocreds, odd):
        assert "Traceback" not in proc.stderr
    assert jobs() == before


def batch_stack(config, image: str) -> None:
    """The stack's Batch queue and job definition on moto (whose Batch fails every job: it has no docker daemon)."""
    import boto3

    from mlgitops.training.remote import job_definition_name, queue_name

    batch, iam, ec2 = boto3.client("batch"), boto3.client("iam"), boto3.client("ec2")
    role = iam.create_role(RoleName=f"batch-{config.env}", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    profile = iam.create_instance_profile(InstanceProfileName=f"batch-{config.env}")["InstanceProfile"]["Arn"]
    ce = batch.create_compute_environment(
        computeEnvironmentName=queue_name(config),
        type="MANAGED",
        state="ENABLED",
        serviceRole=role,
        computeResources={
            "type": "EC2",
            "minvCpus": 0,
            "maxvCpus": 4,
            "instanceTypes": ["m5.large"],
            "subnets": [ec2.describe_subnets()["Subnets"][0]["SubnetId"]],
            "securityGroupIds": [ec2.describe_security_groups()["SecurityGroups"][0]["GroupId"]],
            "instanceRole": profile,
        },
    )
    batch.create_job_queue(
        jobQueueName=queue_name(config),
        state="ENABLED",
        priority=1,
        computeEnvironmentOrder=[{"order": 1, "computeEnvironment": ce["computeEnvironmentArn"]}],
    )
    batch.register_job_definition(
        jobDefinitionName=job_definition_name(config, MODEL),
        type="container",
        containerProperties={
            "image": image,
            "command": ["train"],
            "resourceRequirements": [{"type": "VCPU", "value": "2"}, {"type": "MEMORY", "value": "7372"}],
        },
    )


def test_batch_runs_the_stacks_job_definition_and_a_failed_job_is_exit_1(aws_project):
    import boto3

    from mlgitops.training.remote import Stack

    config = load(aws_project, "staging")
    batch_stack(config, "churn-staging-images:an-older-image")
    stale = cli(aws_project, "train", "--env", "staging", "--backend", "batch", "--no-wait")
    assert (
        stale.returncode == 2
        and "churn-staging-train-churn-classifier" in stale.stderr
        and "run `pulumi up` for staging first" in stale.stderr
    )
    assert boto3.client("batch").list_jobs(jobQueue="churn-staging-batch")["jobSummaryList"] == []
    boto3.client("batch").register_job_definition(  # after `pulumi up`: a new revision with this commit's image
        jobDefinitionName="churn-staging-train-churn-classifier",
        type="container",
        containerProperties={
            "image": Stack.of(config, "123456789012").image,
            "command": ["train"],
            "resourceRequirements": [{"type": "VCPU", "value": "2"}, {"type": "MEMORY", "value": "7372"}],
        },
    )
    proc = cli(aws_project, "train", "--env", "staging", "--backend", "batch", "--wait")
    assert proc.returncode == 1 and "ended FAILED" in proc.stderr and "Traceback" not in proc.stderr
    [job] = boto3.client("batch").describe_jobs(
        jobs=[
            j["jobId"]
            for j in boto3.client("batch").list_jobs(jobQueue="churn-staging-batch", jobStatus="FAILED")[
                "jobSummaryList"
            ]
        ]
    )["jobs"]
    assert job["jobDefinition"].endswith(":2") and job["jobName"].startswith("churn-staging-churn-classifier-")
