"""Model packages in an environment's models bucket: where git's digests live in the cloud.

`s3://<models bucket>/<model>/<digest hex>/model.tar.gz`, KMS-encrypted with the stack's key, written once
(a second upload of the same digest is a no-op). boto3 finds credentials the standard way (environment,
profile, the CI role via OIDC) and honours `AWS_ENDPOINT_URL`. Any failure is bad input that names the
bucket and the fix, raised before git is touched.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

from mlgitops.errors import BadInput
from mlgitops.package import PACKAGE, hex_of

if TYPE_CHECKING:
    from mlgitops.config import Project

DIGEST_META = "mlgitops-digest"
SINGLE_PUT = 64 * 1024 * 1024  # larger packages go up in parts


class Unavailable(BadInput):
    """The package cannot be had on this machine (no AWS credentials, as in a pull request; a local package made elsewhere)."""


def models_bucket(config: Project) -> str:
    """The environment's models bucket, as the stack names it (`outputs.buckets.models` of the offline plan)."""
    return config.bucket_name("models")


def key_alias(config: Project) -> str:
    """The stack's KMS key, by the alias `ProjectStorage` gives it (its ARN is known only after `pulumi up`)."""
    return f"alias/{config.name('storage')}"


def object_uri(config: Project, model: str, digest: str) -> str:
    return f"s3://{models_bucket(config)}/{model}/{hex_of(digest)}/{PACKAGE}"


def baseline_uri(config: Project, model: str, digest: str) -> str:
    """The prefix of the model's Model Monitor baseline (`statistics.json`, `constraints.json`), next to its package."""
    return f"s3://{models_bucket(config)}/{model}/{hex_of(digest)}/baseline/"


def _split(uri: str) -> tuple[str, str]:
    parsed = urlparse(uri)
    return parsed.netloc, parsed.path.lstrip("/")


def client(region: str, service: str = "s3") -> Any:
    """One boto3 client per service, region and AWS environment: a client costs ~0.1 s to make, and one made before
    the credentials changed (another role, none at all) must not be reused."""
    import os

    return _cached_client(region, service, tuple(sorted((k, v) for k, v in os.environ.items() if k.startswith("AWS_"))))


@functools.lru_cache(maxsize=16)
def _cached_client(region: str, service: str, aws_env: tuple[tuple[str, str], ...]) -> Any:
    import boto3

    return boto3.session.Session(region_name=region).client(service)


def _explain(exc: Exception, bucket: str, doing: str, env: str) -> BadInput:
    """One readable BadInput for what boto3 raised."""
    from botocore.exceptions import ClientError, EndpointConnectionError, NoCredentialsError, PartialCredentialsError

    if isinstance(exc, (NoCredentialsError, PartialCredentialsError)):
        return Unavailable(
            f"no AWS credentials to {doing} s3://{bucket}: configure them the standard way (AWS_PROFILE, "
            "AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, or the CI publish role through OIDC)"
        )
    if isinstance(exc, EndpointConnectionError):
        return BadInput(f"cannot reach S3 to {doing} s3://{bucket} ({exc}); check the network and AWS_ENDPOINT_URL")
    if isinstance(exc, ClientError):
        code = exc.response.get("Error", {}).get("Code", "")
        if code in ("NoSuchBucket", "404", "NotFound") and doing != "read":
            return BadInput(
                f"the models bucket s3://{bucket} of {env} does not exist: run `pulumi up` for the {env} stack "
                "first (it creates the bucket), or check cloud.region and the account of your credentials"
            )
        if code in ("NoSuchKey", "404", "NotFound"):
            return BadInput(
                f"s3://{bucket}: the package is not there; it was deleted or never uploaded. Promote the model again"
            )
        if code in ("AccessDenied", "403", "InvalidAccessKeyId", "SignatureDoesNotMatch", "ExpiredToken"):
            return BadInput(
                f"access denied to {doing} s3://{bucket} ({code}); use credentials of a role that may (the CI publish role)"
            )
        return BadInput(f"S3 refused to {doing} s3://{bucket}: {code or exc}")
    return BadInput(f"cannot {doing} s3://{bucket}: {exc}")


