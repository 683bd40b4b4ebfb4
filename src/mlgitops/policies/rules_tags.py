"""Tag rule: every taggable resource says which project, environment and owner it belongs to."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from mlgitops.policies.registry import resource_rule

REQUIRED = ("project", "env", "owner", "managed-by")
# Taggable types we create or commonly see; untaggable ones (policies, attachments, side resources) are skipped.
TAGGABLE = (
    "aws:s3/bucket:Bucket",
    "aws:s3/bucketV2:BucketV2",
    "aws:kms/key:Key",
    "aws:iam/role:Role",
    "aws:iam/policy:Policy",
    "aws:iam/openIdConnectProvider:OpenIdConnectProvider",
    "aws:ecr/repository:Repository",
    "aws:sagemaker/model:Model",
    "aws:sagemaker/endpointConfiguration:EndpointConfiguration",
    "aws:sagemaker/endpoint:Endpoint",
    "aws:sagemaker/notebookInstance:NotebookInstance",
    "aws:sagemaker/mlflowTrackingServer:MlflowTrackingServer",
    "aws:sagemaker/domain:Domain",
    "aws:cloudwatch/logGroup:LogGroup",
    "aws:cloudwatch/metricAlarm:MetricAlarm",
    "aws:appautoscaling/target:Target",
    "aws:batch/jobDefinition:JobDefinition",
    "aws:batch/computeEnvironment:ComputeEnvironment",
    "aws:batch/jobQueue:JobQueue",
)


@resource_rule(
    "tags-required", "Taggable resources carry project, env, owner and managed-by tags.", TAGGABLE, severity="low"
)
def required(args: Any) -> Iterator[str]:
    tags = args.props.get("tags") or {}
    missing = [t for t in REQUIRED if not tags.get(t)]
    if missing:
        yield f"missing tags: {', '.join(missing)}"
    env = args.get_config().get("env")
    if env and tags.get("env") and tags.get("env") != env:
        yield f"tag env={tags.get('env')} but the stack is {env}"
