"""Exemptions: a named rule may be waived for matching resources until a date; after it, the waiver itself is a violation."""

from __future__ import annotations

import datetime as dt
import fnmatch
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from mlgitops.policies.registry import stack_rule

EXPIRED_RULE = "policy-exemption-expired"


@dataclass(frozen=True)
class Exemption:
    rule: str
    resource: str
    reason: str
    expires: dt.date

    def expired(self, today: dt.date) -> bool:
        return today > self.expires

    def covers(self, rule: str, urn: str | None, name: str | None) -> bool:
        if not fnmatch.fnmatchcase(rule, self.rule):
            return False
        targets = [t for t in (urn, name, urn.rsplit("::", 1)[-1] if urn else None) if t] or ["stack"]
        return any(fnmatch.fnmatchcase(t, self.resource) for t in targets)


def parse(items: Iterable[Any]) -> list[Exemption]:
    """From config objects or policy-config dicts (the CrossGuard pack gets ISO date strings)."""
    out = []
    for e in items:
        get = e.get if isinstance(e, dict) else lambda k, d=None, e=e: getattr(e, k, d)
        exp = get("expires")
        exp = exp if isinstance(exp, dt.date) else dt.date.fromisoformat(str(exp))
        out.append(Exemption(str(get("rule")), str(get("resource", "*")), str(get("reason", "")), exp))
    return out


def expired_messages(exemptions: Iterable[Exemption], today: dt.date) -> list[str]:
    return [
        f"exemption of {e.rule} for {e.resource} expired on {e.expires.isoformat()} ({e.reason}); renew it with a new date or fix "
        "the resource and remove it from policies.exemptions"
        for e in exemptions
        if e.expired(today)
    ]


@stack_rule(EXPIRED_RULE, "Every exemption in policies.exemptions is still within its expiry date.", severity="medium")
def expired(args: Any) -> Iterable[tuple[None, str]]:
    cfg = args.get_config()
    today = dt.date.fromisoformat(str(cfg["today"])) if cfg.get("today") else dt.date.today()
    for msg in expired_messages(parse(cfg.get("exemptions") or []), today):
        yield None, msg
