"""KMS rules: keys rotate, key policies name who may use them, deletion is not instant."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from mlgitops.policies._util import conditions, document, principals, statements
from mlgitops.policies.registry import resource_rule

KEY = ("aws:kms/key:Key",)


@resource_rule("kms-rotation", "Customer KMS keys have automatic rotation enabled.", KEY)
def rotation(args: Any) -> Iterator[str]:
    if (
        args.props.get("keyUsage", "ENCRYPT_DECRYPT") == "ENCRYPT_DECRYPT"
        and args.props.get("customerMasterKeySpec", "SYMMETRIC_DEFAULT") == "SYMMETRIC_DEFAULT"
        and args.props.get("enableKeyRotation") is not True
    ):
        yield "enableKeyRotation is not true"


@resource_rule(
    "kms-policy-no-wildcard-principal",
    "A key policy allows the `*` principal only under conditions.",
    KEY,
    severity="critical",
)
def policy_principal(args: Any) -> Iterator[str]:
    for st in statements(document(args.props.get("policy"))):
        if st.get("Effect") == "Allow" and "*" in principals(st) and not conditions(st):
            yield f"key policy statement {st.get('Sid') or '?'} allows principal '*' without a condition"


@resource_rule("kms-deletion-window", "KMS keys have a deletion window of at least 7 days.", KEY, severity="medium")
def deletion_window(args: Any) -> Iterator[str]:
    days = args.props.get("deletionWindowInDays")
    if days is not None and int(days) < 7:
        yield f"deletionWindowInDays is {days}; use 7 to 30"
