"""ProjectStorage: the project's KMS key and its data, artifacts and models buckets, private by default."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import pulumi

from mlgitops.infra.common import child, tags

if TYPE_CHECKING:
    from mlgitops.config import Project

ROLES = ("data", "artifacts", "models")


def access_logging(config: Project) -> bool:
    """`storage.access_logging`, else on in prod: a minimal config must pass prod's mandatory `s3-access-logging-prod`."""
    return config.storage.access_logging if config.storage.access_logging is not None else config.env == "prod"


def tls_only_statement(arn: str) -> dict:
    return {
        "Sid": "DenyInsecureTransport",
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:*",
        "Resource": [arn, f"{arn}/*"],
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }


def log_delivery_statement(log_bucket_arn: str, source_buckets: list[str], account: str) -> dict:
    """What S3 server access logging needs on the target bucket: `logging.s3.amazonaws.com` may put objects, only for
    this project's buckets in this account (confused deputy). Without it, logging is configured and nothing arrives."""
    return {
        "Sid": "S3ServerAccessLogsDelivery",
        "Effect": "Allow",
        "Principal": {"Service": "logging.s3.amazonaws.com"},
        "Action": "s3:PutObject",
        "Resource": f"{log_bucket_arn}/*",
        "Condition": {
            "ArnLike": {"aws:SourceArn": [f"arn:aws:s3:::{b}" for b in source_buckets]},
            "StringEquals": {"aws:SourceAccount": account},
        },
    }


class ProjectStorage(pulumi.ComponentResource):
    """KMS key (rotation on) + one bucket per role: versioning, SSE-KMS, public access blocked,
    BucketOwnerEnforced, TLS-only policy, lifecycle; access logging (see `access_logging`) to a log bucket whose
    policy lets S3's log delivery write to it."""

    def __init__(
        self,
        name: str,
        config: Project,
        opts: pulumi.ResourceOptions | None = None,
        account: pulumi.Input[str] | None = None,
    ) -> None:
        super().__init__("mlgitops:storage:ProjectStorage", name, None, opts)
        import pulumi_aws as aws

        self.key = aws.kms.Key(
            f"{name}-key",
            description=f"{config.name('storage')}: data, artifacts and models",
            enable_key_rotation=True,
            deletion_window_in_days=30,
            tags=tags(config),
            opts=child(self),
        )
        aws.kms.Alias(
            f"{name}-key-alias", name=f"alias/{config.name('storage')}", target_key_id=self.key.key_id, opts=child(self)
        )
        self.log_bucket = None
        if access_logging(config):
            if account is None:
                account = config.cloud.account_id or aws.get_caller_identity_output().account_id
            sources = [config.bucket_name(role) for role in ROLES]
            self.log_bucket = self._bucket(
                aws,
                config,
                name,
                "access-logs",
                kms=False,
                extra=lambda arn, acct: [log_delivery_statement(arn, sources, acct)],
                account=account,
            )
        self.buckets = {role: self._bucket(aws, config, name, role) for role in ROLES}
        self.bucket_names = {role: b.bucket for role, b in self.buckets.items()}
        self.bucket_arns = {role: b.arn for role, b in self.buckets.items()}
        self.register_outputs({"key_arn": self.key.arn, **{f"{r}_bucket": n for r, n in self.bucket_names.items()}})

    def _bucket(
        self, aws, config: Project, name: str, role: str, kms: bool = True, extra=None, account: pulumi.Input[str] = ""
    ):
        """A bucket and its side resources. The access-log bucket uses SSE-S3 (S3 log delivery cannot use KMS)."""
        res = f"{name}-{role}"
        bucket = aws.s3.Bucket(
            res,
            bucket=config.bucket_name(role),
            force_destroy=config.storage.force_destroy,
            tags=tags(config, role=role),
            opts=child(self),
        )
        opts = child(self)
        aws.s3.BucketOwnershipControls(
            f"{res}-ownership", bucket=bucket.id, rule={"object_ownership": "BucketOwnerEnforced"}, opts=opts
        )
        aws.s3.BucketPublicAccessBlock(
            f"{res}-public-access",
            bucket=bucket.id,
            block_public_acls=True,
            block_public_policy=True,
            ignore_public_acls=True,
            restrict_public_buckets=True,
            opts=opts,
        )
        aws.s3.BucketVersioning(
            f"{res}-versioning", bucket=bucket.id, versioning_configuration={"status": "Enabled"}, opts=opts
        )
        default = (
            {"sse_algorithm": "aws:kms", "kms_master_key_id": self.key.arn} if kms else {"sse_algorithm": "AES256"}
        )
        aws.s3.BucketServerSideEncryptionConfiguration(
            f"{res}-encryption",
            bucket=bucket.id,
            rules=[{"apply_server_side_encryption_by_default": default, "bucket_key_enabled": kms}],
            opts=opts,
        )
        rules = [
            {
                "id": "abort-incomplete-uploads",
                "status": "Enabled",
                "filter": {},
                "abort_incomplete_multipart_upload": {"days_after_initiation": 7},
            }
        ]
        if role in ("artifacts", "access-logs"):
            rules.append(
                {
                    "id": "expire-noncurrent",
                    "status": "Enabled",
                    "filter": {},
                    "noncurrent_version_expiration": {"noncurrent_days": config.storage.noncurrent_version_days},
                }
            )
        aws.s3.BucketLifecycleConfiguration(f"{res}-lifecycle", bucket=bucket.id, rules=rules, opts=opts)
        policy = pulumi.Output.all(bucket.arn, account).apply(
            lambda a: json.dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [tls_only_statement(a[0]), *(extra(a[0], a[1]) if extra else [])],
                }
            )
        )
        aws.s3.BucketPolicy(f"{res}-tls-only", bucket=bucket.id, policy=policy, opts=opts)
        if self.log_bucket is not None and role != "access-logs":
            aws.s3.BucketLogging(
                f"{res}-logging",
                bucket=bucket.id,
                target_bucket=self.log_bucket.id,
                target_prefix=f"{role}/",
                opts=opts,
            )
        return bucket
