"""Shared fixtures for gitops/serving tests: a copy of examples/churn with a real MLflow SQLite registry."""

from __future__ import annotations

import hashlib
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

from mlgitops.evidence import (
    ChampionRef,
    DataReport,
    Evaluation,
    ExpectationResult,
    Finding,
    Findings,
    GitInfo,
    Run,
    Scored,
    TrainingRecord,
)

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "churn"
MODEL = "churn-classifier"
FEATURES = ["tenure_months", "monthly_charges", "support_tickets"]


@dataclass
class Registry:
    root: Path
    name: str  # registry name
    versions: list[str]
    tracking_uri: str

    def config(self, env: str = "staging"):
        from mlgitops.config import load

        return load(self.root, env)

    def client(self):
        from mlflow import MlflowClient

        return MlflowClient(tracking_uri=self.tracking_uri, registry_uri=self.tracking_uri)

    def reset(self) -> None:
        """No deploy files, no aliases, no promotion tags, no evidence: a fresh starting state."""
        shutil.rmtree(self.root / "deploy", ignore_errors=True)
        shutil.rmtree(self.root / ".mlgitops" / "evidence", ignore_errors=True)
        shutil.rmtree(self.root / ".mlgitops" / "packages", ignore_errors=True)
        cl = self.client()
        for env in ("local", "staging", "prod"):
            try:
                cl.delete_registered_model_alias(self.name, env)
            except Exception:
                pass
        for mv in cl.search_model_versions(f"name='{self.name}'"):
            for key in mv.tags:
                if key.startswith("mlgitops."):
                    cl.delete_model_version_tag(self.name, mv.version, key)


def digest(root: Path, version: str) -> str:
    """The digest of registered version `version` (as `mlgitops promote --version` computes it)."""
    from mlgitops.config import load
    from mlgitops.gitops.core import digest_of

    return digest_of(load(root, "staging"), MODEL, version)


def write_evidence(
    root: Path,
    version: str,
    *,
    run: str = "local",
    verdict: str = "pass",
    data_ok: bool = True,
    mandatory: int | None = None,
    env: str = "staging",
    target: str = "staging",
    model_digest: str | None = None,
) -> Path:
    """Evidence records as the data gate, training, evaluation (against `target`'s current champion) and policy check write them,
    for the model registered as `version` (or `model_digest`, a model no store holds)."""
    from mlgitops.evidence.state import read

    model_digest = model_digest or digest(root, version)

    evidence = Run(root / ".mlgitops" / "evidence" / run)
    real = {
        ds: "sha256:" + hashlib.sha256((root / "data" / f"{ds}.csv").read_bytes()).hexdigest()
        for ds in ("train", "holdout")
    }
    failed = [
        ExpectationResult(
            expectation="expect_column_values_to_not_be_null",
            column="tenure_months",
            severity="critical",
            success=False,
        )
    ]
    for ds in ("train", "holdout"):
        evidence.write(
            DataReport(
                dataset=ds,
                path=f"data/{ds}.csv",
                digest=real[ds],
                rows=10,
                columns=FEATURES,
                engine="pandas",
                success=data_ok,
                results=[] if data_ok else failed,
            )
        )
    package = None
    if model_digest == digest(root, version):  # its package, as training writes it into the run
        from mlgitops.package import build
        from mlgitops.registry import client, local_copy

        cl = client(f"sqlite:///{root / '.mlgitops' / 'mlflow.db'}")
        package = f"training/{MODEL}/model.tar.gz"
        build(local_copy(cl.get_model_version_download_uri(f"churn-{MODEL}", version)), evidence.dir / package)
    evidence.write(
        TrainingRecord(
            model=MODEL,
            run_id="r",
            registry_name=f"churn-{MODEL}",
            version=version,
            package=package,
            model_uri=f"models:/churn-{MODEL}/{version}",
            git=GitInfo(sha="abc123"),
            has_signature=True,
            digest=model_digest,
            dataset_digests=real,
        )
    )  # the files' own digests: prod's Model Monitor baseline reads them
    champion = read(root, target).models.get(MODEL)
    against = ChampionRef(version=champion.version, digest=champion.digest) if champion else None
    evidence.write(
        Evaluation(
            model=MODEL,
            env=target,
            against=against,
            primary="roc_auc",
            candidate=Scored(version=version, digest=model_digest, metrics={"roc_auc": 0.8 + int(version) / 1000}),
            verdict=verdict,
            reasons=[] if verdict == "pass" else ["threshold roc_auc min 0.7: roc_auc=0.6000"],
        )
    )
    if mandatory is not None:
        evidence.write(
            Findings(
                env=env,
                findings=[
                    Finding(
                        policy="s3-tls-only",
                        severity="high",
                        enforcement="mandatory",
                        resource_urn=f"urn:pulumi:{env}::churn::aws:s3/bucket:Bucket::b{i}",
                        message="no TLS",
                    )
                    for i in range(mandatory)
                ],
            )
        )
    return evidence.dir


