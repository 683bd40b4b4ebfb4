"""S3 rules. pulumi-aws 7 configures a bucket through side resources (BucketVersioning, ...), so most rules
are stack rules that correlate each side resource to its bucket.

On a first `pulumi preview` a new bucket's id and ARN are unknown, and so is every side resource's `bucket` input.
The rules therefore link side resources by the engine's dependency links first (the `bucket` property's
dependencies, else the resource's), read only inputs they need, and decide bucket by bucket: a bucket that is
insecure from its known inputs is a violation even when another bucket cannot be checked yet."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

from mlgitops.policies._util import as_list, condition_values, document, get, principals, statements
from mlgitops.policies.registry import resource_rule, stack_rule

BUCKET = ("aws:s3/bucket:Bucket", "aws:s3/bucketV2:BucketV2")
VERSIONING = ("aws:s3/bucketVersioning:BucketVersioning", "aws:s3/bucketVersioningV2:BucketVersioningV2")
SSE = (
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
    "aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2",
)
PAB = ("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",)
OWNERSHIP = ("aws:s3/bucketOwnershipControls:BucketOwnershipControls",)
POLICY = ("aws:s3/bucketPolicy:BucketPolicy",)
LIFECYCLE = (
    "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration",
    "aws:s3/bucketLifecycleConfigurationV2:BucketLifecycleConfigurationV2",
)
LOGGING = ("aws:s3/bucketLogging:BucketLogging", "aws:s3/bucketLoggingV2:BucketLoggingV2")
ACL = ("aws:s3/bucketAcl:BucketAcl", "aws:s3/bucketAclV2:BucketAclV2")
PUBLIC_ACLS = {"public-read", "public-read-write", "authenticated-read"}
LOG_DELIVERY = "logging.s3.amazonaws.com"
_UNKNOWN = object()


def _buckets(args: Any) -> list[Any]:
    return [r for r in args.resources if r.resource_type in BUCKET]


def _peek(props: Any, key: str) -> Any:
    """`props[key]`, or `_UNKNOWN` when the engine does not know it yet (instead of raising)."""
    from pulumi_policy.proxy import UnknownValueError

    try:
        return props.get(key)
    except UnknownValueError:
        return _UNKNOWN


def _keys(bucket: Any) -> set[str]:
    """What a side resource's `bucket` input may hold for this bucket: its name, logical name or URN."""
    keys = {bucket.name, bucket.urn}
    for k in ("bucket", "id"):
        v = _peek(bucket.props, k)
        if isinstance(v, str):
            keys.add(v)
    return keys


def refers_to(r: Any, prop: str, bucket: Any) -> bool:
    """Whether input `prop` of `r` names `bucket`: by the engine's property dependencies when it sends them
    (CrossGuard does), else by the value when it is known, else by `r` depending on the bucket at all."""
    linked = (getattr(r, "property_dependencies", None) or {}).get(prop)
    if linked:
        return any(d.urn == bucket.urn for d in linked)
    value = _peek(r.props, prop)
    if value is _UNKNOWN:
        return bucket.urn in {d.urn for d in r.dependencies}
    return value in _keys(bucket)


def side(args: Any, bucket: Any, types: tuple[str, ...]) -> list[Any]:
    """Side resources of `types` attached to `bucket`."""
    return [r for r in args.resources if r.resource_type in types and refers_to(r, "bucket", bucket)]


def per_bucket(args: Any, check: Callable[[Any], Iterable[str]]) -> Iterator[tuple[str, str]]:
    """`check` over every bucket; buckets whose needed inputs are unknown are deferred, and reported as one
    UnknownValueError after the violations of the others, so a known violation is never hidden by an unknown."""
    from pulumi_policy.proxy import UnknownValueError

    unknown: list[tuple[Any, UnknownValueError]] = []
    for b in _buckets(args):
        try:
            messages = list(check(b))
        except UnknownValueError as e:
            unknown.append((b, e))
            continue
        for msg in messages:
            yield b.urn, msg
    if unknown:
        first = unknown[0][1]
        err = UnknownValueError(first.unknown_type_sentinel, first.props)
        err.message = f"bucket {', '.join(b.name for b, _ in unknown)}: {first.message}"
        raise err


def _log_targets(args: Any, bucket: Any) -> list[Any]:
    """BucketLogging resources that write into `bucket`."""
    return [r for r in args.resources if r.resource_type in LOGGING and _targets(r, bucket)]


def _targets(logging: Any, bucket: Any) -> bool:
    linked = (getattr(logging, "property_dependencies", None) or {}).get("targetBucket")
    if linked:
        return any(d.urn == bucket.urn for d in linked)
    value = _peek(logging.props, "targetBucket")
    return value is not _UNKNOWN and value in _keys(bucket)


