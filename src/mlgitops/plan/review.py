"""What `mlgitops plan` does: plan a stack offline, compare it with an older plan, list what AWS would refuse."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlgitops.plan.diff import Change, diff
from mlgitops.plan.model import PLAN_FIX, Plan
from mlgitops.plan.render import render_diff, render_mermaid, render_table

if TYPE_CHECKING:
    from mlgitops.aws_api import PlanViolation


@dataclass(frozen=True)
class Review:
    """A plan with the files it was written to, the values AWS would refuse, and its changes from an older plan."""

    plan: Plan
    written: list[Path]
    warnings: list[PlanViolation]
    changes: list[Change] | None = None  # None: no older plan to compare with

    def to_dict(self) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "plan": self.plan.to_dict(),
            "written": [str(p) for p in self.written],
            "warnings": [w.to_dict() for w in self.warnings],
        }
        if self.changes is not None:
            doc["changes"] = [c.to_dict() for c in self.changes]
        return doc


def review(
    project_dir: Path, env: str, program: Path | None = None, out: Path | None = None, against: Path | None = None
) -> Review:
    """Plan `env` (see `plan_directory`), diff it against the plan JSON `against`, and check its values against AWS's
    models: refusals are warnings here, so the plan can still be reviewed; `policy check` fails on them."""
    from mlgitops.aws_api import check_plan
    from mlgitops.plan import plan_directory

    old = Plan.load(against, PLAN_FIX) if against is not None else None  # read first: a bad one plans nothing
    plan, written = plan_directory(project_dir, env, program, out)
    return Review(plan, written, check_plan(plan), diff(old, plan) if old is not None else None)


def render_text(result: Review, mermaid: bool = False) -> str:
    """The resource table, then the changes and the mermaid diagram when asked for."""
    parts = [render_table(result.plan)]
    if result.changes is not None:
        parts.append(render_diff(result.changes))
    if mermaid:
        parts.append(render_mermaid(result.plan))
    return "\n".join(parts)


def notes(result: Review) -> list[str]:
    """For stderr: where the plan was written and what AWS would refuse."""
    lines = [f"plan written to {path}" for path in result.written]
    lines += [f"warning: {w.family}: {w.resource}: {w.message}" for w in result.warnings]
    if result.warnings:
        lines.append(
            f"warning: AWS would refuse {len(result.warnings)} value(s) above; `mlgitops policy check` fails on them"
        )
    return lines
