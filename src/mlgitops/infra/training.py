"""TrainingCompute: the SageMaker execution role scoped to the project's buckets and key, the ECR
repository for training/serving images, and the batch backend (AWS Batch, spot) for GPU or long jobs."""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import TYPE_CHECKING

import pulumi

from mlgitops.image import training_tag
from mlgitops.infra.common import child, tags
from mlgitops.training.remote import job_definition_name, queue_name, role_name

if TYPE_CHECKING:
    from mlgitops.config import Project
    from mlgitops.config.schema import Model


def sagemaker_trust(account: str) -> str:
    """Only SageMaker, and only on behalf of this account (confused-deputy guard)."""
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Service": "sagemaker.amazonaws.com"},
                    "Action": "sts:AssumeRole",
                    "Condition": {"StringEquals": {"aws:SourceAccount": account}},
                }
            ],
        }
    )


def instance_types() -> dict[str, tuple[int, int, int]]:
    """vCPUs, memory (MiB) and GPUs of each EC2 instance type (`scripts/gen_instance_types.py` regenerates the table)."""
    global _TYPES
    if _TYPES is None:
        _TYPES = {
            k: tuple(v) for k, v in json.loads((Path(__file__).with_name("instance_types.json")).read_text()).items()
        }
    return _TYPES


_TYPES: dict[str, tuple[int, int, int]] | None = None
BATCH_INSTANCE_POLICY = (
    "arn:aws:iam::aws:policy/service-role/AmazonEC2ContainerServiceforEC2Role"  # what ECS on a Batch instance needs
)
MEMORY_SHARE = 0.9  # of an instance's memory a job may ask for: the ECS agent and the OS keep the rest


def _container_properties(model: Model, args: list[str]) -> str:
    """A job definition's container: the training image, its job role, and what one instance of its type offers."""
    image, role = args
    return json.dumps(
        {
            "image": image,
            "jobRoleArn": role,
            "command": ["train"],
            "resourceRequirements": job_resources(model.compute.instance_type, model.compute.gpus),
        }
    )


def job_resources(instance_type: str, gpus: int) -> list[dict[str, str]]:
    """A Batch job's requirements: the whole of one instance of its type (the job's own compute), so it can be placed."""
    vcpus, memory, _ = instance_types().get(instance_type.removeprefix("ml."), (1, 2048, 0))
    out = [{"type": "VCPU", "value": str(vcpus)}, {"type": "MEMORY", "value": str(int(memory * MEMORY_SHARE))}]
    return out + ([{"type": "GPU", "value": str(gpus)}] if gpus else [])


def ecs_tasks_trust(account: str) -> str:
    """Batch containers (ECS tasks) of this account only."""
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Service": "ecs-tasks.amazonaws.com"},
                    "Action": "sts:AssumeRole",
                    "Condition": {"StringEquals": {"aws:SourceAccount": account}},
                }
            ],
        }
    )


def scoped_policy(bucket_arns: list[str], key_arn: str, repo_arn: str, log_arn: str) -> str:
    """Least privilege: named actions on the project's buckets, key, repository and log group only."""
    objects = [f"{a}/*" for a in bucket_arns]
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "Buckets",
                    "Effect": "Allow",
                    "Action": ["s3:ListBucket", "s3:GetBucketLocation"],
                    "Resource": bucket_arns,
                },
                {
                    "Sid": "Objects",
                    "Effect": "Allow",
                    "Action": ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"],
                    "Resource": objects,
                },
                {
                    "Sid": "Key",
                    "Effect": "Allow",
                    "Action": ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey", "kms:DescribeKey"],
                    "Resource": [key_arn],
                },
                {
                    "Sid": "Images",
                    "Effect": "Allow",
                    "Action": ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:BatchCheckLayerAvailability"],
                    "Resource": [repo_arn],
                },
                {
                    "Sid": "Logs",
                    "Effect": "Allow",
                    "Action": ["logs:CreateLogStream", "logs:PutLogEvents", "logs:CreateLogGroup"],
                    "Resource": [log_arn, f"{log_arn}:*"],
                },
            ],
        }
    )


