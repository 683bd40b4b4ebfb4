"""Suites live in git as GX 1.x suite JSON. Load them with errors that name the file and expectation.

Severity: GX 1.24 expectations carry a top-level `severity` field (critical|warning|info, default
critical). We also accept `meta.severity` for suites written by older tooling.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mlgitops import files
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
    fix = "fix `suite:` in mlgitops.yaml or write the suite again with `mlgitops data init-suite`"
    if not path.exists() and not path.is_symlink():
        raise BadInput(f"{path}: suite file not found; {fix}")
    doc = files.load_json(path, fix=fix)
    if not isinstance(doc, dict) or not isinstance(doc.get("expectations"), list):
        raise BadInput(f"{path}: not a GX suite (needs an object with an `expectations` list)")
    if "expectation_suite_name" in doc or any(
        isinstance(e, dict) and "expectation_type" in e for e in doc["expectations"]
    ):
        raise BadInput(
            f"{path}: GX 0.x suite format; convert to GX 1.x: `expectation_suite_name` -> `name`, "
            "each `expectation_type` -> `type`"
        )
    out = []
    for i, e in enumerate(doc["expectations"]):  # the shape first: a broken file is refused before GX is imported
        if not isinstance(e, dict) or not isinstance(e.get("type"), str):
            raise BadInput(f"{path}: expectations[{i}] needs a string `type`")
        for key in ("kwargs", "meta"):
            if not isinstance(e.get(key) or {}, dict):
                raise BadInput(
                    f"{path}: expectations[{i}] ({e['type']}): `{key}` must be an object, found {type(e[key]).__name__}"
                )
        meta = e.get("meta") or {}
        severity = str(e.get("severity") or meta.get("severity") or "critical").lower()
        if severity not in SEVERITIES:
            raise BadInput(
                f"{path}: expectations[{i}] ({e['type']}): severity '{severity}' is not one of {', '.join(SEVERITIES)}"
            )
        out.append({"type": e["type"], "kwargs": dict(e.get("kwargs") or {}), "meta": meta, "severity": severity})
    from great_expectations.expectations.registry import get_expectation_impl

    for i, spec in enumerate(out):
        try:
            get_expectation_impl(spec["type"])
        except Exception:  # noqa: BLE001 - GX raises ExpectationNotFoundError
            raise BadInput(
                f"{path}: expectations[{i}]: unknown expectation type '{spec['type']}'; "
                "see https://greatexpectations.io/expectations/"
            ) from None
        _check_kwargs(path, i, spec)
    return SuiteSpec(name=str(doc.get("name") or path.stem), path=path, expectations=out)


def _check_kwargs(path: Path, index: int, spec: dict[str, Any]) -> None:
    """Build the GX expectation now, so a bad argument (`min_value: "abc"`) is bad input naming the file,
    not a pydantic traceback from inside the gate."""
    from great_expectations.expectations.expectation_configuration import ExpectationConfiguration

    try:
        ExpectationConfiguration(
            type=spec["type"], kwargs=spec["kwargs"], meta=spec["meta"], severity=spec["severity"]
        ).to_domain_obj()
    except Exception as exc:  # noqa: BLE001 - pydantic ValidationError, GX's InvalidExpectationConfigurationError, TypeError
        errors = getattr(exc, "errors", None)
        if callable(errors):
            detail = "; ".join(f"{'.'.join(map(str, er['loc'])) or '(kwargs)'}: {er['msg']}" for er in errors()[:3])
        else:
            detail = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise BadInput(
            f"{path}: expectations[{index}] ({spec['type']}): invalid kwargs: {detail}; fix the suite"
        ) from None
