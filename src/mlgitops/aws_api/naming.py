"""AWS rules the service models do not encode: S3 bucket names, reserved tag keys, EC2 instance types for Batch and
the retention periods CloudWatch Logs accepts. Sources: the S3 user guide's "General purpose bucket naming rules",
the tagging guide ("aws: prefix is reserved"), the PutRetentionPolicy reference."""

from __future__ import annotations

import functools
import re

BUCKET_PREFIXES = ("xn--", "sthree-", "amzn-s3-demo-")
BUCKET_SUFFIXES = ("-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3")
LOG_RETENTION_DAYS = (
    1,
    3,
    5,
    7,
    14,
    30,
    60,
    90,
    120,
    150,
    180,
    365,
    400,
    545,
    731,
    1096,
    1827,
    2192,
    2557,
    2922,
    3288,
    3653,
)
# Batch also accepts instance families (m5) and these names for "let Batch choose".
BATCH_INSTANCE_ALIASES = ("optimal", "default_x86_64", "default_arm64")
BUCKET_NAME_RULE = (
    "an S3 bucket name: 3-63 characters of a-z, 0-9, '.' and '-', starting and ending with a letter or digit"
)
_IP = re.compile(r"\d+\.\d+\.\d+\.\d+")


def bucket_name_problems(name: str, prefix: bool = False) -> list[str]:
    """The S3 naming rules `name` breaks (`prefix`: a `bucketPrefix`, to which Pulumi appends 26 characters)."""
    out = []
    limit = 37 if prefix else 63
    if not prefix and len(name) < 3:
        out.append("at least 3 characters")
    if len(name) > limit:
        out.append(f"at most {limit} characters" + (" (Pulumi appends 26)" if prefix else ""))
    bad = sorted(set(re.sub(r"[a-z0-9.-]", "", name)))
    if bad:
        out.append(f"only lowercase letters, digits, '.' and '-' (not {' '.join(repr(c) for c in bad)})")
    if name and not re.match(r"[a-z0-9]", name):
        out.append("starts with a lowercase letter or digit")
    if not prefix and name and not re.search(r"[a-z0-9]$", name):
        out.append("ends with a lowercase letter or digit")
    if ".." in name:
        out.append("no two adjacent periods")
    if not prefix and _IP.fullmatch(name):
        out.append("not an IP address")
    out += [f"does not start with {p!r}" for p in BUCKET_PREFIXES if name.startswith(p)]
    out += [f"does not end with {s!r}" for s in BUCKET_SUFFIXES if not prefix and name.endswith(s)]
    return out


def reserved_tag(key: str) -> bool:
    """AWS reserves the `aws:` prefix, in any case, for its own tags; a user tag with it is refused."""
    return key.lower().startswith("aws:")


@functools.cache
def ec2_instance_types() -> frozenset[str]:
    from mlgitops.aws_api.shapes import models

    return frozenset(models().enum("ec2", "InstanceType"))


def batch_instance_type_ok(value: str) -> bool:
    """An EC2 instance type, an EC2 family (`m5`) or one of Batch's aliases; never a SageMaker `ml.` type."""
    types = ec2_instance_types()
    return value in types or value in BATCH_INSTANCE_ALIASES or value in {t.split(".", 1)[0] for t in types}