def _is_log_target(args: Any, bucket: Any) -> bool:
    tags = _peek(bucket.props, "tags")
    tagged = tags is not _UNKNOWN and get(tags, "role") == "access-logs"
    return tagged or bool(_log_targets(args, bucket))


@stack_rule(
    "s3-versioning", "Every S3 bucket has versioning enabled (recover overwritten or deleted artifacts).", BUCKET
)
def versioning(args: Any) -> Iterator[tuple[str, str]]:
    def check(b: Any) -> Iterator[str]:
        inline = get(b.props, "versioning", "enabled") is True
        if not inline and not any(
            get(v.props, "versioningConfiguration", "status") == "Enabled" for v in side(args, b, VERSIONING)
        ):
            yield f"bucket {b.name} has no BucketVersioning with status Enabled"

    yield from per_bucket(args, check)


def _sse_algorithms(args: Any, b: Any) -> list[Any]:
    """The default encryption algorithms of a bucket (the key id is not read: it is often unknown before deploy)."""
    rules = [*as_list(get(b.props, "serverSideEncryptionConfiguration", "rule"))]
    for s in side(args, b, SSE):
        rules += as_list(s.props.get("rules"))
    return [get(r, "applyServerSideEncryptionByDefault", "sseAlgorithm") for r in rules]


@stack_rule(
    "s3-sse-kms",
    "Every S3 bucket encrypts by default with KMS (access-log target buckets may use SSE-S3, as AWS requires).",
    BUCKET,
)
def sse_kms(args: Any) -> Iterator[tuple[str, str]]:
    def check(b: Any) -> Iterator[str]:
        algs = _sse_algorithms(args, b)
        ok = {"aws:kms", "aws:kms:dsse"} | ({"AES256"} if _is_log_target(args, b) else set())
        if not algs:
            yield f"bucket {b.name} has no server-side encryption configuration"
        elif not any(a in ok for a in algs):
            yield f"bucket {b.name} encrypts with {', '.join(str(a) for a in algs)}; use sseAlgorithm aws:kms with a customer key"

    yield from per_bucket(args, check)


@stack_rule(
    "s3-public-access-block", "Every S3 bucket has all four public access blocks on.", BUCKET, severity="critical"
)
def public_access_block(args: Any) -> Iterator[tuple[str, str]]:
    flags = ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")

    def check(b: Any) -> Iterator[str]:
        blocks = side(args, b, PAB)
        if not blocks:
            yield f"bucket {b.name} has no BucketPublicAccessBlock"
            return
        off = [f for f in flags if not any(p.props.get(f) is True for p in blocks)]
        if off:
            yield f"bucket {b.name}: public access block has {', '.join(off)} off"

    yield from per_bucket(args, check)


@stack_rule(
    "s3-ownership-enforced", "Every S3 bucket has object ownership BucketOwnerEnforced (ACLs disabled).", BUCKET
)
def ownership(args: Any) -> Iterator[tuple[str, str]]:
    def check(b: Any) -> Iterator[str]:
        if not any(get(o.props, "rule", "objectOwnership") == "BucketOwnerEnforced" for o in side(args, b, OWNERSHIP)):
            yield f"bucket {b.name} lacks BucketOwnershipControls with objectOwnership BucketOwnerEnforced"

    yield from per_bucket(args, check)


def _denies_insecure_transport(doc: dict[str, Any]) -> bool:
    for st in statements(doc):
        if (
            st.get("Effect") == "Deny"
            and "*" in principals(st)
            and any(str(v).lower() == "false" for v in condition_values(st, "aws:SecureTransport"))
        ):
            return True
    return False


def _policies(args: Any, b: Any) -> list[dict[str, Any]]:
    """The bucket's policy documents: its BucketPolicy side resources' and its own inline one."""
    docs = [document(p.props.get("policy")) for p in side(args, b, POLICY)]
    return docs + ([document(b.props.get("policy"))] if "policy" in b.props else [])


@stack_rule("s3-tls-only", "Every S3 bucket policy denies requests without TLS (aws:SecureTransport false).", BUCKET)
def tls_only(args: Any) -> Iterator[tuple[str, str]]:
    def check(b: Any) -> Iterator[str]:
        if not side(args, b, POLICY) and "policy" not in b.props:
            yield f"bucket {b.name} has no bucket policy (it must deny aws:SecureTransport=false)"
        elif not any(_denies_insecure_transport(d) for d in _policies(args, b)):
            yield f"bucket {b.name} has no bucket policy denying aws:SecureTransport=false"

    yield from per_bucket(args, check)


