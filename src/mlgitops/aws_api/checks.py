"""One planned resource -> every violation of AWS's API models and of the rules they do not encode."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from mlgitops.aws_api import naming
from mlgitops.aws_api.requests import REQUESTS, UNKNOWN, Violation, check_request
from mlgitops.evidence.records import replace_unknowns

# Rule family -> the botocore service whose model it checks; a family's resource types are those mapped to its service.
SERVICES = {
    "s3": "s3",
    "kms": "kms",
    "iam": "iam",
    "ecr": "ecr",
    "sagemaker": "sagemaker",
    "cloudwatch": "cloudwatch",
    "application-autoscaling": "application-autoscaling",
    "logs": "logs",
    "batch": "batch",
}
FAMILIES: dict[str, tuple[str, ...]] = {
    f"aws-api-{family}": tuple(t for t, r in REQUESTS.items() if r.service == service)
    for family, service in SERVICES.items()
}


def family_of(resource_type: str) -> str | None:
    return next((f for f, types in FAMILIES.items() if resource_type in types), None)


def check_resource(resource_type: str, inputs: Mapping[str, Any]) -> list[Violation]:
    """Every input of one planned resource AWS would refuse."""
    if resource_type not in REQUESTS:
        return []
    out = check_request(resource_type, inputs)
    service = REQUESTS[resource_type].service
    tags = inputs.get("tags")
    if isinstance(tags, Mapping):
        out += [
            Violation(f"tags.{k}", "a tag key not starting with 'aws:' (reserved for AWS)", k)
            for k in tags
            if naming.reserved_tag(str(k))
        ]
    if service == "s3":
        for key, prefix in (("bucket", False), ("bucketPrefix", True)):
            name = inputs.get(key)
            if isinstance(name, str):
                problems = naming.bucket_name_problems(name, prefix)
                if problems:
                    out.append(
                        Violation(
                            key, f"{naming.BUCKET_NAME_RULE}: {'; '.join(problems)}", name, "S3 bucket naming rules"
                        )
                    )
    if resource_type == "aws:batch/computeEnvironment:ComputeEnvironment":
        resources = inputs.get("computeResources")
        types = resources.get("instanceTypes") if isinstance(resources, Mapping) else None
        if isinstance(types, Sequence) and not isinstance(types, str):
            out += [
                Violation(
                    f"computeResources.instanceTypes[{i}]",
                    "an EC2 instance type or family, or optimal (not a SageMaker ml. type)",
                    t,
                    "CreateComputeEnvironment computeResources.instanceTypes",
                )
                for i, t in enumerate(types)
                if isinstance(t, str) and not naming.batch_instance_type_ok(t)
            ]
    if resource_type == "aws:cloudwatch/logGroup:LogGroup":
        days = inputs.get("retentionInDays")
        if isinstance(days, int) and not isinstance(days, bool) and days != 0 and days not in naming.LOG_RETENTION_DAYS:
            out.append(
                Violation(
                    "retentionInDays",
                    f"0 (never expire) or one of {', '.join(map(str, naming.LOG_RETENTION_DAYS))}",
                    days,
                    "PutRetentionPolicy retentionInDays",
                )
            )
    return out


@dataclass(frozen=True)
class PlanViolation:
    """A violation of one resource of a Plan, for `mlgitops plan`'s warnings."""

    family: str
    urn: str
    resource_type: str
    message: str

    @property
    def resource(self) -> str:
        return self.urn.rsplit("::", 1)[-1]

    def to_dict(self) -> dict[str, str]:
        return {
            "policy": self.family,
            "resource_urn": self.urn,
            "resource_type": self.resource_type,
            "message": self.message,
        }


def check_plan(plan: Any) -> list[PlanViolation]:
    """Every violation in a `mlgitops.plan.Plan`."""
    out = []
    for r in plan.resources:
        family = family_of(r.type)
        if family is not None:
            out += [
                PlanViolation(family, r.urn, r.type, v.message)
                for v in check_resource(r.type, replace_unknowns(r.inputs, UNKNOWN))
            ]
    return out
