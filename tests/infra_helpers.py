"""Shared fixtures data for the infra and plan tests: the churn example with releases promoted."""

from __future__ import annotations

import shutil
from pathlib import Path

from mlgitops.evidence import DeployEntry, DeployState

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "churn"


IMAGE_TAG = "serving-0123456789abcdef"  # as promotion records it (mlgitops.image)


def release(env: str, version: str = "3") -> DeployState:
    """A deploy/<env>.yaml as promotion writes it."""
    return DeployState(
        env=env,
        models={
            "churn-classifier": DeployEntry(
                version=version,
                registry_name="churn-churn-classifier",
                model_uri=f"models:/churn-churn-classifier/{version}",
                artifact_uri=f"s3://churn-registry/churn-classifier/{version}/model.tar.gz",  # one artifact, promoted env to env
                run_id="0123abcd",
                digest="sha256:" + "0" * 64,
                image=f"churn-{env}-images:{IMAGE_TAG}",
            )
        },
    )


def copy_example(dest: Path) -> Path:
    shutil.copytree(EXAMPLE, dest, ignore=shutil.ignore_patterns(".mlgitops", "__pycache__"))
    return dest
