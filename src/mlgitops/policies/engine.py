"""The offline engine: Plan (+ evidence) -> Findings, through the same `pulumi_policy` objects CrossGuard runs.

Each planned resource becomes a `ResourceValidationArgs` (and a `PolicyResource` for stack policies) whose props
are wrapped in pulumi_policy's own unknown-checking proxy: a value unknown at plan time raises `UnknownValueError`
in the rule exactly as during `pulumi preview`, and becomes an "unchecked" finding here, never a pass."""
from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlgitops.policies.cost import CostEstimate, estimate
from mlgitops.policies.exemptions import EXPIRED_RULE, parse as parse_exemptions
from mlgitops.policies.registry import all_rules

if TYPE_CHECKING:
    from mlgitops.config import Config

PLAN_UNKNOWN = "<unknown>"


@dataclass
class Finding:
    policy: str
    severity: str
    enforcement: str
    resource_urn: str | None
    resource_type: str | None
    message: str
    status: str = "violation"  # or "unchecked": the value is unknown until deploy

    @property
    def resource(self) -> str:
        return self.resource_urn.rsplit("::", 1)[-1] if self.resource_urn else "stack"


@dataclass
class Findings:
    env: str
    findings: list[Finding] = field(default_factory=list)
    cost: CostEstimate | None = None
    notes: list[str] = field(default_factory=list)  # how the check ran (e.g. default settings outside a project)

    def summary(self) -> dict[str, int]:
        out = {"mandatory": 0, "advisory": 0, "unchecked": 0}
        for f in self.findings:
            key = "unchecked" if f.status == "unchecked" else f.enforcement
            out[key] = out.get(key, 0) + 1
        return out

    @property
    def blocked(self) -> bool:
        """A mandatory rule is violated: the gate says no."""
        return any(f.enforcement == "mandatory" and f.status == "violation" for f in self.findings)

    def to_dict(self) -> dict[str, Any]:
        doc: dict[str, Any] = {"env": self.env, "findings": [asdict(f) for f in self.findings], "summary": self.summary(),
                               "passed": not self.blocked}
        if self.cost is not None:
            doc["cost"] = self.cost.to_dict()
        if self.notes:
            doc["notes"] = list(self.notes)
        return doc


def _sentinel(value: Any) -> Any:
    """Plan JSON marks unknowns as "<unknown>"; pulumi_policy's proxy recognises its own sentinel."""
    from pulumi_policy.proxy import UNKNOWN_STRING_VALUE

    if value == PLAN_UNKNOWN:
        return UNKNOWN_STRING_VALUE
    if isinstance(value, dict):
        return {k: _sentinel(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_sentinel(v) for v in value]
    return value


def _opts(parent: str | None) -> Any:
    from pulumi_policy import PolicyCustomTimeouts, PolicyResourceOptions

    return PolicyResourceOptions(protect=False, ignore_changes=[], delete_before_replace=None, aliases=[],
                                 custom_timeouts=PolicyCustomTimeouts(0, 0, 0), additional_secret_outputs=[], parent=parent)


def _policy_resources(resources: list[Any]) -> list[Any]:
    """Plan resources as pulumi_policy `PolicyResource`s with parents and dependencies linked."""
    from pulumi_policy import PolicyResource
    from pulumi_policy.proxy import unknown_checking_proxy

    out: dict[str, Any] = {}
    for r in resources:
        out[r.urn] = PolicyResource(r.type, unknown_checking_proxy(_sentinel(r.inputs)), r.urn, r.name, _opts(r.parent), None, None, [], {})
    for r in resources:
        pr = out[r.urn]
        pr.parent = out.get(r.parent) if r.parent else None
        pr.dependencies = [out[d] for d in r.dependencies if d in out]
    return list(out.values())


def check_plan(plan: Any, cfg: dict[str, Any], levels: dict[str, str]) -> list[Finding]:
    """Run every enabled resource and stack policy over a Plan (`mlgitops.plan.Plan`)."""
    from pulumi_policy import ResourceValidationArgs, ResourceValidationPolicy, StackValidationArgs
    from pulumi_policy.proxy import UnknownValueError, unknown_checking_proxy

    from mlgitops.policies.pack import build_policies

    rules = all_rules()
    resources = [r for r in plan.resources if not r.type.startswith("pulumi:")]
    findings: list[Finding] = []
    types = {r.urn: r.type for r in resources}
    for policy in build_policies(levels):
        level = levels.get(policy.name, rules[policy.name].enforcement)
        if level == "disabled":
            continue
        rule = rules[policy.name]

        def add(msg: str, urn: str | None, status: str = "violation", rule: Any = rule, level: str = level) -> None:
            findings.append(Finding(rule.name, rule.severity, level, urn, types.get(urn) if urn else None, msg, status))

        if isinstance(policy, ResourceValidationPolicy):
            for r in resources:
                if not rule.applies_to(r.type):
                    continue
                args = ResourceValidationArgs(r.type, unknown_checking_proxy(_sentinel(r.inputs)), r.urn, r.name, _opts(r.parent), None, cfg)
                try:
                    policy.validate(args, lambda msg, _urn=None, urn=r.urn: add(msg, urn))
                except UnknownValueError as e:
                    add(f"cannot be checked before deploy: {e.message}", r.urn, "unchecked")
        else:
            args = StackValidationArgs(_policy_resources(resources), cfg)
            try:
                policy.validate(args, lambda msg, urn=None: add(msg, urn))
            except UnknownValueError as e:
                add(f"cannot be checked before deploy: {e.message}", None, "unchecked")
    return findings


def check_evidence(evidence: Any, cfg: dict[str, Any], levels: dict[str, str]) -> list[Finding]:
    """Run the promotion rules over a run's evidence, with the same enforcement and exemptions."""
    today = dt.date.fromisoformat(cfg["today"]) if cfg.get("today") else dt.date.today()
    exemptions = parse_exemptions(cfg.get("exemptions") or [])
    findings = []
    for rule in all_rules().values():
        level = levels.get(rule.name, rule.enforcement)
        if rule.kind != "promotion" or level == "disabled":
            continue
        for resource, msg in rule.check(evidence):
            if not any(e.covers(rule.name, resource, resource) and not e.expired(today) for e in exemptions):
                findings.append(Finding(rule.name, rule.severity, level, resource, "mlgitops:evidence", msg))
    return findings


def check(config: "Config", plan: Any | None = None, evidence_dir: Path | None = None, staging_state: dict[str, Any] | None = None,
          today: dt.date | None = None) -> Findings:
    """All findings for one environment: infrastructure rules over `plan`, promotion rules over `evidence_dir`."""
    from mlgitops.policies.pack import enforcements, settings
    from mlgitops.policies.promotion import load_evidence

    cfg, levels = settings(config, today), enforcements(config)
    result = Findings(env=config.env)
    if plan is not None:
        result.findings += check_plan(plan, cfg, levels)
        result.cost = estimate(_policy_resources([r for r in plan.resources if not r.type.startswith("pulumi:")]))
    else:  # exemption expiry is about the config, so it is checked even without a plan
        from mlgitops.policies.exemptions import expired_messages

        level = levels.get(EXPIRED_RULE, "mandatory")
        if level != "disabled":
            result.findings += [Finding(EXPIRED_RULE, "medium", level, None, None, m)
                                for m in expired_messages(parse_exemptions(cfg["exemptions"]), today or dt.date.today())]
    if evidence_dir is not None:
        result.findings += check_evidence(load_evidence(evidence_dir, config, staging_state), cfg, levels)
    return result
