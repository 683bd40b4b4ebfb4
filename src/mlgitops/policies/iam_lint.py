"""Lint one IAM policy document against AWS's IAM reference (`mlgitops.iamdb`): what IAM would accept but never
match. A policy naming `s3:GetObjects` or `iam:PassedToService` on `iam:GetRole` saves without error and then
silently grants nothing, so these are caught before deploy."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from mlgitops import iamdb


class DocKind(StrEnum):
    """Where a document sits, which decides its required elements."""

    IDENTITY = "identity"  # attached to a role, user or group: no Principal, a Resource
    TRUST = "trust"  # a role's assume-role policy: a Principal, no Resource
    RESOURCE = "resource"  # bucket, key, repository policies: a Principal, the resource implied or named


class LintKind(StrEnum):
    MALFORMED = "malformed"
    UNKNOWN_ACTION = "unknown-action"
    CONDITION_KEY = "condition-key"
    RESOURCE_ARN = "resource-arn"


@dataclass(frozen=True)
class Problem:
    kind: LintKind
    message: str


VERSIONS = ("2012-10-17", "2008-10-17")
TOP_KEYS = {"Version", "Id", "Statement"}
STATEMENT_KEYS = {
    "Sid",
    "Effect",
    "Principal",
    "NotPrincipal",
    "Action",
    "NotAction",
    "Resource",
    "NotResource",
    "Condition",
}


def _strings(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def parse(value: Any) -> tuple[dict[str, Any] | None, list[Problem]]:
    """A document given as JSON text or a mapping; a problem instead when it is not a JSON object."""
    if isinstance(value, Mapping):
        return dict(value), []
    if not isinstance(value, str):
        return None, [Problem(LintKind.MALFORMED, f"policy is a {type(value).__name__}, not a JSON document")]
    try:
        doc = json.loads(value)
    except ValueError as e:
        return None, [Problem(LintKind.MALFORMED, f"policy is not valid JSON: {e}")]
    if not isinstance(doc, dict):
        return None, [Problem(LintKind.MALFORMED, "policy is not a JSON object")]
    return doc, []


def _structure(doc: dict[str, Any], kind: DocKind) -> list[Problem]:
    out = []
    bad = lambda msg: out.append(Problem(LintKind.MALFORMED, msg))  # noqa: E731
    if unknown := sorted(set(doc) - TOP_KEYS):
        bad(f"unknown top-level element {', '.join(unknown)} (allowed: Version, Id, Statement)")
    if doc.get("Version") not in VERSIONS:
        bad(f'Version is {doc.get("Version")!r}; use "2012-10-17" (without it, policy variables are not expanded)')
    sts = doc.get("Statement")
    if not sts:
        bad("no Statement")
    for i, st in enumerate(_strings(sts) if sts else []):
        where = f"statement {st.get('Sid') or i}" if isinstance(st, dict) else f"statement {i}"
        if not isinstance(st, dict):
            bad(f"{where} is not an object")
            continue
        if unknown := sorted(set(st) - STATEMENT_KEYS):
            bad(f"{where}: unknown element {', '.join(unknown)}")
        if st.get("Effect") not in ("Allow", "Deny"):
            bad(f"{where}: Effect is {st.get('Effect')!r}; use Allow or Deny")
        if ("Action" in st) == ("NotAction" in st):
            bad(f"{where}: needs exactly one of Action or NotAction")
        has_principal = "Principal" in st or "NotPrincipal" in st
        if kind is DocKind.IDENTITY and has_principal:
            bad(f"{where}: an identity policy has no Principal (it applies to whom it is attached to)")
        if kind is not DocKind.IDENTITY and not has_principal:
            bad(f"{where}: a {kind} policy needs a Principal")
        if kind is DocKind.IDENTITY and ("Resource" in st) == ("NotResource" in st):
            bad(f"{where}: needs exactly one of Resource or NotResource")
        for field in ("Action", "NotAction", "Resource", "NotResource"):
            if field in st and not all(isinstance(v, str) and v for v in _strings(st[field])):
                bad(f"{where}: {field} holds something other than non-empty strings")
        for field in ("Action", "NotAction"):
            for a in _strings(st.get(field) or []):
                if isinstance(a, str) and a != "*" and (a.count(":") != 1 or not all(a.split(":"))):
                    bad(f"{where}: action {a!r} is not of the form service:Action")
        cond = st.get("Condition")
        if cond is not None and not (isinstance(cond, dict) and all(isinstance(v, dict) for v in cond.values())):
            bad(f"{where}: Condition must map operators to {{key: value}} objects")
    return out


def _actions(st: dict[str, Any]) -> list[str]:
    return [a for a in _strings(st.get("Action") or []) if isinstance(a, str) and a.count(":") == 1]


def _unknown_actions(where: str, st: dict[str, Any]) -> list[Problem]:
    out = []
    for field in ("Action", "NotAction"):
        for a in _strings(st.get(field) or []):
            if not isinstance(a, str) or a.count(":") != 1:
                continue
            prefix = a.split(":")[0]
            if iamdb.service(prefix) is None:
                out.append(Problem(LintKind.UNKNOWN_ACTION, f"{where}: unknown service prefix {prefix!r} in {a!r}"))
            elif not iamdb.expand(a):
                out.append(Problem(LintKind.UNKNOWN_ACTION, f"{where}: {a!r} names no {prefix} action"))
    return out


def _condition_keys(where: str, st: dict[str, Any]) -> list[Problem]:
    keys = sorted({k for ops in (st.get("Condition") or {}).values() if isinstance(ops, dict) for k in ops})
    out = []
    for a in _actions(st):
        names = iamdb.expand(a)
        if not names:
            continue
        for key in keys:
            # a wildcard action is fine when the key applies to at least one action it names
            if not any(iamdb.condition_key_applies(key, n) for n in names):
                out.append(
                    Problem(
                        LintKind.CONDITION_KEY,
                        f"{where}: condition key {key} does not apply to {a}, so the "
                        f"statement never matches it; move {a} to a statement without it",
                    )
                )
    return out


def _resource_arns(where: str, st: dict[str, Any]) -> list[Problem]:
    arns = [r for r in _strings(st.get("Resource") or []) if isinstance(r, str)]
    if not arns or "*" in arns:
        return []
    out = []
    for a in _actions(st):
        infos = [i for i in map(iamdb.action, iamdb.expand(a)) if i is not None]
        if not infos:
            continue
        if all(not i.arns for i in infos):
            out.append(
                Problem(
                    LintKind.RESOURCE_ARN, f'{where}: {a} takes only Resource "*"; {", ".join(arns)} never matches it'
                )
            )
        elif not any(iamdb.arn_matches(arn, t) for i in infos for t in i.arns for arn in arns):
            kinds = sorted({t.split(":", 5)[-1] for i in infos for t in i.arns})[:4]
            out.append(
                Problem(
                    LintKind.RESOURCE_ARN,
                    f"{where}: no resource of {', '.join(arns)} is one {a} acts on (e.g. {', '.join(kinds)})",
                )
            )
    return out


def lint(value: Any, kind: DocKind) -> list[Problem]:
    """Every problem of one policy document (JSON text or mapping)."""
    doc, problems = parse(value)
    if doc is None:
        return problems
    problems = _structure(doc, kind)
    for i, st in enumerate(_strings(doc.get("Statement") or [])):
        if isinstance(st, dict):
            where = f"statement {st.get('Sid') or i}"
            problems += _unknown_actions(where, st) + _condition_keys(where, st) + _resource_arns(where, st)
    return problems
