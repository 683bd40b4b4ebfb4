"""AWS's own API models, as botocore ships them: the input shapes of the operations we map, EC2's instance types and
the regions of every partition.

Loading botocore's SageMaker model alone costs about 0.2 s, so the shapes reachable from the mapped operations are
extracted once per botocore version into a small JSON file in the user's cache (`$XDG_CACHE_HOME/mlgitops`) and held in
memory after the first use. botocore itself is only imported when that file is missing or stale."""

from __future__ import annotations

import functools
import hashlib
import json
import os
import re
import tempfile
from pathlib import Path
from typing import Any

# (service, operation) pairs whose input shapes are validated; `resources.REQUESTS` draws from these.
OPERATIONS: dict[str, tuple[str, ...]] = {
    "s3": (
        "CreateBucket",
        "PutBucketVersioning",
        "PutBucketEncryption",
        "PutPublicAccessBlock",
        "PutBucketOwnershipControls",
        "PutBucketLifecycleConfiguration",
        "PutBucketLogging",
        "PutBucketPolicy",
        "PutBucketTagging",
    ),
    "kms": ("CreateKey", "CreateAlias", "ScheduleKeyDeletion", "EnableKeyRotation"),
    "iam": (
        "CreateRole",
        "PutRolePolicy",
        "AttachRolePolicy",
        "CreateInstanceProfile",
        "AddRoleToInstanceProfile",
        "CreateOpenIDConnectProvider",
        "CreatePolicy",
        "CreateUser",
        "CreateGroup",
    ),
    "ecr": ("CreateRepository", "SetRepositoryPolicy", "PutLifecyclePolicy"),
    "sagemaker": (
        "CreateModel",
        "CreateEndpointConfig",
        "CreateEndpoint",
        "CreateMlflowTrackingServer",
        "CreateDataQualityJobDefinition",
        "CreateMonitoringSchedule",
        "CreateModelPackageGroup",
    ),
    "cloudwatch": ("PutMetricAlarm",),
    "application-autoscaling": ("RegisterScalableTarget", "PutScalingPolicy"),
    "logs": ("CreateLogGroup", "PutRetentionPolicy"),
    "batch": ("CreateComputeEnvironment", "CreateJobQueue", "RegisterJobDefinition"),
}
# Named shapes read outside any operation: instance types by use.
NAMED_SHAPES: dict[str, tuple[str, ...]] = {
    "sagemaker": ("ProductionVariantInstanceType", "TrainingInstanceType", "TagKey", "TagValue"),
    "ec2": ("InstanceType",),
}
_FORMAT = 2  # bump when the cache file's layout changes


class Models:
    """The extracted shapes of every service, plus partitions' regions. `shape(service, name)` is a botocore shape dict."""

    def __init__(self, data: dict[str, Any]):
        self.services: dict[str, dict[str, Any]] = data["services"]
        self.regions: dict[str, str] = data["regions"]  # region -> partition

    def input_shape(self, service: str, operation: str) -> str:
        return self.services[service]["operations"][operation]

    def shape(self, service: str, name: str) -> dict[str, Any]:
        return self.services[service]["shapes"][name]

    def enum(self, service: str, name: str) -> list[str]:
        return list(self.shape(service, name).get("enum", []))


def _fingerprint() -> str:
    """botocore's version and what we extract: a new botocore or a new mapping makes a new cache file."""
    from importlib.metadata import version

    spec = json.dumps([_FORMAT, OPERATIONS, NAMED_SHAPES], sort_keys=True)
    return f"{version('botocore')}-{hashlib.sha256(spec.encode()).hexdigest()[:12]}"


def _cache_file() -> Path:
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "mlgitops" / f"aws-api-{_fingerprint()}.json"


def _reachable(shapes: dict[str, Any], roots: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    todo = list(roots)
    while todo:
        name = todo.pop()
        if name in out:
            continue
        shape = shapes[name]
        kept = {
            k: v
            for k, v in shape.items()
            if k in ("type", "required", "min", "max", "pattern", "enum", "member", "key", "value")
        }
        if "members" in shape:  # members carry long documentation; only their shape matters here
            kept["members"] = {m: {"shape": v["shape"]} for m, v in shape["members"].items()}
        out[name] = kept
        refs = [m["shape"] for m in shape.get("members", {}).values()]
        refs += [shape[k]["shape"] for k in ("member", "key", "value") if k in shape]
        todo += refs
    return out


def _extract() -> dict[str, Any]:
    """Read botocore's models (slow: only on a cache miss)."""
    from botocore.loaders import Loader

    loader = Loader()
    services: dict[str, Any] = {}
    for service in sorted(set(OPERATIONS) | set(NAMED_SHAPES)):
        model = loader.load_service_model(service, "service-2")
        ops = {
            op: model["operations"][op]["input"]["shape"]
            for op in OPERATIONS.get(service, ())
            if op in model["operations"]
        }
        roots = list(ops.values()) + [s for s in NAMED_SHAPES.get(service, ()) if s in model["shapes"]]
        services[service] = {"operations": ops, "shapes": _reachable(model["shapes"], roots)}
    regions = {r: p["partition"] for p in loader.load_data("endpoints")["partitions"] for r in p.get("regions", {})}
    return {"services": services, "regions": regions}


@functools.cache
def models() -> Models:
    """The models, from the cache file when it is there (written on first use; an unwritable cache is not an error)."""
    path = _cache_file()
    try:
        return Models(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError, KeyError):
        pass
    data = _extract()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile("w", dir=path.parent, delete=False, suffix=".tmp", encoding="utf-8") as fh:
            json.dump(data, fh, separators=(",", ":"))
        os.replace(fh.name, path)
    except OSError:
        pass
    return Models(data)


# Java regex classes botocore's patterns use that Python's `re` lacks. Each widens to a superset, so a translated pattern can
# only accept more than AWS does, never flag a value AWS accepts.
_JAVA_CLASSES = {
    r"\p{L}": r"\w",
    r"\p{N}": r"\d",
    r"\p{Z}": r"\s",
    r"\p{M}": r"\w",
    r"\p{S}": r"\S",
    r"\p{P}": r"\S",
    r"\p{ASCII}": r"\x00-\x7f",
    r"\p{Alnum}": r"a-zA-Z0-9",
    r"\p{Alpha}": r"a-zA-Z",
    r"\p{Digit}": r"0-9",
    r"\p{Lower}": r"a-z",
    r"\p{Upper}": r"A-Z",
    r"\p{Punct}": r"!-/:-@\[-`{-~",
    r"\p{Print}": r"\x20-\x7e",
    r"\p{Graph}": r"\x21-\x7e",
    r"\p{Space}": r"\s",
    r"\p{XDigit}": r"0-9a-fA-F",
}


@functools.cache
def pattern(text: str) -> re.Pattern[str] | None:
    """A botocore (Java) pattern as a Python regex, anchored as AWS applies it; None when it cannot be translated
    (the value is then not checked against it rather than wrongly flagged)."""
    for java, py in _JAVA_CLASSES.items():
        inside = f"[{py}]" if not py.startswith("\\") or len(py) > 2 else py
        text = re.sub(r"(\[[^\]]*?)" + re.escape(java), lambda m: m.group(1) + py, text)  # noqa: B023 - used at once, inside a class
        text = text.replace(java, inside)
    if r"\p" in text or r"\P" in text:
        return None
    try:
        return re.compile(text, re.DOTALL)
    except re.error:
        return None
