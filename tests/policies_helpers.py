"""Shared data for the policy tests: a plain pulumi_aws program with a good and a bad twin of every resource the
rules look at (good-* must pass every rule, bad-* must violate the rule the test names), and evidence files."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

PROGRAM_DIR = Path(__file__).parent / "data" / "policy_program"

SETTINGS = {"env": "prod", "project": "fixture", "account_id": "123456789012", "repository": "example-org/churn",
            "instance_types": ["ml.m5.large", "ml.t2.medium"], "max_instances_cap": 10, "budget_usd_month": None,
            "training": [], "exemptions": []}


def write_program(root: Path) -> Path:
    """A copy of the fixture program (planning never writes into tests/data)."""
    shutil.copytree(PROGRAM_DIR, root, ignore=shutil.ignore_patterns("__pycache__"))
    return root


def write_evidence(run: Path, *, data_ok: bool = True, digest_match: bool = True, auc: float = 0.9, champion_auc: float | None = 0.8,
                   signature: bool = True, dirty: bool = False, version: str = "3") -> Path:
    """A run folder as the data gate, training and evaluation steps write it for the churn example."""
    for ds, digest in (("train", "sha256:aaa"), ("holdout", "sha256:bbb")):
        _write(run / "data" / f"{ds}.json", {"dataset": ds, "path": f"data/{ds}.csv", "digest": digest, "rows": 100, "columns": 5,
                                             "success": data_ok, "failures": [] if data_ok else [{"expectation": "not_null", "count": 3}]})
    _write(run / "training" / "churn-classifier.json", {
        "model": "churn-classifier", "run_id": "r1", "registry_name": "churn-churn-classifier", "version": version,
        "model_uri": f"models:/churn-churn-classifier/{version}",
        "dataset_digests": {"train": "sha256:aaa" if digest_match else "sha256:zzz", "holdout": "sha256:bbb"},
        "git": {"sha": "0123456789abcdef", "branch": "main", "dirty": dirty}, "has_signature": signature})
    _write(run / "evaluation" / "churn-classifier.json", {
        "model": "churn-classifier", "candidate": {"version": version, "metrics": {"roc_auc": auc, "log_loss": 0.4}},
        "champion": None if champion_auc is None else {"version": "2", "metrics": {"roc_auc": champion_auc, "log_loss": 0.45}},
        "thresholds": {}, "verdict": "pass", "reasons": []})
    return run


def _write(path: Path, obj: object) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(obj))
