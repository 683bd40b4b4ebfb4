"""The offline engine: Plan (+ evidence) -> Findings, through the same `pulumi_policy` objects CrossGuard runs.

Each planned resource becomes a `ResourceValidationArgs` (and a `PolicyResource` for stack policies) whose props
are wrapped in pulumi_policy's own unknown-checking proxy: a value unknown at plan time raises `UnknownValueError`
in the rule exactly as during `pulumi preview`, and becomes an "unchecked" finding here, never a pass."""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from mlgitops.evidence import Finding, Findings, FindingStatus, Plan, PlanChanges, Run
from mlgitops.evidence.records import replace_unknowns
from mlgitops.policies.cost import estimate
from mlgitops.policies.exemptions import EXPIRED_RULE
from mlgitops.policies.exemptions import parse as parse_exemptions
from mlgitops.policies.registry import all_rules

if TYPE_CHECKING:
    from mlgitops.config import Project


def _sentinel(value: Any) -> Any:
    """Plan unknowns as pulumi_policy's own sentinel, which its proxy recognises."""
    from pulumi_policy.proxy import UNKNOWN_STRING_VALUE

    return replace_unknowns(value, UNKNOWN_STRING_VALUE)


def _opts(parent: str | None) -> Any:
    from pulumi_policy import PolicyCustomTimeouts, PolicyResourceOptions

    return PolicyResourceOptions(
        protect=False,
        ignore_changes=[],
        delete_before_replace=None,
        aliases=[],
        custom_timeouts=PolicyCustomTimeouts(0, 0, 0),
        additional_secret_outputs=[],
        parent=parent,
    )


def _policy_resources(resources: list[Any]) -> list[Any]:
    """Plan resources as pulumi_policy `PolicyResource`s with parents and dependencies linked."""
    from pulumi_policy import PolicyResource
    from pulumi_policy.proxy import unknown_checking_proxy

    out: dict[str, Any] = {}
    for r in resources:
        out[r.urn] = PolicyResource(
            r.type, unknown_checking_proxy(_sentinel(r.inputs)), r.urn, r.name, _opts(r.parent), None, None, [], {}
        )
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

        def add(
            msg: str,
            urn: str | None,
            status: FindingStatus = FindingStatus.VIOLATION,
            rule: Any = rule,
            level: str = level,
        ) -> None:
            findings.append(
                Finding(
                    policy=rule.name,
                    severity=rule.severity,
                    enforcement=level,
                    resource_urn=urn,
                    resource_type=types.get(urn) if urn else None,
                    message=msg,
                    status=status,
                )
            )

        if isinstance(policy, ResourceValidationPolicy):
            for r in resources:
                if not rule.applies_to(r.type):
                    continue
                args = ResourceValidationArgs(
                    r.type, unknown_checking_proxy(_sentinel(r.inputs)), r.urn, r.name, _opts(r.parent), None, cfg
                )
                try:
                    policy.validate(args, functools.partial(_at, add, r.urn))
                except UnknownValueError as e:
                    add(f"cannot be checked before deploy: {e.message}", r.urn, FindingStatus.UNCHECKED)
        else:
            try:
                policy.validate(StackValidationArgs(_policy_resources(resources), cfg), add)
            except UnknownValueError as e:
                add(f"cannot be checked before deploy: {e.message}", None, FindingStatus.UNCHECKED)
    return findings


def _at(add: Callable[[str, str | None], None], urn: str, msg: str, _urn: str | None = None) -> None:
    """A resource policy's report: the finding is about the resource under validation, whatever URN it names."""
    add(msg, urn)


def _offline(
    kind: str,
    run: Callable[[Any], Iterable[tuple[str | None, str]]],
    resource_type: Callable[[str | None], str | None],
    cfg: dict[str, Any],
    levels: dict[str, str],
) -> list[Finding]:
    """Run the rules of a kind CrossGuard never runs; a finding waived by an unexpired exemption is kept as exempted."""
    today = dt.date.fromisoformat(cfg["today"]) if cfg.get("today") else dt.date.today()
    exemptions = parse_exemptions(cfg.get("exemptions") or [])
    findings = []
    for rule in all_rules().values():
        level = levels.get(rule.name, rule.enforcement)
        if rule.kind != kind or level == "disabled":
            continue
        for resource, msg in run(rule.check):
            exempt = any(e.covers(rule.name, resource, resource) and not e.expired(today) for e in exemptions)
            findings.append(
                Finding(
                    policy=rule.name,
                    severity=rule.severity,
                    enforcement=level,
                    resource_urn=resource,
                    resource_type=resource_type(resource),
                    message=msg,
                    status=FindingStatus.EXEMPTED if exempt else FindingStatus.VIOLATION,
                )
            )
    return findings


def check_evidence(evidence: Any, cfg: dict[str, Any], levels: dict[str, str]) -> list[Finding]:
    """The promotion rules over a run's evidence."""
    from mlgitops.policies.promotion import EVIDENCE_TYPE

    return _offline("promotion", lambda check: check(evidence), lambda _: EVIDENCE_TYPE, cfg, levels)


def check_changes(changes: PlanChanges, plan: Plan, cfg: dict[str, Any], levels: dict[str, str]) -> list[Finding]:
    """The change rules over what a merge would change (`changes`, from the base branch's plan to `plan`)."""
    types = {r.urn: r.type for r in plan.resources}
    return _offline("change", lambda check: check(changes, plan), lambda urn: types.get(urn or ""), cfg, levels)


def check(
    config: Project,
    plan: Any | None = None,
    run: Run | None = None,
    today: dt.date | None = None,
    changes: PlanChanges | None = None,
) -> Findings:
    """All findings for one environment: infrastructure rules over `plan`, change rules over `changes` (from the base
    branch's plan to `plan`), promotion rules over the evidence of `run`."""
    from mlgitops.policies.pack import enforcements, settings
    from mlgitops.policies.promotion import load_evidence

    cfg, levels = settings(config, today), enforcements(config)
    result = Findings(env=config.env)
    if plan is not None:
        result.findings += check_plan(plan, cfg, levels)
        result.cost = estimate(_policy_resources([r for r in plan.resources if not r.type.startswith("pulumi:")]))
        if changes is not None:
            result.findings += check_changes(changes, plan, cfg, levels)
    else:  # exemption expiry is about the config, so it is checked even without a plan
        from mlgitops.policies.exemptions import expired_messages

        level = levels.get(EXPIRED_RULE, "mandatory")
        if level != "disabled":
            result.findings += [
                Finding(policy=EXPIRED_RULE, severity="medium", enforcement=level, message=m)
                for m in expired_messages(parse_exemptions(cfg["exemptions"]), today or dt.date.today())
            ]
    if run is not None:
        evidence = load_evidence(run, config)
        if plan is not None:  # the policy check being made now, not an older one in the run folder
            evidence.findings = Findings(env=config.env, findings=list(result.findings))
        result.findings += check_evidence(evidence, cfg, levels)
    return result
