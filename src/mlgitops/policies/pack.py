"""Builder of the CrossGuard `PolicyPack` arguments from the registered rules.

`policies/__main__.py` calls `PolicyPack(**pack_arguments(...))`; the offline engine calls `build_policies(...)` and
feeds the same `pulumi_policy` objects with `ResourceValidationArgs` / `StackValidationArgs`, so a rule cannot tell
`pulumi preview --policy-pack policies/` from `mlgitops policy check`. Settings (environment, allowlists, budget,
exemptions) reach every rule through its policy config, which `--policy-pack-config` can override."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlgitops.policies.exemptions import parse as parse_exemptions
from mlgitops.policies.registry import Rule, all_rules

if TYPE_CHECKING:
    from mlgitops.config import Project

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
    "settings_note": {"type": ["string", "null"]},
}


def settings(config: Project, today: dt.date | None = None) -> dict[str, Any]:
    """The policy config of one environment, from `mlgitops.yaml` (JSON-serialisable for CrossGuard)."""
    p = config.policies
    return {
        "env": config.env,
        "project": config.project,
        "account_id": config.cloud.account_id,
        "name_suffix": config.cloud.name_suffix,
        "repository": config.github.repository if config.github else None,
        "instance_types": list(p.instance_types),
        "max_instances_cap": p.max_instances_cap,
        "budget_usd_month": p.budget_usd_month,
        "training": [
            {
                "model": n,
                "backend": m.compute.backend,
                "instance_count": m.compute.instance_count,
                "max_runtime_minutes": m.compute.max_runtime_minutes,
                "spot": m.compute.spot,
            }
            for n, m in config.models.items()
        ],
        "exemptions": [
            {"rule": e.rule, "resource": e.resource, "reason": e.reason, "expires": e.expires.isoformat()}
            for e in p.exemptions
        ],
        "today": (today or dt.date.today()).isoformat(),
        "settings_note": None,
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


def enforcements(config: Project) -> dict[str, str]:
    return {
        name: enforcement(r, config.policies.enforcement, dict(config.policies.overrides))
        for name, r in all_rules().items()
    }


def _exempt(rule: str, cfg: Mapping[str, Any], urn: str | None, name: str | None) -> bool:
    today = dt.date.fromisoformat(str(cfg["today"])) if cfg.get("today") else dt.date.today()
    return any(
        e.covers(rule, urn, name) and not e.expired(today) for e in parse_exemptions(cfg.get("exemptions") or [])
    )


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
    """One `pulumi_policy` policy per resource/stack rule (promotion rules are not about infrastructure; change rules
    need the base branch's plan, which a CrossGuard pack never sees)."""
    from pulumi_policy import (
        EnforcementLevel,
        PolicyConfigSchema,
        ResourceValidationPolicy,
        Severity,
        StackValidationPolicy,
    )

    out = []
    for rule in all_rules().values():
        if rule.kind in ("promotion", "change"):
            continue
        level = EnforcementLevel((levels or {}).get(rule.name, rule.enforcement))
        common: dict[str, Any] = dict(
            name=rule.name,
            description=rule.description,
            enforcement_level=level,
            severity=Severity(rule.severity),
            config_schema=PolicyConfigSchema(SETTINGS_SCHEMA),
            tags=[rule.module],
        )
        cls = ResourceValidationPolicy if rule.kind == "resource" else StackValidationPolicy
        out.append(cls(validate=validator(rule), **common))
    return out


def default_settings(note: str) -> dict[str, Any]:
    """The settings of a pack that found no project: those of an empty config in `local`, and why."""
    return {
        "env": "local",
        "project": "",
        "account_id": None,
        "name_suffix": None,
        "repository": None,
        "instance_types": [],
        "max_instances_cap": 10,
        "budget_usd_month": None,
        "training": [],
        "exemptions": [],
        "today": None,
        "settings_note": note,
    }


def pack_arguments(
    config: Project | None = None, today: dt.date | None = None, note: str | None = None
) -> dict[str, Any]:
    """Keyword arguments of `pulumi_policy.PolicyPack` for one environment's config. Without one, the defaults of an
    empty config: every rule advisory (the default `policies.enforcement`) except the pinned `aws-api-*`, and the
    `policy-pack-settings` rule reports `note` (why no project was found) as an advisory diagnostic."""
    from pulumi_policy import EnforcementLevel

    if config is not None:
        levels, cfg = enforcements(config), settings(config, today)
    else:
        levels = {name: enforcement(r, "advisory", {}) for name, r in all_rules().items()}
        cfg = default_settings(note or "no mlgitops.yaml given: the pack runs with defaults")
    policies = build_policies(levels)
    # Each policy carries its own level; the pack-wide level only applies to policies without one (none).
    initial = {p.name: {"enforcementLevel": p.enforcement_level, **cfg} for p in policies}
    return {
        "name": PACK_NAME,
        "policies": policies,
        "initial_config": initial,
        "enforcement_level": EnforcementLevel.ADVISORY,
        "description": "mlgitops: infrastructure rules for ML projects (S3, SageMaker, IAM, KMS, ECR, Logs, Batch, tags, cost)",
    }


def find_project(environ: Mapping[str, str] | None = None) -> tuple[Path | None, str]:
    """Where the pack's settings come from, and how it got there. The Pulumi CLI starts a Python pack with
    `python -m pulumi.policy <engine> .` from the pack's own folder, so the current directory says nothing about the
    project; the user's shell directory arrives only as `$PWD`. Order: `MLGITOPS_PROJECT`, else the first directory
    at or above `$PWD` holding mlgitops.yaml."""
    environ = os.environ if environ is None else environ
    explicit = environ.get("MLGITOPS_PROJECT")
    if explicit:
        root = Path(explicit).expanduser()
        if (root / "mlgitops.yaml").is_file():
            return root, f"MLGITOPS_PROJECT={explicit}"
        return None, f"MLGITOPS_PROJECT={explicit} has no mlgitops.yaml"
    start = Path(environ.get("PWD") or os.getcwd()).expanduser()
    for directory in (start, *start.parents):
        if (directory / "mlgitops.yaml").is_file():
            return directory, f"the first mlgitops.yaml at or above $PWD ({start})"
    return None, f"MLGITOPS_PROJECT is not set and there is no mlgitops.yaml at or above $PWD ({start})"


def pack_from_environment(environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """What `policies/__main__.py` uses: the project from `find_project`, the environment from `MLGITOPS_ENV`, else
    the Pulumi stack's name, else local. Without a project the pack never switches settings silently: it runs
    with `pack_arguments(None)` and its `policy-pack-settings` rule says why, as an advisory diagnostic."""
    from mlgitops.config import load

    environ = os.environ if environ is None else environ
    root, how = find_project(environ)
    if root is None:
        return pack_arguments(
            None,
            note=f"{how}: the pack runs with defaults (environment local, every rule advisory except "
            "aws-api-*, no project settings, exemptions or budget); set MLGITOPS_PROJECT to the "
            "project directory and MLGITOPS_ENV to its environment, or run pulumi from inside the project",
        )
    stack = environ.get("PULUMI_STACK", "").rsplit("/", 1)[-1]
    env = environ.get("MLGITOPS_ENV") or stack or "local"
    return pack_arguments(load(root, env))
