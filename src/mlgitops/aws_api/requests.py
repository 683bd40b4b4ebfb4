"""Planned resource inputs -> the AWS API request that creates the resource, checked against botocore's input shape.

Pulumi inputs are camelCase; request members are PascalCase (IAM, S3, SageMaker) or camelCase (ECR, Batch, Logs), so a
member is found case-insensitively, and a plural Pulumi list (`encryptionConfigurations`) matches a singular member.
Only the names that differ otherwise are spelled out per resource type. Pulumi-only inputs (`forceDestroy`) match no
member and are skipped. Values unknown until deploy are `UNKNOWN`: present, not checked."""

from __future__ import annotations

import difflib
import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from mlgitops.aws_api.shapes import Models, models, pattern


class _Unknown:
    """A value Pulumi only knows at deploy time."""

    def __repr__(self) -> str:
        return "<unknown>"


UNKNOWN: Any = _Unknown()


@dataclass(frozen=True)
class _Named:
    """A value placed under a request member whose name differs from its Pulumi input: paths report the Pulumi name."""

    name: str
    value: Any


@dataclass(frozen=True)
class Request:
    """How one Pulumi resource type maps to the AWS request that creates it."""

    service: str
    operation: str
    members: dict[str, str] = field(default_factory=dict)
    """Pulumi input -> dotted request member path, where the names differ beyond case (`name` -> `ModelName`)."""
    other: dict[str, tuple[str, str]] = field(default_factory=dict)
    """Pulumi input -> (operation, member path) for inputs that a second API call sets (`deletionWindowInDays`)."""
    generated: frozenset[str] = frozenset()
    """Required request members (dotted paths) that Pulumi fills in when the program leaves them out (autonames)."""


def _r(
    service: str,
    operation: str,
    members: dict[str, str] | None = None,
    other: dict[str, tuple[str, str]] | None = None,
    generated: tuple[str, ...] = (),
) -> Request:
    return Request(service, operation, members or {}, other or {}, frozenset(generated))


