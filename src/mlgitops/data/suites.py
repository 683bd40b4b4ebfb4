"""Suites live in git as GX 1.x suite JSON. Load them with errors that name the file and expectation.

Severity: GX 1.24 expectations carry a top-level `severity` field (critical|warning|info, default
critical). We also accept `meta.severity` for suites written by older tooling.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mlgitops.errors import BadInput

SEVERITIES = ("critical", "warning", "info")


@dataclass
class SuiteSpec:
    name: str
    path: Path
    expectations: list[dict[str, Any]] = field(default_factory=list)

    def columns(self) -> set[str]:
        """Columns the suite names (`column`, `column_A`, `column_B`, `column_list`)."""
        cols: set[str] = set()
        for e in self.expectations:
            kw = e["kwargs"]
            for key in ("column", "column_A", "column_B"):
                if isinstance(kw.get(key), str):
                    cols.add(kw[key])
            if isinstance(kw.get("column_list"), list):
                cols.update(kw["column_list"])
        return cols


def load_suite(path: Path) -> SuiteSpec:
    """Parse and check a suite file; every problem is BadInput naming the file (and expectation)."""
    if not path.is_file():
        raise BadInput(f"{path}: suite file not found; fix `suite:` in mlgitops.yaml or run `mlgitops data init-suite`")
    try:
        doc = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise BadInput(f"{path}:{exc.lineno}:{exc.colno}: invalid JSON ({exc.msg})") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("expectations"), list):
        raise BadInput(f"{path}: not a GX suite (needs an object with an `expectations` list)")
    if "expectation_suite_name" in doc or any(isinstance(e, dict) and "expectation_type" in e for e in doc["expectations"]):
        raise BadInput(f"{path}: GX 0.x suite format; convert to GX 1.x: `expectation_suite_name` -> `name`, "
                       "each `expectation_type` -> `type`")
    from great_expectations.expectations.registry import get_expectation_impl

    out = []
    for i, e in enumerate(doc["expectations"]):
        if not isinstance(e, dict) or not isinstance(e.get("type"), str):
            raise BadInput(f"{path}: expectations[{i}] needs a string `type`")
        try:
            get_expectation_impl(e["type"])
        except Exception:  # noqa: BLE001 - GX raises ExpectationNotFoundError
            raise BadInput(f"{path}: expectations[{i}]: unknown expectation type '{e['type']}'; "
                           "see https://greatexpectations.io/expectations/") from None
        meta = e.get("meta") or {}
        severity = str(e.get("severity") or meta.get("severity") or "critical").lower()
        if severity not in SEVERITIES:
            raise BadInput(f"{path}: expectations[{i}] ({e['type']}): severity '{severity}' is not one of {', '.join(SEVERITIES)}")
        out.append({"type": e["type"], "kwargs": dict(e.get("kwargs") or {}), "meta": meta, "severity": severity})
    return SuiteSpec(name=str(doc.get("name") or path.stem), path=path, expectations=out)
