"""End to end with the real training and evaluation: the champion is promoted, weaker/identical ones are not."""

from __future__ import annotations

import hashlib
import shutil

import pytest
import yaml
from gitops_helpers import EXAMPLE, MODEL, s3_bucket, stack_buckets

from mlgitops.errors import GateFailed
from mlgitops.evidence import DataReport, Findings, Run


@pytest.mark.slow
def test_train_evaluate_promote_then_reject_identical_and_weaker(tmp_path, moto_s3, monkeypatch):
    from mlgitops.config import load
    from mlgitops.evaluation import evaluate
    from mlgitops.gitops import drift, promote
    from mlgitops.training import train

    root = tmp_path / "churn"
    shutil.copytree(EXAMPLE, root, ignore=shutil.ignore_patterns(".mlgitops", "deploy"))
    # models stored in S3 (as with a shared tracking server): staging's plan accepts their URIs, never a file:// one
    config = (root / "mlgitops.yaml").read_text()
    (root / "mlgitops.yaml").write_text(
        config.replace(
            'tracking: {uri: "sqlite:///.mlgitops/mlflow.db"}',
            f'tracking: {{uri: "sqlite:///.mlgitops/mlflow.db", artifact_location: "{s3_bucket("e2e")}/mlflow"}}',
        )
    )
    stack_buckets(root)
    run = Run.current(root)
    for ds in ("train", "holdout"):  # the data gate's verdict, as `mlgitops data validate` records it
        real = (
            "sha256:" + hashlib.sha256((root / "data" / f"{ds}.csv").read_bytes()).hexdigest()
        )  # prod's Model Monitor baseline reads it
        run.write(
            DataReport(
                dataset=ds,
                path=f"data/{ds}.csv",
                digest=real,
                rows=1,
                columns=[],
                engine="pandas",
                success=True,
                results=[],
            )
        )

    def cycle():
        cfg = load(root, "staging")
        version = train(cfg, MODEL).version
        return version, evaluate(cfg, MODEL)

    v1, ev = cycle()
    assert ev.verdict == "pass" and ev.champion is None  # first model becomes the champion
    [p] = promote(load(root, "staging"))
    assert p.version == v1
    deployed = (root / "deploy" / "staging.yaml").read_bytes()
    entry = yaml.safe_load(deployed)["models"][MODEL]
    assert entry["evidence"]["metrics"]["roc_auc"] == pytest.approx(ev.candidate.metrics["roc_auc"])

    v2, ev = cycle()  # identical model: does not beat the champion
    assert v2 != v1 and ev.verdict == "fail" and ev.champion.version == v1
    with pytest.raises(GateFailed, match="did not pass evaluation"):
        promote(load(root, "staging"))

    text = (
        (root / "mlgitops.yaml")
        .read_text()
        .replace("params: {n_estimators: 100, max_depth: 6}", "params: {n_estimators: 1, max_depth: 1}")
    )
    (root / "mlgitops.yaml").write_text(text)
    v3, ev = cycle()  # weaker model
    assert ev.verdict == "fail" and ev.candidate.metrics["roc_auc"] < ev.champion.metrics["roc_auc"]
    with pytest.raises(GateFailed):
        promote(load(root, "staging"), version=v3)
    assert (root / "deploy" / "staging.yaml").read_bytes() == deployed  # nothing changed
    assert [d.status for d in drift(load(root, "staging"))] == ["in-sync"]

    run.write(Findings(env="prod"))
    [p] = promote(load(root, "prod"))
    import boto3

    from mlgitops.bucket import baseline_uri

    bucket, prefix = (
        baseline_uri(load(root, "prod"), MODEL, p.digest).removeprefix("s3://").split("/", 1)
    )  # monitoring.schedule in prod
    listed = boto3.client("s3").list_objects_v2(Bucket=bucket, Prefix=prefix)["Contents"]
    assert sorted(o["Key"].removeprefix(prefix) for o in listed) == ["constraints.json", "statistics.json"]
    assert (
        p.version == v1
        and yaml.safe_load((root / "deploy" / "prod.yaml").read_text())["models"][MODEL]["evidence"]["stage_from"]
        == "staging"
    )

    # A CI runner has its own fresh embedded store, whose first version is also "1" but another model: with
    # credentials the champion is re-scored from its package in the bucket; without (a pull request), it is
    # compared by the metrics its promotion recorded. Never mistaken for the candidate.
    text = (
        (root / "mlgitops.yaml")
        .read_text()
        .replace("params: {n_estimators: 1, max_depth: 1}", "params: {n_estimators: 100, max_depth: 6}")
    )
    (root / "mlgitops.yaml").write_text(text.replace(".mlgitops/mlflow.db", "ci-runner/mlflow.db"))
    (root / "ci-runner").mkdir()
    shutil.rmtree(root / ".mlgitops" / "packages")
    v4, ev = cycle()
    assert v4 == v1 and ev.champion.digest == entry["digest"] and ev.champion.source == "package"
    assert ev.champion.metrics["roc_auc"] == pytest.approx(entry["evidence"]["metrics"]["roc_auc"])
    assert ev.verdict == "fail" and any("re-scored from its package s3://" in n for n in ev.notes)
    shutil.rmtree(root / ".mlgitops" / "packages")
    for var in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.delenv(var)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    v5, ev = cycle()
    assert ev.champion.source == "recorded" and ev.champion.metrics == entry["evidence"]["metrics"]
    assert ev.verdict == "fail" and any("no AWS credentials" in n for n in ev.notes)
