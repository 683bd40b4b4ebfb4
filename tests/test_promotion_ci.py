"""Four CI runs, each from a fresh clone (an empty `.mlgitops/`, its own embedded MLflow store), against S3 on a
moto server whose buckets exist as `pulumi up` made them: what git promotes survives from one run to the next."""

from __future__ import annotations

import getpass
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from gitops_helpers import EXAMPLE, stack_buckets

pytestmark = pytest.mark.slow  # two whole pipelines and four promotions, each in its own process

MODEL = "churn-classifier"
WEAK, STRONG = "params: {n_estimators: 5, max_depth: 2}", "params: {n_estimators: 100, max_depth: 6}"


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=True).stdout.strip()


def mlgitops(clone: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mlgitops", "--project", str(clone), *args], capture_output=True, text=True, timeout=900
    )


def push_seed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, tracking_uri: str | None = None) -> Path:
    """The project's remote: the example with a weak model's parameters (and `tracking_uri`, when given), one commit
    on main, its models buckets made as `pulumi up` would."""
    for key in ("GIT_AUTHOR_NAME", "GIT_COMMITTER_NAME"):
        monkeypatch.setenv(key, "ci")
    for key in ("GIT_AUTHOR_EMAIL", "GIT_COMMITTER_EMAIL"):
        monkeypatch.setenv(key, "ci@example.com")
    seed = tmp_path / "seed"
    shutil.copytree(EXAMPLE, seed, ignore=shutil.ignore_patterns(".mlgitops", "deploy", "__pycache__"))
    text = (seed / "mlgitops.yaml").read_text()
    assert STRONG in text
    text = text.replace(STRONG, WEAK)
    if tracking_uri:
        text = text.replace('tracking: {uri: "sqlite:///.mlgitops/mlflow.db"}', f'tracking: {{uri: "{tracking_uri}"}}')
    (seed / "mlgitops.yaml").write_text(text)
    (seed / ".gitignore").write_text(".mlgitops/\n")
    git(seed, "init", "-q", "-b", "main")
    git(seed, "add", "-A")
    git(seed, "commit", "-q", "-m", "churn project")
    stack_buckets(seed)
    git(tmp_path, "clone", "-q", "--bare", str(seed), str(tmp_path / "origin.git"))
    return tmp_path / "origin.git"


@pytest.fixture
def origin(tmp_path, moto_s3, monkeypatch) -> Path:
    return push_seed(tmp_path, monkeypatch)


def fresh_clone(origin: Path, name: str) -> Path:
    clone = origin.parent / name
    git(origin.parent, "clone", "-q", str(origin), str(clone))
    return clone


def deployed(clone: Path, env: str) -> dict:
    return yaml.safe_load((clone / "deploy" / f"{env}.yaml").read_text())["models"][MODEL]


def assert_no_machine_paths(clone: Path) -> None:
    for path in (clone / "deploy").glob("*"):
        text = path.read_text()
        assert "file:" not in text and str(clone.parent) not in text and "/tmp/" not in text and "/home/" not in text, (
            path
        )
        assert f"/{getpass.getuser()}/" not in text, path


def s3_digest(uri: str) -> str | None:
    import boto3

    bucket, key = uri.removeprefix("s3://").split("/", 1)
    return boto3.client("s3").head_object(Bucket=bucket, Key=key)["Metadata"].get("mlgitops-digest")


def test_four_fresh_clone_ci_runs_promote_by_digest(origin):
    # run 1: the pull request's gates, then the promotion to staging
    run1 = fresh_clone(origin, "run1")
    pr = mlgitops(run1, "pipeline", "pr", "--env", "staging")
    assert pr.returncode == 0, pr.stdout + pr.stderr
    done = mlgitops(run1, "promote", "--env", "staging", "--commit")
    assert done.returncode == 0, done.stderr
    first = deployed(run1, "staging")
    assert first["replaces"] is None and first["artifact_uri"].startswith("s3://churn-staging-models/churn-classifier/")
    assert s3_digest(first["artifact_uri"]) == first["digest"]
    assert_no_machine_paths(run1)
    git(run1, "push", "-q", "origin", "main")

    # a parameter change lands on main
    change = fresh_clone(origin, "change")
    (change / "mlgitops.yaml").write_text((change / "mlgitops.yaml").read_text().replace(WEAK, STRONG))
    git(change, "commit", "-q", "-am", "stronger model")
    git(change, "push", "-q", "origin", "main")

    # run 2: its own store numbers the new model v1 too; it is evaluated against staging's champion, re-scored from S3
    run2 = fresh_clone(origin, "run2")
    pr = mlgitops(run2, "pipeline", "pr", "--env", "staging")
    assert pr.returncode == 0, pr.stdout + pr.stderr
    [evaluation] = [
        json.loads(p.read_text()) for p in (run2 / ".mlgitops" / "evidence").glob(f"*/evaluation/{MODEL}.json")
    ]
    assert evaluation["against"]["digest"] == first["digest"] and evaluation["champion"]["source"] == "package"
    assert (
        evaluation["candidate"]["version"] == first["version"] == "1"
        and evaluation["candidate"]["digest"] != first["digest"]
    )
    done = mlgitops(run2, "promote", "--env", "staging", "--commit")
    assert done.returncode == 0, done.stderr
    second = deployed(run2, "staging")
    assert second["digest"] == evaluation["candidate"]["digest"] and second["replaces"] == first["digest"]
    assert_no_machine_paths(run2)
    git(run2, "push", "-q", "origin", "main")

    # run 3: only the promotion to prod, which takes staging's model and makes its own copy in the prod bucket
    run3 = fresh_clone(origin, "run3")
    done = mlgitops(run3, "promote", "--env", "prod", "--commit")
    assert done.returncode == 0, done.stderr
    prod = deployed(run3, "prod")
    assert prod["digest"] == second["digest"] and prod["artifact_uri"].startswith("s3://churn-prod-models/")
    assert s3_digest(prod["artifact_uri"]) == second["digest"] and prod["evidence"]["stage_from"] == "staging"
    assert_no_machine_paths(run3)
    git(run3, "push", "-q", "origin", "main")

    # run 4: only the promotion to staging again: nothing new, nothing committed
    run4 = fresh_clone(origin, "run4")
    head = git(run4, "rev-parse", "HEAD")
    done = mlgitops(run4, "promote", "--env", "staging", "--commit")
    assert done.returncode == 0 and "already serving" in done.stdout, done.stdout + done.stderr
    assert git(run4, "rev-parse", "HEAD") == head and git(run4, "status", "--porcelain") == ""
    assert_no_machine_paths(run4)
