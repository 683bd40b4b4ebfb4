"""DataReport: what the data gate found for one dataset, as written to evidence/data/<dataset>.json."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any


@dataclass
class ExpectationResult:
    """One expectation's outcome; severity decides whether a failure blocks (critical) or is reported."""

    expectation: str
    column: str | None
    severity: str
    success: bool
    observed_value: Any = None
    unexpected_count: int | None = None
    unexpected_percent: float | None = None
    partial_unexpected_list: list = field(default_factory=list)


@dataclass
class DataReport:
    dataset: str
    path: str
    digest: str
    rows: int
    columns: list[str]
    engine: str
    success: bool
    results: list[ExpectationResult]

    @property
    def failures(self) -> list[ExpectationResult]:
        return [r for r in self.results if not r.success and r.severity == "critical"]

    @property
    def warnings(self) -> list[ExpectationResult]:
        return [r for r in self.results if not r.success and r.severity != "critical"]

    @classmethod
    def from_dict(cls, doc: dict[str, Any]) -> DataReport:
        """The inverse of `to_dict` (the pipeline reads `data validate --json`)."""
        names = {f.name for f in fields(cls)} - {"results"}
        return cls(**{k: doc[k] for k in names}, results=[ExpectationResult(**r) for r in doc["results"]])

    def to_dict(self) -> dict[str, Any]:
        def one(r: ExpectationResult) -> dict[str, Any]:
            return asdict(r)

        return {
            "dataset": self.dataset, "path": self.path, "digest": self.digest, "rows": self.rows,
            "columns": self.columns, "engine": self.engine, "success": self.success,
            "failures": [one(r) for r in self.failures], "warnings": [one(r) for r in self.warnings],
            "results": [one(r) for r in self.results],
        }
