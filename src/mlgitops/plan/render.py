"""Plans for humans: a markdown table grouped by component, a diff table, a mermaid diagram for PR comments."""

from __future__ import annotations

import re

from mlgitops.plan.diff import Change
from mlgitops.plan.model import Plan, Resource

SYMBOL = {"create": "+", "update": "~", "replace": "+-", "delete": "-"}


def _component(plan: Plan, r: Resource, parents: set[str]) -> str:
    """The top-level component a resource belongs to; plain top-level resources group under (stack)."""
    by_urn = {x.urn: x for x in plan.resources}
    while r.parent and r.parent in by_urn:
        r = by_urn[r.parent]
    return f"{r.name} ({r.type})" if r.urn in parents else "(stack)"


def render_table(plan: Plan) -> str:
    """Markdown: one section per top-level component, one row per resource."""
    groups: dict[str, list[Resource]] = {}
    parents = {r.parent for r in plan.resources if r.parent}
    for r in plan.resources:
        groups.setdefault(_component(plan, r, parents), []).append(r)
    lines = [f"### Plan: {plan.project} / {plan.stack} ({len(plan.resources)} resources)", ""]
    for group, members in groups.items():
        lines += [f"**{group}**", "", "| type | name |", "|---|---|"]
        lines += [f"| `{r.type}` | {r.name} |" for r in members]
        lines.append("")
    for note in plan.notes:
        lines.append(f"> {note}")
    if plan.outputs:
        lines += ["", "| output | value |", "|---|---|"]
        lines += [f"| {k} | `{v}` |" for k, v in sorted(plan.outputs.items())]
    return "\n".join(lines).rstrip() + "\n"


def render_diff(changes: list[Change]) -> str:
    """Markdown: one row per change with the changed input paths."""
    if not changes:
        return "No changes.\n"
    counts = {a: sum(c.action == a for c in changes) for a in SYMBOL}
    head = ", ".join(f"{n} to {a}" for a, n in counts.items() if n)
    lines = [f"### Changes: {head}", "", "| | action | type | name | changed inputs |", "|---|---|---|---|---|"]
    for c in changes:
        lines.append(
            f"| `{SYMBOL[c.action]}` | {c.action} | `{c.type}` | {c.name} | {', '.join(f'`{p}`' for p in c.paths)} |"
        )
    return "\n".join(lines) + "\n"


def render_mermaid(plan: Plan) -> str:
    """A ```mermaid flowchart: components as subgraphs holding their resources, edges for dependencies."""
    children: dict[str | None, list[Resource]] = {}
    for r in plan.resources:
        children.setdefault(r.parent, []).append(r)
    parents = {r.parent for r in plan.resources if r.parent}
    ids = {r.urn: f"r{i}" for i, r in enumerate(plan.resources)}
    lines = ["```mermaid", "flowchart LR"]

    def emit(r: Resource, depth: int) -> None:
        pad = "  " * depth
        label = re.sub(r'["<>]', "", f"{r.name}") + f"<br/><small>{r.type.split(':')[-1]}</small>"
        if r.urn in parents:
            lines.append(f'{pad}subgraph {ids[r.urn]}["{label}"]')
            for child in children.get(r.urn, []):
                emit(child, depth + 1)
            lines.append(f"{pad}end")
        else:
            lines.append(f'{pad}{ids[r.urn]}["{label}"]')

    for r in children.get(None, []):
        emit(r, 1)
    known = {r.urn for r in plan.resources}
    for r in plan.resources:
        for dep in r.dependencies:
            if dep in known and dep != r.parent:
                lines.append(f"  {ids[r.urn]} --> {ids[dep]}")
    lines.append("```")
    return "\n".join(lines) + "\n"
