"""Data gate (Great Expectations 1.x): suites in git, one validation per dataset, DataReport evidence."""

from __future__ import annotations

from mlgitops.data.gate import load_frame, validate
from mlgitops.data.init_suite import init_suite
from mlgitops.data.report import DataReport, ExpectationResult, StarterSuite, Validation, render_suite, render_text

__all__ = [
    "DataReport",
    "ExpectationResult",
    "StarterSuite",
    "Validation",
    "init_suite",
    "load_frame",
    "render_suite",
    "render_text",
    "validate",
]
