"""Shared fixtures data for the infra and plan tests: the churn example with releases promoted."""
from __future__ import annotations

import shutil
from pathlib import Path

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "churn"


def release(env: str, version: str = "3") -> dict:
    """A deploy/<env>.yaml as promotion writes it."""
    return {"env": env, "models": {"churn-classifier": {
        "version": version, "model_uri": f"models:/churn-churn-classifier/{version}",
        "artifact_uri": f"s3://churn-registry/churn-classifier/{version}/model.tar.gz",  # one artifact, promoted env to env
        "run_id": "0123abcd", "digest": "sha256:" + "0" * 64}}}


def copy_example(dest: Path) -> Path:
    shutil.copytree(EXAMPLE, dest, ignore=shutil.ignore_patterns(".mlgitops", "__pycache__"))
    return dest
