"""One registry of rules. A rule is a plain function registered once with its name, description, default
enforcement and the resource types it applies to; the CrossGuard pack and the offline engine both read it.

Kinds:
- "resource": `check(args: pulumi_policy.ResourceValidationArgs) -> Iterable[str]` (violation messages).
- "stack": `check(args: pulumi_policy.StackValidationArgs) -> Iterable[tuple[urn | None, str]]`.
- "promotion": `check(evidence: Evidence) -> Iterable[tuple[resource, str]]` over a pipeline run's evidence.
- "change": `check(changes: PlanChanges, plan: Plan) -> Iterable[tuple[urn, str]]` over what a merge would change,
  against the base branch's plan (CrossGuard sees one state only, so these run offline alone).
Rule settings (env, allowlists, caps, budget) come from `args.get_config()` in both places.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

Kind = Literal["resource", "stack", "promotion", "change"]
ENFORCEMENTS = ("advisory", "mandatory", "disabled")
SEVERITIES = ("low", "medium", "high", "critical")
RULE_MODULES = (
    "rules_s3",
    "rules_sagemaker",
    "rules_iam",
    "rules_kms",
    "rules_ecr",
    "rules_logs",
    "rules_batch",
    "rules_tags",
    "rules_iam_lint",
    "rules_pack",
    "rules_aws_api",
    "cost",
    "promotion",
    "exemptions",
)


@dataclass(frozen=True)
class Rule:
    name: str
    description: str
    kind: Kind
    check: Callable[..., Any] = field(compare=False, repr=False)
    types: tuple[str, ...] = ()
    enforcement: str = "mandatory"
    severity: str = "high"
    module: str = ""
    pinned: bool = False
    """Mandatory in every environment, whatever the overrides and exemptions say (AWS refuses the value anyway)."""

    def applies_to(self, resource_type: str) -> bool:
        return not self.types or resource_type in self.types


RULES: dict[str, Rule] = {}


def _register(
    kind: Kind,
    name: str,
    description: str,
    types: tuple[str, ...] | list[str] = (),
    enforcement: str = "mandatory",
    severity: str = "high",
    pinned: bool = False,
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    if enforcement not in ENFORCEMENTS or severity not in SEVERITIES:
        raise ValueError(f"rule {name}: bad enforcement {enforcement!r} or severity {severity!r}")

    def deco(fn: Callable[..., Any]) -> Callable[..., Any]:
        if name in RULES and RULES[name].check is not fn:
            raise ValueError(f"rule {name} registered twice")
        RULES[name] = Rule(
            name, description, kind, fn, tuple(types), enforcement, severity, fn.__module__.rsplit(".", 1)[-1], pinned
        )
        return fn

    return deco


def resource_rule(
    name: str, description: str, types: tuple[str, ...] | list[str], **kw: Any
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    return _register("resource", name, description, types, **kw)


def stack_rule(
    name: str, description: str, types: tuple[str, ...] | list[str] = (), **kw: Any
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    return _register("stack", name, description, types, **kw)


def promotion_rule(name: str, description: str, **kw: Any) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    return _register("promotion", name, description, (), **kw)


def change_rule(
    name: str, description: str, types: tuple[str, ...] | list[str] = (), **kw: Any
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    return _register("change", name, description, types, **kw)


def all_rules() -> dict[str, Rule]:
    """Every registered rule, by name (importing the rule modules registers them)."""
    for mod in RULE_MODULES:
        importlib.import_module(f"mlgitops.policies.{mod}")
    return dict(sorted(RULES.items()))
