"""CloudWatch Logs rules: logs expire and are encrypted."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from mlgitops.policies.registry import resource_rule

LOG_GROUP = ("aws:cloudwatch/logGroup:LogGroup",)


@resource_rule(
    "logs-retention", "Log groups set a retention period (no logs kept forever by accident).", LOG_GROUP, severity="low"
)
def retention(args: Any) -> Iterator[str]:
    if not args.props.get("retentionInDays"):
        yield "retentionInDays is not set (logs never expire)"


@resource_rule("logs-kms", "Log groups are encrypted with a KMS key.", LOG_GROUP, severity="medium")
def kms(args: Any) -> Iterator[str]:
    if not args.props.get("kmsKeyId"):
        yield "kmsKeyId is not set"
