"""What AWS itself would refuse, known before `pulumi up`: planned resource inputs and config values checked against
botocore's service models (pattern, enum, min/max, length, required members), plus the rules the models do not encode
(S3 bucket names, reserved `aws:` tag keys, EC2 instance types for Batch, log retention days).

Stable API:
- `check_resource(resource_type, inputs) -> list[Violation]` (inputs camelCase as Pulumi registers them; `UNKNOWN` for
  values known only at deploy);
- `check_plan(plan) -> list[PlanViolation]` for `mlgitops plan`'s warnings;
- `FAMILIES`: rule family (`aws-api-<service>`) -> resource types; `family_of(resource_type)`;
- `config_problems(config) -> list[(key path, message)]` for `config check`.
botocore is imported lazily and only when its models are not cached yet (see `shapes`)."""

from __future__ import annotations

from mlgitops.aws_api.checks import FAMILIES, PlanViolation, check_plan, check_resource, family_of
from mlgitops.aws_api.config_checks import config_problems
from mlgitops.aws_api.requests import UNKNOWN, Violation

__all__ = [
    "FAMILIES",
    "PlanViolation",
    "UNKNOWN",
    "Violation",
    "check_plan",
    "check_resource",
    "config_problems",
    "family_of",
]