REQUESTS: dict[str, Request] = {
    # S3 (bucket names also follow S3's naming rules, see naming.py)
    "aws:s3/bucket:Bucket": _r(
        "s3", "CreateBucket", {"bucket": "Bucket"}, {"tags": ("PutBucketTagging", "Tagging.TagSet")}, ("Bucket",)
    ),
    "aws:s3/bucketV2:BucketV2": _r(
        "s3", "CreateBucket", {"bucket": "Bucket"}, {"tags": ("PutBucketTagging", "Tagging.TagSet")}, ("Bucket",)
    ),
    "aws:s3/bucketVersioning:BucketVersioning": _r("s3", "PutBucketVersioning"),
    "aws:s3/bucketVersioningV2:BucketVersioningV2": _r("s3", "PutBucketVersioning"),
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration": _r(
        "s3", "PutBucketEncryption", {"rules": "ServerSideEncryptionConfiguration.Rules"}
    ),
    "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock": _r(
        "s3",
        "PutPublicAccessBlock",
        {
            k: f"PublicAccessBlockConfiguration.{k[0].upper()}{k[1:]}"
            for k in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")
        },
        generated=("PublicAccessBlockConfiguration",),
    ),  # every flag is optional in Pulumi (default false)
    "aws:s3/bucketOwnershipControls:BucketOwnershipControls": _r(
        "s3", "PutBucketOwnershipControls", {"rule": "OwnershipControls.Rules"}
    ),
    "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration": _r(
        "s3", "PutBucketLifecycleConfiguration", {"rules": "LifecycleConfiguration.Rules"}
    ),
    "aws:s3/bucketLogging:BucketLogging": _r(
        "s3",
        "PutBucketLogging",
        {
            "targetBucket": "BucketLoggingStatus.LoggingEnabled.TargetBucket",
            "targetPrefix": "BucketLoggingStatus.LoggingEnabled.TargetPrefix",
        },
    ),
    "aws:s3/bucketPolicy:BucketPolicy": _r("s3", "PutBucketPolicy"),
    # KMS
    "aws:kms/key:Key": _r(
        "kms",
        "CreateKey",
        other={
            "deletionWindowInDays": ("ScheduleKeyDeletion", "PendingWindowInDays"),
            "rotationPeriodInDays": ("EnableKeyRotation", "RotationPeriodInDays"),
        },
    ),
    "aws:kms/alias:Alias": _r("kms", "CreateAlias", {"name": "AliasName"}, generated=("AliasName", "TargetKeyId")),
    # IAM
    "aws:iam/role:Role": _r(
        "iam",
        "CreateRole",
        {"name": "RoleName", "assumeRolePolicy": "AssumeRolePolicyDocument"},
        generated=("RoleName",),
    ),
    "aws:iam/rolePolicy:RolePolicy": _r(
        "iam",
        "PutRolePolicy",
        {"name": "PolicyName", "role": "RoleName", "policy": "PolicyDocument"},
        generated=("PolicyName",),
    ),
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment": _r("iam", "AttachRolePolicy", {"role": "RoleName"}),
    "aws:iam/instanceProfile:InstanceProfile": _r(
        "iam",
        "CreateInstanceProfile",
        {"name": "InstanceProfileName"},
        {"role": ("AddRoleToInstanceProfile", "RoleName")},
        ("InstanceProfileName",),
    ),
    "aws:iam/openIdConnectProvider:OpenIdConnectProvider": _r("iam", "CreateOpenIDConnectProvider"),
    "aws:iam/policy:Policy": _r(
        "iam", "CreatePolicy", {"name": "PolicyName", "policy": "PolicyDocument"}, generated=("PolicyName",)
    ),
    "aws:iam/user:User": _r("iam", "CreateUser", {"name": "UserName"}, generated=("UserName",)),
    "aws:iam/group:Group": _r("iam", "CreateGroup", {"name": "GroupName"}, generated=("GroupName",)),
    # ECR
    "aws:ecr/repository:Repository": _r(
        "ecr",
        "CreateRepository",
        {"name": "repositoryName"},
        generated=("repositoryName", "encryptionConfiguration.encryptionType"),
    ),
    "aws:ecr/repositoryPolicy:RepositoryPolicy": _r(
        "ecr", "SetRepositoryPolicy", {"repository": "repositoryName", "policy": "policyText"}
    ),
    "aws:ecr/lifecyclePolicy:LifecyclePolicy": _r(
        "ecr", "PutLifecyclePolicy", {"repository": "repositoryName", "policy": "lifecyclePolicyText"}
    ),
    # SageMaker
    "aws:sagemaker/model:Model": _r("sagemaker", "CreateModel", {"name": "ModelName"}, generated=("ModelName",)),
    "aws:sagemaker/endpointConfiguration:EndpointConfiguration": _r(
        "sagemaker",
        "CreateEndpointConfig",
        {"name": "EndpointConfigName", "kmsKeyArn": "KmsKeyId"},
        generated=("EndpointConfigName", "ProductionVariants.VariantName", "ShadowProductionVariants.VariantName"),
    ),
    "aws:sagemaker/endpoint:Endpoint": _r(
        "sagemaker", "CreateEndpoint", {"name": "EndpointName"}, generated=("EndpointName",)
    ),
    "aws:sagemaker/mlflowTrackingServer:MlflowTrackingServer": _r("sagemaker", "CreateMlflowTrackingServer"),
    "aws:sagemaker/dataQualityJobDefinition:DataQualityJobDefinition": _r(
        "sagemaker",
        "CreateDataQualityJobDefinition",
        {"name": "JobDefinitionName"},
        generated=(
            "JobDefinitionName",
            "DataQualityJobInput.EndpointInput.LocalPath",
            "DataQualityJobInput.BatchTransformInput.LocalPath",
            "DataQualityJobOutputConfig.MonitoringOutputs.S3Output.LocalPath",
        ),
    ),  # Pulumi defaults the container paths
    "aws:sagemaker/monitoringSchedule:MonitoringSchedule": _r(
        "sagemaker",
        "CreateMonitoringSchedule",
        {"name": "MonitoringScheduleName"},
        generated=("MonitoringScheduleName",),
    ),
    "aws:sagemaker/modelPackageGroup:ModelPackageGroup": _r("sagemaker", "CreateModelPackageGroup"),
    # CloudWatch, Application Auto Scaling, Logs
    "aws:cloudwatch/metricAlarm:MetricAlarm": _r(
        "cloudwatch", "PutMetricAlarm", {"name": "AlarmName", "metricQueries": "Metrics"}, generated=("AlarmName",)
    ),
    "aws:appautoscaling/target:Target": _r("application-autoscaling", "RegisterScalableTarget"),
    "aws:appautoscaling/policy:Policy": _r(
        "application-autoscaling", "PutScalingPolicy", {"name": "PolicyName"}, generated=("PolicyName",)
    ),
    "aws:cloudwatch/logGroup:LogGroup": _r(
        "logs",
        "CreateLogGroup",
        {"name": "logGroupName"},
        {"retentionInDays": ("PutRetentionPolicy", "retentionInDays")},
        ("logGroupName",),
    ),
    # Batch
    "aws:batch/computeEnvironment:ComputeEnvironment": _r(
        "batch", "CreateComputeEnvironment", {"name": "computeEnvironmentName"}, generated=("computeEnvironmentName",)
    ),
    "aws:batch/jobQueue:JobQueue": _r(
        "batch", "CreateJobQueue", {"name": "jobQueueName"}, generated=("jobQueueName", "computeEnvironmentOrder")
    ),
    "aws:batch/jobDefinition:JobDefinition": _r(
        "batch", "RegisterJobDefinition", {"name": "jobDefinitionName"}, generated=("jobDefinitionName",)
    ),
}


