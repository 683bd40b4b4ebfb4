"""Shared data for the policy tests: a plain pulumi_aws program with a good and a bad twin of every resource the
rules look at (good-* must pass every rule, bad-* must violate the rule the test names), and evidence files."""

from __future__ import annotations

import shutil
from pathlib import Path

from mlgitops.evidence import DataReport, Evaluation, ExpectationResult, GitInfo, Run, Scored, TrainingRecord

PROGRAM_DIR = Path(__file__).parent / "data" / "policy_program"

SETTINGS = {
    "env": "prod",
    "project": "fixture",
    "account_id": "123456789012",
    "repository": "example-org/churn",
    "instance_types": ["ml.m5.large", "ml.t2.medium"],
    "max_instances_cap": 10,
    "budget_usd_month": None,
    "training": [],
    "exemptions": [],
}


def write_program(root: Path) -> Path:
    """A copy of the fixture program (planning never writes into tests/data)."""
    shutil.copytree(PROGRAM_DIR, root, ignore=shutil.ignore_patterns("__pycache__"))
    return root


def model_digest(version: str) -> str:
    """A stand-in model identity per version."""
    import hashlib

    return "sha256:" + hashlib.sha256(version.encode()).hexdigest()


def write_evidence(
    run: Path,
    *,
    data_ok: bool = True,
    digest_match: bool = True,
    verdict: str = "pass",
    signature: bool = True,
    dirty: bool = False,
    version: str = "3",
) -> Path:
    """A run folder as the data gate, training and evaluation steps write it for the churn example."""
    evidence = Run(run)
    failures = (
        []
        if data_ok
        else [
            ExpectationResult(
                expectation="expect_column_values_to_not_be_null",
                column="tenure_months",
                severity="critical",
                success=False,
                unexpected_count=3,
            )
        ]
    )
    for ds, digest in (("train", "sha256:aaa"), ("holdout", "sha256:bbb")):
        evidence.write(
            DataReport(
                dataset=ds,
                path=f"data/{ds}.csv",
                digest=digest,
                rows=100,
                columns=["tenure_months", "churned"],
                engine="pandas",
                success=data_ok,
                results=failures,
            )
        )
    evidence.write(
        TrainingRecord(
            model="churn-classifier",
            run_id="r1",
            registry_name="churn-churn-classifier",
            version=version,
            model_uri=f"models:/churn-churn-classifier/{version}",
            digest=model_digest(version),
            dataset_digests={"train": "sha256:aaa" if digest_match else "sha256:zzz", "holdout": "sha256:bbb"},
            git=GitInfo(sha="0123456789abcdef", branch="main", dirty=dirty),
            has_signature=signature,
        )
    )
    evidence.write(
        Evaluation(
            model="churn-classifier",
            env="staging",
            primary="roc_auc",
            candidate=Scored(version=version, digest=model_digest(version), metrics={"roc_auc": 0.9, "log_loss": 0.4}),
            champion=Scored(version="2", metrics={"roc_auc": 0.8, "log_loss": 0.45}),
            verdict=verdict,
            reasons=[] if verdict == "pass" else ["threshold roc_auc min 0.95: roc_auc=0.9000"],
        )
    )
    return run
