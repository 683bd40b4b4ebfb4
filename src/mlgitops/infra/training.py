"""TrainingCompute: the SageMaker execution role scoped to the project's buckets and key, the ECR
repository for training/serving images, and the batch backend (AWS Batch, spot) for GPU or long jobs."""
from __future__ import annotations

import json
from typing import TYPE_CHECKING

import pulumi

from mlgitops.infra.common import child, tags

if TYPE_CHECKING:
    from mlgitops.config import Config


def sagemaker_trust(account: str) -> str:
    """Only SageMaker, and only on behalf of this account (confused-deputy guard)."""
    return json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"Service": "sagemaker.amazonaws.com"}, "Action": "sts:AssumeRole",
        "Condition": {"StringEquals": {"aws:SourceAccount": account}}}]})


def scoped_policy(bucket_arns: list[str], key_arn: str, repo_arn: str, log_arn: str) -> str:
    """Least privilege: named actions on the project's buckets, key, repository and log group only."""
    objects = [f"{a}/*" for a in bucket_arns]
    return json.dumps({"Version": "2012-10-17", "Statement": [
        {"Sid": "Buckets", "Effect": "Allow", "Action": ["s3:ListBucket", "s3:GetBucketLocation"], "Resource": bucket_arns},
        {"Sid": "Objects", "Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"], "Resource": objects},
        {"Sid": "Key", "Effect": "Allow", "Action": ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey", "kms:DescribeKey"], "Resource": [key_arn]},
        {"Sid": "Images", "Effect": "Allow", "Action": ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:BatchCheckLayerAvailability"], "Resource": [repo_arn]},
        {"Sid": "Logs", "Effect": "Allow", "Action": ["logs:CreateLogStream", "logs:PutLogEvents", "logs:CreateLogGroup"], "Resource": [log_arn, f"{log_arn}:*"]},
    ]})


class TrainingCompute(pulumi.ComponentResource):
    """Execution role + ECR repository; for models with `compute.backend: batch`, a spot compute
    environment, job queue and one job definition per model. SageMaker training-job settings
    (instance type, count, max runtime, spot) are exported as `training_jobs` for the CI runner."""

    def __init__(self, name: str, config: "Config", account: pulumi.Input[str], region: str, bucket_arns: dict[str, pulumi.Output[str]],
                 key_arn: pulumi.Output[str], opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("mlgitops:training:TrainingCompute", name, None, opts)
        import pulumi_aws as aws

        self.repository = aws.ecr.Repository(
            f"{name}-images", name=config.name("images"), image_tag_mutability="IMMUTABLE",
            image_scanning_configuration={"scan_on_push": True},
            encryption_configurations=[{"encryption_type": "KMS", "kms_key": key_arn}],
            force_delete=config.storage.force_destroy, tags=tags(config), opts=child(self))
        self.role = aws.iam.Role(f"{name}-role", name=config.name("training"),
                                 assume_role_policy=pulumi.Output.from_input(account).apply(sagemaker_trust),
                                 max_session_duration=3600, tags=tags(config), opts=child(self))
        log_arn = pulumi.Output.from_input(account).apply(lambda a: f"arn:aws:logs:{region}:{a}:log-group:/aws/sagemaker/*")
        policy = pulumi.Output.all(list(bucket_arns.values()), key_arn, self.repository.arn, log_arn).apply(
            lambda args: scoped_policy(*args))
        aws.iam.RolePolicy(f"{name}-role-policy", role=self.role.id, policy=policy, opts=child(self))
        self.jobs = {m: {"backend": model.compute.backend, "instance_type": model.compute.instance_type,
                         "instance_count": model.compute.instance_count, "max_runtime_seconds": model.compute.max_runtime_minutes * 60,
                         "spot": model.compute.spot} for m, model in config.models.items()}
        batch_models = {m: model for m, model in config.models.items() if model.compute.backend == "batch"}
        self.job_queue = None
        if batch_models:
            self._batch(aws, config, name, batch_models)
        self.register_outputs({"role_arn": self.role.arn, "repository_url": self.repository.repository_url})

    def _batch(self, aws, config: "Config", name: str, models: dict) -> None:
        """Managed spot compute environment (default VPC), a queue, and a job definition per model."""
        vpc = aws.ec2.get_vpc(default=True)
        subnets = aws.ec2.get_subnets(filters=[{"name": "vpc-id", "values": [vpc.id]}])
        sg = aws.ec2.SecurityGroup(f"{name}-batch-sg", name=config.name("batch"), vpc_id=vpc.id, description="mlgitops batch jobs: egress only",
                                   egress=[{"protocol": "-1", "from_port": 0, "to_port": 0, "cidr_blocks": ["0.0.0.0/0"]}],
                                   tags=tags(config), opts=child(self))
        ec2_trust = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}]})
        instance_role = aws.iam.Role(f"{name}-batch-instance", name=config.name("batch-instance"), assume_role_policy=ec2_trust,
                                     tags=tags(config), opts=child(self))
        aws.iam.RolePolicyAttachment(f"{name}-batch-instance-ecs", role=instance_role.name,
                                     policy_arn="arn:aws:iam::aws:policy/service-role/AmazonEC2ContainerServiceforEC2Role", opts=child(self))
        profile = aws.iam.InstanceProfile(f"{name}-batch-profile", name=config.name("batch-instance"), role=instance_role.name,
                                          tags=tags(config), opts=child(self))
        instance_types = sorted({m.compute.instance_type.removeprefix("ml.") for m in models.values()})
        env = aws.batch.ComputeEnvironment(
            f"{name}-batch-env", name=config.name("batch"), type="MANAGED",
            compute_resources={"type": "SPOT", "allocation_strategy": "SPOT_PRICE_CAPACITY_OPTIMIZED", "min_vcpus": 0,
                               "max_vcpus": max(m.compute.max_vcpus for m in models.values()), "instance_types": instance_types,
                               "subnets": subnets.ids, "security_group_ids": [sg.id], "instance_role": profile.arn,
                               "tags": tags(config)},
            tags=tags(config), opts=child(self))
        self.job_queue = aws.batch.JobQueue(f"{name}-batch-queue", name=config.name("batch"), state="ENABLED", priority=1,
                                            compute_environment_orders=[{"order": 1, "compute_environment": env.arn}],
                                            tags=tags(config), opts=child(self))
        for model_name, model in models.items():
            resources = [{"type": "VCPU", "value": "4"}, {"type": "MEMORY", "value": "16384"}]
            if model.compute.gpus:
                resources.append({"type": "GPU", "value": str(model.compute.gpus)})
            props = self.repository.repository_url.apply(lambda url, r=resources, m=model_name: json.dumps({
                "image": f"{url}:{m}", "resourceRequirements": r, "command": ["mlgitops", "train", "--model", m]}))
            aws.batch.JobDefinition(f"{name}-job-{model_name}", name=config.name(f"train-{model_name}"), type="container",
                                    container_properties=props, platform_capabilities=["EC2"],
                                    timeout={"attempt_duration_seconds": model.compute.max_runtime_minutes * 60},
                                    retry_strategy={"attempts": 3 if model.compute.spot else 1},
                                    propagate_tags=True, tags=tags(config, model=model_name), opts=child(self))
