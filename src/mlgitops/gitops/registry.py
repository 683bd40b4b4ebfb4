"""The MLflow registry side of promotion: alias named after the environment, version tags, digests."""
from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

TAG_PREFIX = "mlgitops"


def client(tracking_uri: str) -> Any:
    from mlflow import MlflowClient

    return MlflowClient(tracking_uri=tracking_uri, registry_uri=tracking_uri)


def alias_version(cl: Any, name: str, alias: str) -> str | None:
    """Version the alias points at, or None when the alias (or the model) does not exist."""
    from mlflow.exceptions import MlflowException

    try:
        return str(cl.get_model_version_by_alias(name, alias).version)
    except MlflowException:
        return None


def version_info(cl: Any, name: str, version: str) -> Any:
    """The ModelVersion; BadInput when it is not registered."""
    from mlflow.exceptions import MlflowException

    from mlgitops.errors import BadInput

    try:
        return cl.get_model_version(name, str(version))
    except MlflowException:
        raise BadInput(f"version {version} of registered model '{name}' does not exist; list versions in the MLflow UI or pass another --version") from None


def artifact_digest(download_uri: str) -> str:
    """sha256 over every file of the model artifact directory (sorted relative path + sha256 of bytes).

    Hashing all files, not only MLmodel, makes the digest change when the weights change.
    """
    from urllib.parse import unquote, urlparse

    if download_uri.startswith("file:"):
        root = Path(unquote(urlparse(download_uri).path))
    elif "://" not in download_uri:
        root = Path(download_uri)
    else:
        import mlflow.artifacts

        root = Path(mlflow.artifacts.download_artifacts(artifact_uri=download_uri))
    outer = hashlib.sha256()
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        outer.update(path.relative_to(root).as_posix().encode() + b"\0")
        outer.update(hashlib.sha256(path.read_bytes()).hexdigest().encode() + b"\n")
    return "sha256:" + outer.hexdigest()


def tag_key(env: str, key: str) -> str:
    return f"{TAG_PREFIX}.{env}.{key}"
