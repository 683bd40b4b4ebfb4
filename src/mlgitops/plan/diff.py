"""Diff two plans: what a merge would create, update (which input paths), replace or delete."""

from __future__ import annotations

from typing import Any

from mlgitops.evidence.records import Change, ChangeAction, Plan

# Types whose every input change forces a replacement (SageMaker configs are immutable), and inputs
# that force replacement on any type (physical names).
REPLACE_ON_ANY_CHANGE = {"aws:sagemaker/endpointConfiguration:EndpointConfiguration", "aws:sagemaker/model:Model"}
REPLACE_INPUTS = {"name", "bucket", "trackingServerName", "url"}


def changed_paths(old: Any, new: Any, prefix: str = "") -> list[str]:
    """Dotted paths (`a.b[0].c`) where two input trees differ."""
    if isinstance(old, dict) and isinstance(new, dict):
        out: list[str] = []
        for key in sorted(set(old) | set(new)):
            path = f"{prefix}.{key}" if prefix else str(key)
            if key not in old or key not in new:
                out.append(path)
            else:
                out += changed_paths(old[key], new[key], path)
        return out
    if isinstance(old, list) and isinstance(new, list) and len(old) == len(new):
        return [
            p for i, (a, b) in enumerate(zip(old, new, strict=False)) for p in changed_paths(a, b, f"{prefix}[{i}]")
        ]
    return [] if old == new else [prefix or "(value)"]


def diff(old: Plan, new: Plan) -> list[Change]:
    """Changes from `old` to `new`, keyed by URN, in the new plan's order then deletions."""
    before = {r.urn: r for r in old.resources}
    after = {r.urn: r for r in new.resources}
    changes = []
    for urn, r in after.items():
        if urn not in before:
            changes.append(Change(action=ChangeAction.CREATE, urn=urn, type=r.type, name=r.name))
            continue
        paths = changed_paths(before[urn].inputs, r.inputs)
        if paths:
            forces = r.type in REPLACE_ON_ANY_CHANGE or any(
                p.split(".")[0].split("[")[0] in REPLACE_INPUTS for p in paths
            )
            changes.append(
                Change(
                    action=ChangeAction.REPLACE if forces else ChangeAction.UPDATE,
                    urn=urn,
                    type=r.type,
                    name=r.name,
                    paths=paths,
                )
            )
    changes += [
        Change(action=ChangeAction.DELETE, urn=urn, type=r.type, name=r.name)
        for urn, r in before.items()
        if urn not in after
    ]
    return changes