@dataclass(frozen=True)
class Violation:
    """One input AWS would refuse: where (Pulumi input path), what AWS requires, and the value found."""

    path: str
    requires: str
    value: Any
    member: str = ""

    @property
    def message(self) -> str:
        where = f" ({self.member})" if self.member else ""
        return f"{self.path}: AWS requires {self.requires}{where}; found {_show(self.value)}"


def _show(value: Any) -> str:
    text = "nothing" if value is None else repr(value)
    return text if len(text) <= 120 else text[:117] + "..."


def _join(path: str, key: str | int) -> str:
    return f"{path}[{key}]" if isinstance(key, int) else f"{path}.{key}" if path else str(key)


def _member(shape: dict[str, Any], key: str) -> str | None:
    """The request member a Pulumi input key names: same name ignoring case, or its singular."""
    members = shape.get("members", {})
    if key in members:
        return key
    low = {m.lower(): m for m in members}
    return low.get(key.lower()) or (low.get(key.lower()[:-1]) if key.endswith("s") else None)


def _entries(value: Mapping[str, Any], item: dict[str, Any]) -> list[dict[str, Any]] | None:
    """A Pulumi map (tags, dimensions) as the request's list of key/value structures, when the item shape is one."""
    names = list(item.get("members", {}))
    keys = [n for n in names if n.lower() in ("key", "tagkey", "name")]
    vals = [n for n in names if n.lower() in ("value", "tagvalue")]
    if len(names) != 2 or not keys or not vals:
        return None
    return [{keys[0]: k, vals[0]: v} for k, v in value.items()]