@resource_rule(
    "s3-no-wildcard-principal",
    "Bucket policies grant nothing to the `*` principal (Deny statements are fine).",
    POLICY + BUCKET,
    severity="critical",
)
def no_wildcard_principal(args: Any) -> Iterator[str]:
    doc = document(args.props.get("policy"))
    for st in statements(doc):
        if st.get("Effect") == "Allow" and "*" in principals(st):
            yield f"statement {st.get('Sid') or '?'} allows principal '*'"


@resource_rule(
    "s3-no-public-acl", "No bucket or bucket ACL uses a public canned ACL.", BUCKET + ACL, severity="critical"
)
def no_public_acl(args: Any) -> Iterator[str]:
    acl = args.props.get("acl")
    if acl in PUBLIC_ACLS:
        yield f"canned ACL {acl} makes objects public; remove it (ownership controls disable ACLs)"


@stack_rule(
    "s3-lifecycle-abort-multipart",
    "Every S3 bucket has a lifecycle rule aborting incomplete multipart uploads.",
    BUCKET,
    severity="low",
)
def lifecycle_abort(args: Any) -> Iterator[tuple[str, str]]:
    def check(b: Any) -> Iterator[str]:
        rules = [r for lc in side(args, b, LIFECYCLE) for r in as_list(lc.props.get("rules"))]
        rules += as_list(b.props.get("lifecycleRules"))
        if not any(
            get(r, "abortIncompleteMultipartUpload", "daysAfterInitiation")
            or r.get("abortIncompleteMultipartUploadDays")
            for r in rules
            if r.get("status", "Enabled") == "Enabled" and r.get("enabled", True)
        ):
            yield f"bucket {b.name} has no enabled lifecycle rule with abortIncompleteMultipartUpload"

    yield from per_bucket(args, check)


def _grants_log_delivery(doc: dict[str, Any]) -> bool:
    for st in statements(doc):
        p = st.get("Principal")
        services = [str(s) for s in as_list(p.get("Service"))] if isinstance(p, dict) else []
        actions = {str(a) for a in as_list(st.get("Action"))}
        if st.get("Effect") == "Allow" and LOG_DELIVERY in services and actions & {"s3:PutObject", "s3:*", "*"}:
            return True
    return False


@stack_rule(
    "s3-access-logging-prod",
    "In prod, every data-holding bucket writes server access logs to a log bucket whose policy lets "
    "logging.s3.amazonaws.com deliver them.",
    BUCKET,
    severity="medium",
)
def access_logging(args: Any) -> Iterator[tuple[str, str]]:
    if args.get_config().get("env") != "prod":
        return

    def check(b: Any) -> Iterator[str]:
        if _is_log_target(args, b):
            if _log_targets(args, b) and not any(_grants_log_delivery(d) for d in _policies(args, b)):
                yield (
                    f"log bucket {b.name} has no policy statement allowing {LOG_DELIVERY} s3:PutObject "
                    "(with aws:SourceArn/aws:SourceAccount conditions): no access log would arrive"
                )
            return
        if not side(args, b, LOGGING) and not get(b.props, "logging", "targetBucket"):
            yield f"bucket {b.name} has no BucketLogging in prod"

    yield from per_bucket(args, check)


@resource_rule(
    "s3-no-force-destroy-prod",
    "In prod, buckets are not force-destroyable (a stack delete must not erase data).",
    BUCKET,
    severity="medium",
)
def no_force_destroy(args: Any) -> Iterator[str]:
    if args.get_config().get("env") == "prod" and args.props.get("forceDestroy") is True:
        yield "forceDestroy is true in prod"


@stack_rule(
    "s3-bucket-name-suffix",
    "An mlgitops project's bucket names carry `cloud.name_suffix` (S3 names are global: a common "
    "slug alone collides on the first deploy).",
    BUCKET,
    enforcement="advisory",
    severity="low",
)
def bucket_name_suffix(args: Any) -> Iterator[tuple[str | None, str]]:
    cfg = args.get_config()
    if cfg.get("project") and not cfg.get("name_suffix") and _buckets(args):
        yield (
            None,
            (
                f"buckets are named {cfg['project']}-{cfg.get('env')}-<role>, which anyone can take first; fix a random suffix "
                "in mlgitops.yaml: `cloud: {name_suffix: <4-8 of a-z0-9>}`, e.g. the output of "
                '`python -c "import secrets; print(secrets.token_hex(3))"` (`mlgitops new` writes one). It renames, so '
                "replaces, buckets already deployed: empty or migrate them first"
            ),
        )
