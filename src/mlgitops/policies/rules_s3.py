"""S3 rules. pulumi-aws 7 configures a bucket through side resources (BucketVersioning, ...), so most rules
are stack rules that correlate each side resource to its bucket (by bucket name, logical name or dependency)."""
from __future__ import annotations

from typing import Any, Iterator

from mlgitops.policies._util import as_list, condition_values, document, get, principals, statements
from mlgitops.policies.registry import resource_rule, stack_rule

BUCKET = ("aws:s3/bucket:Bucket", "aws:s3/bucketV2:BucketV2")
VERSIONING = ("aws:s3/bucketVersioning:BucketVersioning", "aws:s3/bucketVersioningV2:BucketVersioningV2")
SSE = ("aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
       "aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2")
PAB = ("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",)
OWNERSHIP = ("aws:s3/bucketOwnershipControls:BucketOwnershipControls",)
POLICY = ("aws:s3/bucketPolicy:BucketPolicy",)
LIFECYCLE = ("aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration",
             "aws:s3/bucketLifecycleConfigurationV2:BucketLifecycleConfigurationV2")
LOGGING = ("aws:s3/bucketLogging:BucketLogging", "aws:s3/bucketLoggingV2:BucketLoggingV2")
ACL = ("aws:s3/bucketAcl:BucketAcl", "aws:s3/bucketAclV2:BucketAclV2")
PUBLIC_ACLS = {"public-read", "public-read-write", "authenticated-read"}


def _buckets(args: Any) -> list[Any]:
    return [r for r in args.resources if r.resource_type in BUCKET]


def _keys(bucket: Any) -> set[str]:
    """What a side resource's `bucket` input may hold for this bucket: its name, logical name or URN."""
    keys = {bucket.name, bucket.urn}
    for k in ("bucket", "id"):
        v = bucket.props.get(k)
        if isinstance(v, str):
            keys.add(v)
    return keys


def side(args: Any, bucket: Any, types: tuple[str, ...]) -> list[Any]:
    """Side resources of `types` attached to `bucket`."""
    keys = _keys(bucket)
    out = []
    for r in args.resources:
        if r.resource_type not in types:
            continue
        deps = {d.urn for d in r.dependencies}
        ref = r.props.get("bucket")
        if ref in keys or bucket.urn in deps:
            out.append(r)
    return out


def _is_log_target(args: Any, bucket: Any) -> bool:
    keys = _keys(bucket)
    tagged = get(bucket.props, "tags", "role") == "access-logs"
    return tagged or any(r.props.get("targetBucket") in keys for r in args.resources if r.resource_type in LOGGING)


@stack_rule("s3-versioning", "Every S3 bucket has versioning enabled (recover overwritten or deleted artifacts).", BUCKET)
def versioning(args: Any) -> Iterator[tuple[str, str]]:
    for b in _buckets(args):
        inline = get(b.props, "versioning", "enabled") is True
        if not inline and not any(get(v.props, "versioningConfiguration", "status") == "Enabled" for v in side(args, b, VERSIONING)):
            yield b.urn, f"bucket {b.name} has no BucketVersioning with status Enabled"


def _sse_algorithms(args: Any, b: Any) -> list[tuple[str, Any]]:
    rules = [*as_list(get(b.props, "serverSideEncryptionConfiguration", "rule"))]
    for s in side(args, b, SSE):
        rules += as_list(s.props.get("rules"))
    return [(get(r, "applyServerSideEncryptionByDefault", "sseAlgorithm"), get(r, "applyServerSideEncryptionByDefault", "kmsMasterKeyId"))
            for r in rules]


@stack_rule("s3-sse-kms", "Every S3 bucket encrypts by default with KMS (access-log target buckets may use SSE-S3, as AWS requires).", BUCKET)
def sse_kms(args: Any) -> Iterator[tuple[str, str]]:
    for b in _buckets(args):
        algs = _sse_algorithms(args, b)
        ok = {"aws:kms", "aws:kms:dsse"} | ({"AES256"} if _is_log_target(args, b) else set())
        if not algs:
            yield b.urn, f"bucket {b.name} has no server-side encryption configuration"
        elif not any(a in ok for a, _ in algs):
            yield b.urn, f"bucket {b.name} encrypts with {', '.join(str(a) for a, _ in algs)}; use sseAlgorithm aws:kms with a customer key"


