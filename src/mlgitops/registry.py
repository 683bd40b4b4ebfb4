"""The MLflow registry side of promotion: the alias named after the environment follows the digest in git.

Each registered version carries its model's digest as the tag `mlgitops.digest` (set at training, or when a
version is first selected with `--version`), so a promotion finds "the version of this model" in whatever
store it runs against, or learns that the store never saw it (a fresh CI runner's store).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

TAG_PREFIX = "mlgitops"
DIGEST_TAG = f"{TAG_PREFIX}.digest"


def client(tracking_uri: str) -> Any:
    from mlflow import MlflowClient

    return MlflowClient(tracking_uri=tracking_uri, registry_uri=tracking_uri)


def alias_version(cl: Any, name: str, alias: str) -> Any | None:
    """The ModelVersion the alias points at, or None when the alias (or the model) does not exist."""
    from mlflow.exceptions import MlflowException

    try:
        return cl.get_model_version_by_alias(name, alias)
    except MlflowException:
        return None


def version_info(cl: Any, name: str, version: str) -> Any:
    """The ModelVersion; BadInput when it is not registered."""
    from mlflow.exceptions import MlflowException

    from mlgitops.errors import BadInput

    try:
        return cl.get_model_version(name, str(version))
    except MlflowException:
        raise BadInput(
            f"version {version} of registered model '{name}' does not exist; list versions in the MLflow UI or pass another --version"
        ) from None


def version_by_digest(cl: Any, name: str, digest: str) -> str | None:
    """The newest registered version of `name` holding the model `digest`, or None when this store has none."""
    from mlflow.exceptions import MlflowException

    try:
        found = cl.search_model_versions(f"name = '{name}' and tags.`{DIGEST_TAG}` = '{digest}'")
    except MlflowException:
        return None
    return str(max(int(mv.version) for mv in found)) if found else None


def find(cl: Any, name: str, digest: str, hint: str | None) -> str | None:
    """This store's version of the model `digest`: `hint` (the version recorded with it) when it holds that model, else
    the newest version tagged with the digest, else None."""
    from mlflow.exceptions import MlflowException

    if hint:
        try:
            if digest_of_version(cl, name, cl.get_model_version(name, hint)) == digest:
                return hint
        except MlflowException:
            pass
    return version_by_digest(cl, name, digest)


def digest_of_version(cl: Any, name: str, mv: Any) -> str:
    """The digest of a registered version (computed from its files once, then kept as its tag)."""
    from mlgitops.package import model_digest

    digest = (mv.tags or {}).get(DIGEST_TAG)
    if not digest:
        digest = model_digest(local_copy(cl.get_model_version_download_uri(name, mv.version)))
        cl.set_model_version_tag(name, mv.version, DIGEST_TAG, digest)
    return digest


def local_copy(download_uri: str) -> Path:
    """The model directory on this machine: the store's own folder when it is local, else a download."""
    from urllib.parse import unquote, urlparse

    if download_uri.startswith("file:"):
        return Path(unquote(urlparse(download_uri).path))
    if "://" not in download_uri:
        return Path(download_uri)
    import mlflow.artifacts

    from mlgitops.errors import BadInput

    try:
        return Path(mlflow.artifacts.download_artifacts(artifact_uri=download_uri))
    except Exception as exc:  # boto3's or the tracking server's error: one line, not a traceback
        reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise BadInput(
            f"cannot download the model {download_uri} from the tracking store's artifacts ({reason}); "
            "check the credentials of its artifact store"
        ) from None


def tag_key(env: str, key: str) -> str:
    return f"{TAG_PREFIX}.{env}.{key}"
