"""AWS API rules: every planned input checked against botocore's model of the request that creates the resource
(one rule per service, `aws-api-<service>`). Mandatory in every environment and not exemptable: AWS refuses the
value whatever our enforcement says, so the only fix is the value."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

from mlgitops.aws_api.checks import FAMILIES, SERVICES
from mlgitops.policies.registry import resource_rule

DESCRIPTIONS = {
    "s3": "S3 bucket names and bucket settings are values the S3 API accepts (naming rules, enums, lengths).",
    "kms": "KMS keys and aliases have values the KMS API accepts (alias names, key specs, deletion window 7-30 days).",
    "iam": "IAM roles, policies and OIDC providers have names, paths and documents the IAM API accepts.",
    "ecr": "ECR repositories have names, tag mutability and encryption settings the ECR API accepts.",
    "sagemaker": "SageMaker models, endpoint configs, endpoints and monitoring resources have values the SageMaker API accepts "
    "(instance types, S3 URIs, sampling percentage).",
    "cloudwatch": "CloudWatch alarms have operators, statistics, periods and names the CloudWatch API accepts.",
    "application-autoscaling": "Autoscaling targets and policies have namespaces, dimensions and metrics the Application Auto Scaling API accepts.",
    "logs": "Log groups have names and retention periods the CloudWatch Logs API accepts.",
    "batch": "Batch compute environments use EC2 instance types (not ml. ones) and Batch resources have values the Batch API accepts.",
}


def _plain(value: Any) -> Any:
    """A pulumi_policy props proxy as plain data, with values unknown until deploy as `UNKNOWN` (present, unchecked)
    instead of raising: an unknown bucket id must not hide a bad instance type next to it."""
    from pulumi_policy.proxy import UnknownValueError

    from mlgitops.aws_api import UNKNOWN

    def item(get: Callable[[], Any]) -> Any:
        try:
            return _plain(get())
        except UnknownValueError:
            return UNKNOWN

    if isinstance(value, Mapping):
        return {k: item(functools.partial(value.__getitem__, k)) for k in value}
    if isinstance(value, Sequence) and not isinstance(value, (str, bytes)):
        return [item(functools.partial(value.__getitem__, i)) for i in range(len(value))]
    return value


def _rule(family: str) -> Callable[[Any], Iterator[str]]:
    def check(args: Any) -> Iterator[str]:
        from mlgitops.aws_api import check_resource

        for v in check_resource(args.resource_type, _plain(args.props)):
            yield v.message

    check.__name__ = f"aws_api_{family.replace('-', '_')}"
    return check


for _family in SERVICES:
    resource_rule(f"aws-api-{_family}", DESCRIPTIONS[_family], FAMILIES[f"aws-api-{_family}"], pinned=True)(
        _rule(_family)
    )