@stack_rule("s3-public-access-block", "Every S3 bucket has all four public access blocks on.", BUCKET, severity="critical")
def public_access_block(args: Any) -> Iterator[tuple[str, str]]:
    flags = ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")
    for b in _buckets(args):
        blocks = side(args, b, PAB)
        if not blocks:
            yield b.urn, f"bucket {b.name} has no BucketPublicAccessBlock"
            continue
        off = [f for f in flags if not any(p.props.get(f) is True for p in blocks)]
        if off:
            yield b.urn, f"bucket {b.name}: public access block has {', '.join(off)} off"


@stack_rule("s3-ownership-enforced", "Every S3 bucket has object ownership BucketOwnerEnforced (ACLs disabled).", BUCKET)
def ownership(args: Any) -> Iterator[tuple[str, str]]:
    for b in _buckets(args):
        if not any(get(o.props, "rule", "objectOwnership") == "BucketOwnerEnforced" for o in side(args, b, OWNERSHIP)):
            yield b.urn, f"bucket {b.name} lacks BucketOwnershipControls with objectOwnership BucketOwnerEnforced"


def _denies_insecure_transport(doc: dict[str, Any]) -> bool:
    for st in statements(doc):
        if st.get("Effect") == "Deny" and "*" in principals(st) and \
                any(str(v).lower() == "false" for v in condition_values(st, "aws:SecureTransport")):
            return True
    return False


@stack_rule("s3-tls-only", "Every S3 bucket policy denies requests without TLS (aws:SecureTransport false).", BUCKET)
def tls_only(args: Any) -> Iterator[tuple[str, str]]:
    for b in _buckets(args):
        docs = [document(p.props.get("policy")) for p in side(args, b, POLICY)] + [document(b.props.get("policy"))]
        if not any(_denies_insecure_transport(d) for d in docs):
            yield b.urn, f"bucket {b.name} has no bucket policy denying aws:SecureTransport=false"


@resource_rule("s3-no-wildcard-principal", "Bucket policies grant nothing to the `*` principal (Deny statements are fine).", POLICY + BUCKET,
               severity="critical")
def no_wildcard_principal(args: Any) -> Iterator[str]:
    doc = document(args.props.get("policy"))
    for st in statements(doc):
        if st.get("Effect") == "Allow" and "*" in principals(st):
            yield f"statement {st.get('Sid') or '?'} allows principal '*'"


@resource_rule("s3-no-public-acl", "No bucket or bucket ACL uses a public canned ACL.", BUCKET + ACL, severity="critical")
def no_public_acl(args: Any) -> Iterator[str]:
    acl = args.props.get("acl")
    if acl in PUBLIC_ACLS:
        yield f"canned ACL {acl} makes objects public; remove it (ownership controls disable ACLs)"


@stack_rule("s3-lifecycle-abort-multipart", "Every S3 bucket has a lifecycle rule aborting incomplete multipart uploads.", BUCKET,
            severity="low")
def lifecycle_abort(args: Any) -> Iterator[tuple[str, str]]:
    for b in _buckets(args):
        rules = [r for lc in side(args, b, LIFECYCLE) for r in as_list(lc.props.get("rules"))]
        rules += as_list(b.props.get("lifecycleRules"))
        if not any(get(r, "abortIncompleteMultipartUpload", "daysAfterInitiation") or r.get("abortIncompleteMultipartUploadDays")
                   for r in rules if r.get("status", "Enabled") == "Enabled" and r.get("enabled", True)):
            yield b.urn, f"bucket {b.name} has no enabled lifecycle rule with abortIncompleteMultipartUpload"


@stack_rule("s3-access-logging-prod", "In prod, every data-holding bucket writes server access logs to a log bucket.", BUCKET, severity="medium")
def access_logging(args: Any) -> Iterator[tuple[str, str]]:
    if args.get_config().get("env") != "prod":
        return
    for b in _buckets(args):
        if _is_log_target(args, b):
            continue
        if not side(args, b, LOGGING) and not get(b.props, "logging", "targetBucket"):
            yield b.urn, f"bucket {b.name} has no BucketLogging in prod"


@resource_rule("s3-no-force-destroy-prod", "In prod, buckets are not force-destroyable (a stack delete must not erase data).", BUCKET,
               severity="medium")
def no_force_destroy(args: Any) -> Iterator[str]:
    if args.get_config().get("env") == "prod" and args.props.get("forceDestroy") is True:
        yield "forceDestroy is true in prod"
