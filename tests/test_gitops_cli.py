"""The CLI contract of promote/rollback/drift/predict: exit codes 0/1/2, --json documents, no tracebacks."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import yaml
from gitops_helpers import MODEL, make_registry, s3_bucket, stack_buckets, write_evidence


@pytest.fixture(scope="module")
def reg(tmp_path_factory, moto_s3):
    reg = make_registry(tmp_path_factory.mktemp("gitops_cli"), extra_versions=1, artifact_root=s3_bucket("artifacts"))
    stack_buckets(reg.root)
    for args in (
        ["init", "-q"],
        ["add", "-A"],
        ["-c", "user.name=t", "-c", "user.email=t@e", "commit", "-q", "-m", "init"],
    ):
        subprocess.run(["git", *args], cwd=reg.root, check=True, capture_output=True)
    return reg


def cli(reg, *args: str) -> subprocess.CompletedProcess[str]:
    import os

    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@e",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@e",
    }
    return subprocess.run(
        [sys.executable, "-m", "mlgitops", "--project", str(reg.root), *args],
        capture_output=True,
        text=True,
        timeout=180,
        env=env,
    )


@pytest.mark.slow
def test_promote_drift_rollback_predict_through_the_cli(reg):
    write_evidence(reg.root, "1")
    r = cli(reg, "promote", "--env", "staging", "--commit", "--json")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["promotions"][0]["version"] == "1"

    write_evidence(reg.root, "2", verdict="fail")
    r = cli(reg, "promote", "--env", "staging")
    assert r.returncode == 1 and "did not pass evaluation" in r.stderr and "Traceback" not in r.stderr
    assert yaml.safe_load((reg.root / "deploy" / "staging.yaml").read_text())["models"][MODEL]["version"] == "1"

    r = cli(reg, "promote", "--env", "staging", "--model", "nope")
    assert r.returncode == 2 and "no model 'nope'" in r.stderr and "Traceback" not in r.stderr

    r = cli(reg, "promote", "--env", "staging", "--version", "2", "--force", "--commit")
    assert r.returncode == 0 and "-> staging (replaces sha256:" in r.stdout
    r = cli(reg, "promote", "--env", "staging", "--version", "2", "--force", "--commit")
    assert r.returncode == 0 and "already serving" in r.stdout

    r = cli(reg, "drift", "--env", "staging", "--json")
    assert r.returncode == 0 and json.loads(r.stdout)["drift"][0]["status"] == "in-sync"
    reg.client().set_registered_model_alias(reg.name, "staging", "3")
    r = cli(reg, "drift", "--env", "staging")
    assert r.returncode == 1 and "alias-behind" in r.stdout  # v3 holds the model v2 replaced
    reg.client().set_registered_model_alias(reg.name, "staging", "2")  # (drift --fix is tested in-process)

    r = cli(reg, "rollback", "--env", "staging", "--json")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["promotions"][0]["version"] == "1"

    r = cli(reg, "predict", "--env", "staging", str(reg.root / "data" / "holdout.csv"), "--json")
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["version"] == "1" and len(doc["predictions"]) == 300 and set(doc["predictions"]) == {0, 1}