class Checker:
    """Walks one value against one botocore shape and yields violations."""

    def __init__(self, m: Models, service: str, operation: str, generated: frozenset[str] = frozenset()):
        self.m, self.service, self.operation, self.generated = m, service, operation, generated

    def check(self, value: Any, shape_name: str, path: str, api: str) -> Iterator[Violation]:
        if isinstance(value, _Named):
            path, value = value.name, value.value
        if value is UNKNOWN or value is None:
            return
        shape = self.m.shape(self.service, shape_name)
        kind = shape["type"]
        member = f"{self.operation} {api}" if api else self.operation
        if kind in ("structure", "list", "map") and isinstance(value, str) and value[:1] in "[{":
            try:  # Pulumi takes some structures as JSON text (Batch containerProperties)
                value = json.loads(value)
            except ValueError:
                return
        if kind == "structure":
            if isinstance(value, Mapping):
                yield from self._structure(value, shape, path, api)
            elif isinstance(value, Sequence) and not isinstance(value, str):  # a Pulumi list of one block
                for i, item in enumerate(value):
                    yield from self.check(item, shape_name, _join(path, i), api)
        elif kind == "list":
            item = shape["member"]["shape"]
            if isinstance(value, Mapping):
                entries = _entries(value, self.m.shape(self.service, item))
                if entries is None:  # a single Pulumi block for a list member (ownership `rule`)
                    yield from self.check(value, item, path, api)
                    return
                for k, entry in zip(value, entries, strict=False):
                    yield from self._structure(entry, self.m.shape(self.service, item), _join(path, k), api, tag=True)
                value = entries
            elif isinstance(value, Sequence) and not isinstance(value, str):
                for i, v in enumerate(value):
                    yield from self.check(v, item, _join(path, i), api)
            else:
                return
            yield from self._length(len(value), shape, path, member, "items", value)
        elif kind == "map" and isinstance(value, Mapping):
            for k, v in value.items():
                yield from self.check(k, shape["key"]["shape"], _join(path, k), api + " key")
                yield from self.check(v, shape["value"]["shape"], _join(path, k), api)
            yield from self._length(len(value), shape, path, member, "entries", dict(value))
        elif kind == "string" and isinstance(value, str):
            yield from self._string(value, shape, path, member)
        elif (
            kind in ("integer", "long", "float", "double")
            and isinstance(value, (int, float))
            and not isinstance(value, bool)
        ):
            if "min" in shape and value < shape["min"]:
                yield Violation(path, f"at least {shape['min']}", value, member)
            if "max" in shape and value > shape["max"]:
                yield Violation(path, f"at most {shape['max']}", value, member)

    def _structure(
        self, value: Mapping[str, Any], shape: dict[str, Any], path: str, api: str, tag: bool = False
    ) -> Iterator[Violation]:
        members = shape.get("members", {})
        present = set()
        for key, v in value.items():
            name = key if tag else _member(shape, str(key))
            if name is None or str(key).startswith("__"):
                continue
            present.add(name)
            yield from self.check(v, members[name]["shape"], path if tag else _join(path, key), _join(api, name))
        for req in shape.get("required", []):
            dotted = _join(api, req)
            if req not in present and dotted not in self.generated:
                yield Violation(
                    _join(path, req[0].lower() + req[1:]), "a value (required)", None, f"{self.operation} {dotted}"
                )

    def _string(self, value: str, shape: dict[str, Any], path: str, member: str) -> Iterator[Violation]:
        if "enum" in shape and value not in shape["enum"]:
            allowed = shape["enum"]
            if len(allowed) <= 12:
                yield Violation(path, f"one of {', '.join(allowed)}", value, member)
            else:  # instance types: hundreds of values, so the nearest ones instead of the list
                near = difflib.get_close_matches(value, allowed, n=3, cutoff=0.5)
                yield Violation(
                    path,
                    f"one of the {len(allowed)} values its model lists"
                    + (f" (nearest: {', '.join(near)})" if near else ""),
                    value,
                    member,
                )
            return
        yield from self._length(len(value), shape, path, member, "characters", value)
        regex = pattern(shape["pattern"]) if "pattern" in shape else None
        if regex is not None and not regex.fullmatch(value):
            yield Violation(path, f"a value matching {shape['pattern']}", value, member)

    @staticmethod
    def _length(n: int, shape: dict[str, Any], path: str, member: str, unit: str, value: Any) -> Iterator[Violation]:
        if "min" in shape and n < shape["min"]:
            yield Violation(path, f"at least {shape['min']} {unit}", value, member)
        elif "max" in shape and n > shape["max"]:
            yield Violation(path, f"at most {shape['max']} {unit}", value, member)


def _place(inputs: Mapping[str, Any], request: Request) -> dict[str, dict[str, Any]]:
    """The request bodies (by operation) the inputs make: renamed members nested at their dotted paths."""
    bodies: dict[str, dict[str, Any]] = {}
    for key, value in inputs.items():
        op, target = request.other.get(key, (request.operation, request.members.get(key, key)))
        node = bodies.setdefault(op, {})
        *parents, last = target.split(".")
        for p in parents:
            node = node.setdefault(p, {})
        node[last] = _Named(key, value) if target != key else value
    return bodies


def check_request(resource_type: str, inputs: Mapping[str, Any]) -> list[Violation]:
    """Every input of one planned resource that the AWS API would refuse (an unmapped type: none).

    Paths name the Pulumi input (`primaryContainer.modelDataUrl`); a renamed member reports its Pulumi name."""
    request = REQUESTS.get(resource_type)
    if request is None:
        return []
    m = models()
    out: list[Violation] = []
    for op, body in _place(inputs, request).items():
        checker = Checker(
            m,
            request.service,
            op,
            request.generated if op == request.operation else _every_member(m, request.service, op),
        )
        out += checker.check(body, m.input_shape(request.service, op), "", "")
    return out


def _every_member(m: Models, service: str, operation: str) -> frozenset[str]:
    """A second call's other required members (the bucket, the key id) come from the resource itself, not its inputs."""
    return frozenset(m.shape(service, m.input_shape(service, operation)).get("required", []))