def upload(config: Project, model: str, package: Path, digest: str) -> str:
    """The package at its place in the environment's bucket (uploaded unless that digest is already there)."""
    from botocore.exceptions import BotoCoreError, ClientError

    uri = object_uri(config, model, digest)
    bucket, key = _split(uri)
    s3 = client(config.cloud.region)
    extra = {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": key_alias(config), "Metadata": {DIGEST_META: digest}}
    try:
        if package.stat().st_size <= SINGLE_PUT:
            try:  # written once: a conditional put, so an upload of a digest already there costs nothing
                s3.put_object(Bucket=bucket, Key=key, Body=package.read_bytes(), IfNoneMatch="*", **extra)
            except ClientError as exc:
                if exc.response.get("Error", {}).get("Code") != "PreconditionFailed":
                    raise
                if not _there(s3, bucket, key, digest):  # something else was put at that key: replace it
                    s3.put_object(Bucket=bucket, Key=key, Body=package.read_bytes(), **extra)
        elif s3.head_bucket(Bucket=bucket) is not None and not _there(s3, bucket, key, digest):
            s3.upload_file(str(package), bucket, key, ExtraArgs=extra)  # multipart, in parallel
    except (BotoCoreError, ClientError) as exc:
        raise _explain(exc, bucket, "upload the package to", config.env) from None
    return uri


def upload_baseline(config: Project, model: str, digest: str, files: dict[str, bytes]) -> str:
    """The baseline files under `baseline_uri` (KMS-encrypted like the package; rewritten on every promotion: they are
    a function of the digest, so the same bytes)."""
    from botocore.exceptions import BotoCoreError, ClientError

    bucket, prefix = _split(baseline_uri(config, model, digest))
    s3 = client(config.cloud.region)
    try:
        for name, body in files.items():
            s3.put_object(
                Bucket=bucket,
                Key=prefix + name,
                Body=body,
                ContentType="application/json",
                ServerSideEncryption="aws:kms",
                SSEKMSKeyId=key_alias(config),
                Metadata={DIGEST_META: digest},
            )
    except (BotoCoreError, ClientError) as exc:
        raise _explain(exc, bucket, "upload the Model Monitor baseline to", config.env) from None
    return f"s3://{bucket}/{prefix}"


def _there(s3: Any, bucket: str, key: str, digest: str) -> bool:
    from botocore.exceptions import ClientError

    try:
        return bool(s3.head_object(Bucket=bucket, Key=key).get("Metadata", {}).get(DIGEST_META) == digest)
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
            return False
        raise


def download(uri: str, dest: Path, region: str) -> Path:
    """The object at `uri`, copied to `dest` (atomically: a failed download leaves nothing behind)."""
    from botocore.exceptions import BotoCoreError, ClientError

    bucket, key = _split(uri)
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(f".{dest.name}.part")
    try:
        client(region).download_file(bucket, key, str(tmp))
    except (BotoCoreError, ClientError) as exc:
        tmp.unlink(missing_ok=True)
        raise _explain(exc, f"{bucket}/{key}", "read", "") from None
    tmp.replace(dest)
    return dest


def cache_dir(project_dir: Path, model: str, digest: str) -> Path:
    """Where this machine keeps a model's package and its extracted directory (never committed)."""
    return Path(project_dir) / ".mlgitops" / "packages" / model / hex_of(digest)


def model_dir(config: Project, model: str, digest: str, artifact_uri: str, where: str) -> Path:
    """The verified model directory of the package recorded at `artifact_uri` (an s3:// URI or a project path)."""
    from mlgitops.confine import outside
    from mlgitops.package import extract

    cache = cache_dir(config.root, model, digest)
    if artifact_uri.startswith("s3://"):
        tar = cache / PACKAGE
        if not tar.is_file():
            download(artifact_uri, tar, config.cloud.region)
    else:
        problem = outside(Path(config.root), artifact_uri)
        if problem or "://" in artifact_uri:
            raise BadInput(
                f"{where}: artifact_uri {artifact_uri!r} is neither an s3:// URI nor a path inside the project; restore the file from git"
            )
        tar = Path(config.root) / artifact_uri
        if not tar.is_file():
            raise Unavailable(
                f"{where}: the package {artifact_uri} is not on this machine (a local environment's packages stay in "
                "the .mlgitops/ of the machine that promoted them); promote the model here again"
            )
    return extract(tar, cache / "model", digest, where)
