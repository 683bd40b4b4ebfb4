"""Builder of the CrossGuard `PolicyPack` arguments from the registered rules.

`policies/__main__.py` calls `PolicyPack(**pack_arguments(...))`; the offline engine calls `build_policies(...)` and
feeds the same `pulumi_policy` objects with `ResourceValidationArgs` / `StackValidationArgs`, so a rule cannot tell
`pulumi preview --policy-pack policies/` from `mlgitops policy check`. Settings (environment, allowlists, budget,
exemptions) reach every rule through its policy config, which `--policy-pack-config` can override."""
from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from mlgitops.policies.exemptions import parse as parse_exemptions
from mlgitops.policies.registry import Rule, all_rules

if TYPE_CHECKING:
    from mlgitops.config import Config

PACK_NAME = "mlgitops"

# The policy config every rule receives (CrossGuard validates it against this schema).
SETTINGS_SCHEMA: dict[str, dict[str, Any]] = {
    "env": {"type": "string"},
    "project": {"type": "string"},
    "account_id": {"type": ["string", "null"]},
    "name_suffix": {"type": ["string", "null"]},
    "repository": {"type": ["string", "null"]},
    "instance_types": {"type": "array", "items": {"type": "string"}},
    "max_instances_cap": {"type": "integer"},
    "budget_usd_month": {"type": ["number", "null"]},
    "training": {"type": "array", "items": {"type": "object"}},
    "exemptions": {"type": "array", "items": {"type": "object"}},
    "today": {"type": ["string", "null"]},
}


def settings(config: "Config", today: dt.date | None = None) -> dict[str, Any]:
    """The policy config of one environment, from `mlgitops.yaml` (JSON-serialisable for CrossGuard)."""
    p = config.policies
    return {
        "env": config.env, "project": config.project, "account_id": config.cloud.account_id, "name_suffix": config.cloud.name_suffix,
        "repository": config.github.repository if config.github else None,
        "instance_types": list(p.instance_types), "max_instances_cap": p.max_instances_cap, "budget_usd_month": p.budget_usd_month,
        "training": [{"model": n, "backend": m.compute.backend, "instance_count": m.compute.instance_count,
                      "max_runtime_minutes": m.compute.max_runtime_minutes, "spot": m.compute.spot} for n, m in config.models.items()],
        "exemptions": [{"rule": e.rule, "resource": e.resource, "reason": e.reason, "expires": e.expires.isoformat()} for e in p.exemptions],
        "today": (today or dt.date.today()).isoformat(),
    }


def enforcement(rule: Rule, level: str, overrides: dict[str, str]) -> str:
    """Effective enforcement: a pinned rule is always mandatory; else a per-rule override wins; promotion rules keep
    their own level; else `disabled` env-wide disables; advisory-only rules stay advisory; every other infrastructure
    rule takes the environment's level."""
    if rule.pinned:
        return "mandatory"
    if rule.name in overrides:
        return overrides[rule.name]
    if rule.kind == "promotion":  # promotion is decided by its rules in every environment
        return rule.enforcement
    if level == "disabled" or rule.enforcement == "advisory":
        return "disabled" if level == "disabled" else "advisory"
    return level


def enforcements(config: "Config") -> dict[str, str]:
    return {name: enforcement(r, config.policies.enforcement, dict(config.policies.overrides)) for name, r in all_rules().items()}


def _exempt(rule: str, cfg: Any, urn: str | None, name: str | None) -> bool:
    today = dt.date.fromisoformat(str(cfg["today"])) if cfg.get("today") else dt.date.today()
    return any(e.covers(rule, urn, name) and not e.expired(today) for e in parse_exemptions(cfg.get("exemptions") or []))


def validator(rule: Rule) -> Callable[[Any, Callable[..., None]], None]:
    """The `validate` callback of a rule: type filter, the rule's messages, unexpired exemptions dropped.
    `UnknownValueError` propagates (CrossGuard and the offline engine both report it as unchecked)."""
    if rule.kind == "resource":
        def validate(args: Any, report_violation: Callable[..., None]) -> None:
            if not rule.applies_to(args.resource_type):
                return
            for msg in list(rule.check(args)):
                if rule.pinned or not _exempt(rule.name, args.get_config(), args.urn, args.name):
                    report_violation(msg, None)
    else:
        def validate(args: Any, report_violation: Callable[..., None]) -> None:
            # Lazily: the violations a stack rule finds before it meets an unknown value are reported, then the
            # UnknownValueError it raises last marks the rest unchecked (see rules_s3.per_bucket).
            for urn, msg in rule.check(args):
                name = urn.rsplit("::", 1)[-1] if urn else None
                if not _exempt(rule.name, args.get_config(), urn, name):
                    report_violation(msg, urn)
    validate.__name__ = f"validate_{rule.name.replace('-', '_')}"
    return validate


def build_policies(levels: dict[str, str] | None = None) -> list[Any]:
    """One `pulumi_policy` policy per resource/stack rule (promotion rules are not about infrastructure)."""
    from pulumi_policy import EnforcementLevel, PolicyConfigSchema, ResourceValidationPolicy, Severity, StackValidationPolicy

    out = []
    for rule in all_rules().values():
        if rule.kind == "promotion":
            continue
        level = EnforcementLevel((levels or {}).get(rule.name, rule.enforcement))
        common = dict(name=rule.name, description=rule.description, enforcement_level=level, severity=Severity(rule.severity),
                      config_schema=PolicyConfigSchema(SETTINGS_SCHEMA), tags=[rule.module])
        cls = ResourceValidationPolicy if rule.kind == "resource" else StackValidationPolicy
        out.append(cls(validate=validator(rule), **common))
    return out


def pack_arguments(config: "Config | None" = None, today: dt.date | None = None) -> dict[str, Any]:
    """Keyword arguments of `pulumi_policy.PolicyPack` for one environment's config (None: defaults, advisory)."""
    from pulumi_policy import EnforcementLevel

    levels = enforcements(config) if config is not None else None
    cfg = settings(config, today) if config is not None else {"env": "local", "project": "", "instance_types": [], "max_instances_cap": 10,
                                                               "training": [], "exemptions": []}
    policies = build_policies(levels)
    # Each policy carries its own level; the pack-wide level only applies to policies without one (none).
    initial = {p.name: {"enforcementLevel": p.enforcement_level, **cfg} for p in policies}
    return {"name": PACK_NAME, "policies": policies, "initial_config": initial,
            "enforcement_level": EnforcementLevel.ADVISORY,
            "description": "mlgitops: infrastructure rules for ML projects (S3, SageMaker, IAM, KMS, ECR, Logs, Batch, tags, cost)"}


def pack_from_environment() -> dict[str, Any]:
    """What `policies/__main__.py` uses: `MLGITOPS_PROJECT` (default: the current directory if it has mlgitops.yaml)
    and `MLGITOPS_ENV` (default: the Pulumi stack name, else local) select the settings."""
    from mlgitops.config import load

    project = os.environ.get("MLGITOPS_PROJECT")
    root = Path(project) if project else Path.cwd()
    env = os.environ.get("MLGITOPS_ENV") or os.environ.get("PULUMI_STACK") or "local"
    if not (root / "mlgitops.yaml").is_file():
        return pack_arguments(None)
    return pack_arguments(load(root, env))
