"""Shared helpers for the data gate tests: a project built from examples/churn with custom datasets."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import yaml

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "churn"


def make_project(root: Path, datasets: dict[str, dict[str, Any]], suites: dict[str, dict] | None = None) -> Path:
    """Copy the churn example to ROOT and replace its datasets (models keep pointing at train/holdout)."""
    shutil.copytree(EXAMPLE, root, ignore=shutil.ignore_patterns(".mlgitops"))
    cfg = yaml.safe_load((root / "mlgitops.yaml").read_text())
    base = dict(cfg["datasets"])
    base.update(datasets)
    cfg["datasets"] = base
    (root / "mlgitops.yaml").write_text(yaml.safe_dump(cfg, sort_keys=False))
    for name, doc in (suites or {}).items():
        (root / "expectations" / name).write_text(json.dumps(doc))
    return root


def suite(*expectations: tuple[str, dict, str], name: str = "s") -> dict:
    return {
        "name": name,
        "meta": {},
        "expectations": [{"type": t, "kwargs": kw, "meta": {}, "severity": sev} for t, kw, sev in expectations],
    }
