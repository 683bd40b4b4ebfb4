"""The CrossGuard pack's own diagnostic: where its settings came from, when that was not a project's mlgitops.yaml."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from mlgitops.policies.registry import stack_rule


@stack_rule(
    "policy-pack-settings",
    "The policy pack runs with a project's mlgitops.yaml settings; when it found none it says so "
    "here (it then runs with defaults: environment local, rules advisory).",
    enforcement="advisory",
    severity="low",
)
def pack_settings(args: Any) -> Iterator[tuple[str | None, str]]:
    note = args.get_config().get("settings_note")
    if note:
        yield None, str(note)
