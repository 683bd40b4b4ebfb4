"""ECR rules: images are immutable, scanned, encrypted with KMS and never public."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from mlgitops.policies._util import as_list, document, get, principals, statements
from mlgitops.policies.registry import resource_rule

REPO = ("aws:ecr/repository:Repository",)
REPO_POLICY = ("aws:ecr/repositoryPolicy:RepositoryPolicy",)


@resource_rule(
    "ecr-immutable-tags", "ECR repositories have immutable image tags (a version always means the same image).", REPO
)
def immutable(args: Any) -> Iterator[str]:
    if args.props.get("imageTagMutability", "MUTABLE") not in ("IMMUTABLE", "IMMUTABLE_WITH_EXCLUSION"):
        yield f"imageTagMutability is {args.props.get('imageTagMutability', 'MUTABLE')}; set IMMUTABLE"


@resource_rule("ecr-scan-on-push", "ECR repositories scan images on push.", REPO, severity="medium")
def scan(args: Any) -> Iterator[str]:
    if get(args.props, "imageScanningConfiguration", "scanOnPush") is not True:
        yield "imageScanningConfiguration.scanOnPush is not true"


@resource_rule("ecr-kms", "ECR repositories encrypt images with KMS.", REPO)
def kms(args: Any) -> Iterator[str]:
    types = [c.get("encryptionType") for c in as_list(args.props.get("encryptionConfigurations"))]
    if "KMS" not in types and "KMS_DSSE" not in types:
        yield "no encryptionConfigurations with encryptionType KMS"


@resource_rule(
    "ecr-no-public-policy",
    "ECR repository policies grant nothing to the `*` principal.",
    REPO_POLICY,
    severity="critical",
)
def no_public(args: Any) -> Iterator[str]:
    for st in statements(document(args.props.get("policy"))):
        if st.get("Effect") == "Allow" and "*" in principals(st):
            yield f"repository policy statement {st.get('Sid') or '?'} allows principal '*'"


@resource_rule(
    "ecr-no-force-delete-prod",
    "In prod, ECR repositories are not force-deletable (served images must survive).",
    REPO,
    severity="medium",
)
def no_force_delete(args: Any) -> Iterator[str]:
    if args.get_config().get("env") == "prod" and args.props.get("forceDelete") is True:
        yield "forceDelete is true in prod"