def make_registry(tmp: Path, extra_versions: int = 0, artifact_root: str | None = None) -> Registry:
    """Copy the example, log two real sklearn models as versions 1-2, then `extra_versions` more versions.

    `artifact_root` (an s3:// URI on the moto server) stores the models where a cloud environment's plan accepts
    them; a local store's file:// artifacts are values SageMaker refuses, so promotion to staging or prod would say no."""
    import mlflow
    import pandas as pd
    from mlflow import MlflowClient
    from sklearn.linear_model import LogisticRegression

    root = tmp / "churn"
    shutil.copytree(EXAMPLE, root, ignore=shutil.ignore_patterns(".mlgitops", "deploy"))
    from mlgitops.config import load

    cfg = load(root, "staging")
    uri, name = cfg.tracking_uri(), cfg.registry_name(MODEL)
    (root / ".mlgitops").mkdir(exist_ok=True)
    df = pd.read_csv(root / "data" / "train.csv")
    X, y = df[FEATURES].astype("float64"), df["churned"]
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    exp = (
        mlflow.set_experiment(f"{cfg.project}-tests") if mlflow.get_experiment_by_name(f"{cfg.project}-tests") else None
    )
    if exp is None:
        mlflow.create_experiment(f"{cfg.project}-tests", artifact_location=artifact_root or cfg.artifact_location())
        mlflow.set_experiment(f"{cfg.project}-tests")
    sources = []
    for c in (1.0, 0.001):
        with mlflow.start_run() as run:
            est = LogisticRegression(C=c, max_iter=500).fit(X, y)
            info = mlflow.sklearn.log_model(
                est,
                name="model",
                input_example=X.head(3),
                registered_model_name=name,
                pip_requirements=["scikit-learn", "pandas"],
            )
            sources.append((info.model_uri, run.info.run_id))
    cl = MlflowClient(tracking_uri=uri, registry_uri=uri)
    for i in range(extra_versions):
        src, run_id = sources[i % 2]
        cl.create_model_version(name, src, run_id=run_id)
    versions = sorted((mv.version for mv in cl.search_model_versions(f"name='{name}'")), key=int)
    return Registry(root, name, [str(v) for v in versions], uri)


@pytest.fixture(scope="module")
def registry(tmp_path_factory, moto_s3) -> Registry:
    """Twenty-two registered versions stored in S3 (moto), promotable to cloud environments (their models buckets exist).
    Odd versions hold one model, even versions another: identity is by content."""
    reg = make_registry(tmp_path_factory.mktemp("gitops"), extra_versions=20, artifact_root=s3_bucket("artifacts"))
    stack_buckets(reg.root)
    return reg


def stack_buckets(root: Path, envs: tuple[str, ...] = ("staging", "prod")) -> dict[str, str]:
    """The models bucket and KMS key alias of each environment on the moto server, as `pulumi up` would have made them."""
    import boto3

    from mlgitops.bucket import key_alias, models_bucket
    from mlgitops.config import load

    region = os.environ["AWS_DEFAULT_REGION"]
    s3, kms, out = boto3.client("s3"), boto3.client("kms"), {}
    for env in envs:
        config = load(root, env)
        name = models_bucket(config)
        try:
            s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": region})
        except s3.exceptions.BucketAlreadyOwnedByYou:
            pass
        aliases = {a["AliasName"] for a in kms.list_aliases()["Aliases"]}
        if key_alias(config) not in aliases:
            kms.create_alias(AliasName=key_alias(config), TargetKeyId=kms.create_key()["KeyMetadata"]["KeyId"])
        out[env] = name
    return out


def s3_bucket(name: str) -> str:
    """A new bucket on the moto server (`moto_s3`), as s3://NAME-N."""
    import uuid

    import boto3

    bucket = f"{name}-{uuid.uuid4().hex[:8]}"
    boto3.client("s3").create_bucket(
        Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": os.environ["AWS_DEFAULT_REGION"]}
    )
    return f"s3://{bucket}"
