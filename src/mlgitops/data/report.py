"""DataReport: what the data gate found for one dataset (a record of `mlgitops.evidence`)."""
from mlgitops.evidence.records import DataReport, ExpectationResult

__all__ = ["DataReport", "ExpectationResult"]
