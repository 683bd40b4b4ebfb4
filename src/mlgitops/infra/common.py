"""What every component shares: tags and child-resource options."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pulumi

if TYPE_CHECKING:
    from mlgitops.config import Project


def tags(config: Project, **extra: str) -> dict[str, str]:
    """Tags on every taggable resource: project, env, owner, managed-by, the config's tags, then `extra`."""
    return {
        **config.tags,
        "project": config.project,
        "env": config.env,
        "owner": config.owner,
        "managed-by": "mlgitops",
        **extra,
    }


def child(parent: pulumi.Resource, *, depends_on: list | None = None) -> pulumi.ResourceOptions:
    return pulumi.ResourceOptions(parent=parent, depends_on=depends_on or [])