class TrainingCompute(pulumi.ComponentResource):
    """Execution role + ECR repository; for models with `compute.backend: batch`, a spot compute
    environment, job queue and one job definition per model. SageMaker training-job settings
    (instance type, count, max runtime, spot) are exported as `training_jobs` for the CI runner."""

    def __init__(
        self,
        name: str,
        config: Project,
        account: pulumi.Input[str],
        region: str,
        bucket_arns: dict[str, pulumi.Output[str]],
        key_arn: pulumi.Output[str],
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("mlgitops:training:TrainingCompute", name, None, opts)
        import pulumi_aws as aws

        self.repository = aws.ecr.Repository(
            f"{name}-images",
            name=config.name("images"),
            image_tag_mutability="IMMUTABLE",
            image_scanning_configuration={"scan_on_push": True},
            encryption_configurations=[{"encryption_type": "KMS", "kms_key": key_arn}],
            force_delete=config.storage.force_destroy,
            tags=tags(config),
            opts=child(self),
        )
        self.role = aws.iam.Role(
            f"{name}-role",
            name=role_name(config),
            assume_role_policy=pulumi.Output.from_input(account).apply(sagemaker_trust),
            max_session_duration=3600,
            tags=tags(config),
            opts=child(self),
        )
        log_arn = pulumi.Output.from_input(account).apply(
            lambda a: f"arn:aws:logs:{region}:{a}:log-group:/aws/sagemaker/*"
        )
        policy = pulumi.Output.all(list(bucket_arns.values()), key_arn, self.repository.arn, log_arn).apply(
            lambda args: scoped_policy(*args)
        )
        aws.iam.RolePolicy(f"{name}-role-policy", role=self.role.id, policy=policy, opts=child(self))
        self.policy = policy
        self.jobs = {
            m: {
                "backend": model.compute.backend,
                "instance_type": model.compute.instance_type,
                "instance_count": model.compute.instance_count,
                "max_runtime_seconds": model.compute.max_runtime_minutes * 60,
                "spot": model.compute.spot,
            }
            for m, model in config.models.items()
        }
        batch_models = {m: model for m, model in config.models.items() if model.compute.backend == "batch"}
        self.job_queue = None
        if batch_models:
            self._batch(aws, config, name, batch_models, account)
        self.register_outputs({"role_arn": self.role.arn, "repository_url": self.repository.repository_url})

    def _batch(self, aws, config: Project, name: str, models: dict, account: pulumi.Input[str]) -> None:
        """Managed spot compute environment (default VPC), a queue, and a job definition per model."""
        vpc = aws.ec2.get_vpc(default=True)
        subnets = aws.ec2.get_subnets(filters=[{"name": "vpc-id", "values": [vpc.id]}])
        sg = aws.ec2.SecurityGroup(
            f"{name}-batch-sg",
            name=config.name("batch"),
            vpc_id=vpc.id,
            description="mlgitops batch jobs: egress only",
            egress=[{"protocol": "-1", "from_port": 0, "to_port": 0, "cidr_blocks": ["0.0.0.0/0"]}],
            tags=tags(config),
            opts=child(self),
        )
        ec2_trust = json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}
                ],
            }
        )
        instance_role = aws.iam.Role(
            f"{name}-batch-instance",
            name=config.name("batch-instance"),
            assume_role_policy=ec2_trust,
            tags=tags(config),
            opts=child(self),
        )
        aws.iam.RolePolicyAttachment(
            f"{name}-batch-instance-ecs", role=instance_role.name, policy_arn=BATCH_INSTANCE_POLICY, opts=child(self)
        )
        profile = aws.iam.InstanceProfile(
            f"{name}-batch-profile",
            name=config.name("batch-instance"),
            role=instance_role.name,
            tags=tags(config),
            opts=child(self),
        )
        instance_types = sorted({m.compute.instance_type.removeprefix("ml.") for m in models.values()})
        env = aws.batch.ComputeEnvironment(
            f"{name}-batch-env",
            name=config.name("batch"),
            type="MANAGED",
            compute_resources={
                "type": "SPOT",
                "allocation_strategy": "SPOT_PRICE_CAPACITY_OPTIMIZED",
                "min_vcpus": 0,
                "max_vcpus": max(m.compute.max_vcpus for m in models.values()),
                "instance_types": instance_types,
                "subnets": subnets.ids,
                "security_group_ids": [sg.id],
                "instance_role": profile.arn,
                "tags": tags(config),
            },
            tags=tags(config),
            opts=child(self),
        )
        self.job_queue = aws.batch.JobQueue(
            f"{name}-batch-queue",
            name=queue_name(config),
            state="ENABLED",
            priority=1,
            compute_environment_orders=[{"order": 1, "compute_environment": env.arn}],
            tags=tags(config),
            opts=child(self),
        )
        # the job's own role (what the container may do: the training role's scoped policy), apart from the instance's
        job_role = aws.iam.Role(
            f"{name}-batch-job",
            name=config.name("batch-job"),
            assume_role_policy=pulumi.Output.from_input(account).apply(ecs_tasks_trust),
            max_session_duration=3600,
            tags=tags(config),
            opts=child(self),
        )
        aws.iam.RolePolicy(f"{name}-batch-job-policy", role=job_role.id, policy=self.policy, opts=child(self))
        image = self.repository.repository_url.apply(lambda url: f"{url}:{training_tag(config.root)}")  # what CI pushed
        for model_name, model in models.items():
            props = pulumi.Output.all(image, job_role.arn).apply(functools.partial(_container_properties, model))
            aws.batch.JobDefinition(
                f"{name}-job-{model_name}",
                name=job_definition_name(config, model_name),
                type="container",
                container_properties=props,
                platform_capabilities=["EC2"],
                timeout={"attempt_duration_seconds": model.compute.max_runtime_minutes * 60},
                retry_strategy={"attempts": 3 if model.compute.spot else 1},
                propagate_tags=True,
                tags=tags(config, model=model_name),
                opts=child(self),
            )
