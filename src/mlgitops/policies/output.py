"""Findings for people (a table), for GitHub code scanning (SARIF 2.1.0) and for the evidence folder (JSON)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlgitops.evidence import Findings, FindingStatus
from mlgitops.policies.registry import Rule, all_rules
from mlgitops.tables import render

SARIF_SCHEMA = "https://raw.githubusercontent.com/oasis-tcs/sarif-spec/master/Schemata/sarif-schema-2.1.0.json"
LEVEL = {"mandatory": "error", "advisory": "warning", "disabled": "none"}


def render_table(findings: Findings) -> str:
    rows = [
        (
            f.policy,
            f.resource,
            f.message if f.status == FindingStatus.VIOLATION else f"[{f.status}] {f.message}",
            f.enforcement,
        )
        for f in findings.findings
    ]
    lines = [f"note: {n}" for n in findings.notes]
    if rows:
        ordered = sorted(rows, key=lambda r: (r[3] != "mandatory", r[0], r[1]))
        lines.append(
            render(("rule", "resource", "enforcement", "message"), [(r, res, enf, msg) for r, res, msg, enf in ordered])
        )
    s = findings.summary
    if findings.cost is not None:
        lines.append(f"estimated cost: ${findings.cost.monthly_usd:,.2f}/month")
    verdict = "FAILED" if findings.blocked else "passed"
    lines.append(
        f"policy check {findings.env}: {verdict} ({s['mandatory']} mandatory, {s['advisory']} advisory, "
        f"{s['unchecked']} cannot be checked before deploy)"
    )
    return "\n".join(lines)


@dataclass(frozen=True)
class PolicyCheck:
    """What `mlgitops policy check` found, and the files it wrote (evidence, SARIF)."""

    findings: Findings
    written: list[Path]

    def to_dict(self) -> dict[str, Any]:
        return {**self.findings.to_dict(), "written": [str(p) for p in self.written]}


def render_policy_check(result: PolicyCheck) -> str:
    return render_table(result.findings) + "\n"


@dataclass(frozen=True)
class Rules:
    """Every rule, for `mlgitops policy list`."""

    rules: list[Rule]

    def to_dict(self) -> list[dict[str, Any]]:
        return [
            {
                "name": r.name,
                "kind": r.kind,
                "module": r.module,
                "enforcement": r.enforcement,
                "severity": r.severity,
                "types": list(r.types),
                "description": r.description,
            }
            for r in self.rules
        ]


def rule_list() -> Rules:
    return Rules(list(all_rules().values()))


def render_rules(result: Rules) -> str:
    """A table of the rules with their kind, default enforcement and description, then how many there are."""
    table = render(
        ("rule", "kind", "enforcement", "description"),
        [(r.name, r.kind, r.enforcement, r.description) for r in result.rules],
    )
    return f"{table}\n{len(result.rules)} rules\n"


def to_sarif(findings: Findings, artifact: str = "mlgitops.yaml") -> dict[str, Any]:
    """A SARIF 2.1.0 log; every result points at `artifact` (the config or program that declares the resource)."""
    rules = all_rules()
    used = sorted({f.policy for f in findings.findings})
    index = {name: i for i, name in enumerate(used)}
    results = []
    for f in findings.findings:
        result: dict[str, Any] = {
            "ruleId": f.policy,
            "ruleIndex": index[f.policy],
            "level": "note" if f.status != FindingStatus.VIOLATION else LEVEL.get(f.enforcement, "warning"),
            "message": {"text": f"{f.resource}: {f.message}"},
            "locations": [
                {
                    "physicalLocation": {"artifactLocation": {"uri": artifact}, "region": {"startLine": 1}},
                    "logicalLocations": [{"fullyQualifiedName": f.resource_urn or "stack", "kind": "resource"}],
                }
            ],
            "properties": {"enforcement": f.enforcement, "status": f.status, "resourceType": f.resource_type or ""},
        }
        results.append(result)
    descriptors = [
        {
            "id": n,
            "name": n,
            "shortDescription": {"text": rules[n].description},
            "defaultConfiguration": {"level": "error" if rules[n].enforcement == "mandatory" else "warning"},
            "properties": {
                "tags": [rules[n].module],
                "security-severity": {"low": "3.0", "medium": "5.0", "high": "7.5", "critical": "9.5"}[
                    rules[n].severity
                ],
            },
        }
        for n in used
    ]
    return {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {"driver": {"name": "mlgitops-policy", "rules": descriptors}},
                "automationDetails": {"id": f"mlgitops-policy/{findings.env}/"},
                "results": results,
            }
        ],
    }
