"""Small helpers shared by the rule modules: policy documents, tags, proxies of pulumi_policy."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any


def is_map(v: Any) -> bool:
    return isinstance(v, Mapping)


def as_list(v: Any) -> list[Any]:
    """A scalar, list or pulumi_policy list proxy as a plain list (None -> [])."""
    if v is None:
        return []
    if isinstance(v, Sequence) and not isinstance(v, (str, bytes)):
        return [v[i] for i in range(len(v))]
    return [v]


def get(obj: Any, *path: str | int, default: Any = None) -> Any:
    """Nested lookup through dicts/lists (and their unknown-checking proxies); missing -> default."""
    cur = obj
    for key in path:
        if isinstance(key, int):
            items = as_list(cur)
            if key >= len(items):
                return default
            cur = items[key]
        elif is_map(cur) and key in cur:
            cur = cur[key]
        else:
            return default
    return cur


def document(value: Any) -> dict[str, Any]:
    """An IAM/resource policy given as JSON text or a mapping; malformed text -> {}."""
    if value is None:
        return {}
    if isinstance(value, str):
        try:
            doc = json.loads(value)
        except ValueError:
            return {}
        return doc if isinstance(doc, dict) else {}
    return to_plain(value) if is_map(value) else {}


def to_plain(v: Any) -> Any:
    """A proxy tree as plain dict/list (accessing every element, so unknowns raise as in CrossGuard)."""
    if is_map(v):
        return {k: to_plain(v[k]) for k in v}
    if isinstance(v, Sequence) and not isinstance(v, (str, bytes)):
        return [to_plain(v[i]) for i in range(len(v))]
    return v


def statements(doc: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
    for st in as_list(doc.get("Statement")):
        if isinstance(st, dict):
            yield st


def principals(st: Mapping[str, Any]) -> list[str]:
    """Every principal value of a statement ("*" for a bare wildcard)."""
    p = st.get("Principal")
    if p is None:
        return []
    if isinstance(p, str):
        return [p]
    out: list[str] = []
    for v in p.values() if isinstance(p, dict) else []:
        out += [str(x) for x in as_list(v)]
    return out


def conditions(st: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    c = st.get("Condition")
    return c if isinstance(c, dict) else {}


def condition_values(st: Mapping[str, Any], key: str) -> list[str]:
    """Values of condition `key` (case-insensitive) under any operator."""
    out: list[str] = []
    for cond in conditions(st).values():
        if isinstance(cond, dict):
            for k, v in cond.items():
                if k.lower() == key.lower():
                    out += [str(x) for x in as_list(v)]
    return out


def short(urn: str) -> str:
    return urn.rsplit("::", 1)[-1]


def names_of(items: Iterable[Any]) -> str:
    return ", ".join(sorted(str(i) for i in items))
