"""What the data gate found: a DataReport per dataset (a record of `mlgitops.evidence`), and the reports of one
`mlgitops data validate` as text for people."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlgitops.evidence.records import DataReport, ExpectationResult

__all__ = ["DataReport", "ExpectationResult", "StarterSuite", "Validation", "render_suite", "render_text"]


class Validation(list[DataReport]):
    """What `validate` returns: a DataReport per dataset, and the `--json` document of them."""

    @property
    def success(self) -> bool:
        return all(r.success for r in self)

    def to_dict(self) -> dict[str, Any]:
        return {"datasets": [r.to_dict() for r in self], "success": self.success}


def render_text(result: Validation) -> str:
    """Per dataset the verdict and counts, then each critical failure and warning with a few unexpected values."""
    lines = []
    for r in result:
        lines.append(
            f"{'PASS' if r.success else 'FAIL'} {r.dataset}: {r.rows} rows, {len(r.results)} expectations, "
            f"{len(r.failures)} critical failures, {len(r.warnings)} warnings (sha256 {r.digest[:12]})"
        )
        for f in r.failures + r.warnings:
            col = f" [{f.column}]" if f.column else ""
            lines.append(
                f"  {f.severity}: {f.expectation}{col}: unexpected {f.unexpected_count} "
                f"({f.unexpected_percent}%) e.g. {f.partial_unexpected_list[:5]} observed {f.observed_value}"
            )
    return "".join(line + "\n" for line in lines)


@dataclass(frozen=True)
class StarterSuite:
    """What `init_suite` wrote: the suite (its own `--json` document) and where."""

    out: Path
    suite: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return self.suite


def render_suite(result: StarterSuite) -> str:
    return (
        f"wrote {result.out} ({len(result.suite['expectations'])} expectations); review ranges, sets and severities\n"
    )
