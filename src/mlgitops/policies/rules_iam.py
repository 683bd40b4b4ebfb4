"""IAM rules: least privilege and trust policies that name exactly who may assume a role."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from mlgitops.policies._util import as_list, condition_values, document, principals, statements
from mlgitops.policies.registry import resource_rule

POLICY_DOCS = (
    "aws:iam/policy:Policy",
    "aws:iam/rolePolicy:RolePolicy",
    "aws:iam/userPolicy:UserPolicy",
    "aws:iam/groupPolicy:GroupPolicy",
)
ROLE = ("aws:iam/role:Role",)
ATTACHMENTS = (
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
    "aws:iam/userPolicyAttachment:UserPolicyAttachment",
    "aws:iam/groupPolicyAttachment:GroupPolicyAttachment",
    "aws:iam/policyAttachment:PolicyAttachment",
)
FORBIDDEN_MANAGED = ("AdministratorAccess", "IAMFullAccess", "PowerUserAccess")
GITHUB_OIDC = "token.actions.githubusercontent.com"


def _allow_statements(args: Any) -> Iterator[dict[str, Any]]:
    docs = [document(args.props.get("policy"))] + [
        document(p.get("policy")) for p in as_list(args.props.get("inlinePolicies"))
    ]
    for doc in docs:
        for st in statements(doc):
            if st.get("Effect") == "Allow":
                yield st


@resource_rule("iam-no-wildcard-action", "IAM policies allow no `*` or `service:*` actions.", POLICY_DOCS + ROLE)
def no_wildcard_action(args: Any) -> Iterator[str]:
    for st in _allow_statements(args):
        wild = [a for a in as_list(st.get("Action")) if str(a) == "*" or str(a).endswith(":*")]
        if wild:
            yield f"statement {st.get('Sid') or '?'} allows {', '.join(map(str, wild))}; list the actions it needs"
        if st.get("NotAction") is not None:
            yield f"statement {st.get('Sid') or '?'} uses Allow with NotAction (allows everything else)"


@resource_rule(
    "iam-no-full-admin",
    "No IAM policy allows `*` actions on `*` resources (full admin).",
    POLICY_DOCS + ROLE,
    severity="critical",
)
def no_full_admin(args: Any) -> Iterator[str]:
    for st in _allow_statements(args):
        if {"*", "*:*"} & {str(a) for a in as_list(st.get("Action"))} and "*" in [
            str(r) for r in as_list(st.get("Resource"))
        ]:
            yield f"statement {st.get('Sid') or '?'} allows *:* (full administrator)"


@resource_rule(
    "iam-no-admin-attachments",
    "No AdministratorAccess / IAMFullAccess / PowerUserAccess managed policy attachments.",
    ATTACHMENTS + ROLE,
    severity="critical",
)
def no_admin_attachments(args: Any) -> Iterator[str]:
    arns = [args.props.get("policyArn")] + as_list(args.props.get("managedPolicyArns"))
    for arn in arns:
        if isinstance(arn, str) and arn.rsplit("/", 1)[-1] in FORBIDDEN_MANAGED:
            yield f"attaches {arn}"


def _trust(args: Any) -> list[dict[str, Any]]:
    return [st for st in statements(document(args.props.get("assumeRolePolicy"))) if st.get("Effect") == "Allow"]


@resource_rule(
    "iam-trust-no-wildcard-principal",
    "Role trust policies never trust the `*` principal or a whole foreign account root.",
    ROLE,
    severity="critical",
)
def trust_wildcard(args: Any) -> Iterator[str]:
    for st in _trust(args):
        if "*" in principals(st):
            yield "trust policy allows principal '*'"


@resource_rule(
    "iam-trust-service-source-account",
    "Roles trusted by an AWS service require aws:SourceAccount (confused deputy).",
    ROLE,
)
def trust_source_account(args: Any) -> Iterator[str]:
    account = args.get_config().get("account_id")
    for st in _trust(args):
        services = (
            [str(s) for s in as_list((st.get("Principal") or {}).get("Service"))]
            if isinstance(st.get("Principal"), dict)
            else []
        )
        if not services:
            continue
        accounts = condition_values(st, "aws:SourceAccount")
        if not accounts:
            yield f"trust for {', '.join(services)} has no aws:SourceAccount condition"
        elif account and any(a not in (account, "${aws:PrincipalAccount}") for a in accounts):
            yield f"aws:SourceAccount {', '.join(accounts)} is not this account ({account})"


def _oidc(st: dict[str, Any]) -> bool:
    fed = (st.get("Principal") or {}).get("Federated") if isinstance(st.get("Principal"), dict) else None
    return any(GITHUB_OIDC in str(f) for f in as_list(fed))


@resource_rule("iam-trust-oidc-audience", "GitHub OIDC trust policies require aud = sts.amazonaws.com.", ROLE)
def trust_oidc_audience(args: Any) -> Iterator[str]:
    for st in filter(_oidc, _trust(args)):
        if "sts.amazonaws.com" not in condition_values(st, f"{GITHUB_OIDC}:aud"):
            yield "GitHub OIDC trust has no aud = sts.amazonaws.com condition"


@resource_rule(
    "iam-trust-oidc-sub-pinned",
    "GitHub OIDC trust policies pin `sub` to this repository (no org-wide or `*` subjects).",
    ROLE,
    severity="critical",
)
def trust_oidc_sub(args: Any) -> Iterator[str]:
    repo = args.get_config().get("repository")
    for st in filter(_oidc, _trust(args)):
        subs = condition_values(st, f"{GITHUB_OIDC}:sub")
        if not subs:
            yield "GitHub OIDC trust has no sub condition (any repository on GitHub could assume it)"
        for sub in subs:
            parts = sub.split(":", 2)
            if len(parts) < 3 or parts[0] != "repo" or "*" in parts[1] or (repo and parts[1].lower() != repo.lower()):
                yield f"sub {sub!r} is not pinned to repo:{repo or '<owner>/<name>'}:..."
