"""Pulumi components for an ML project (storage, training, serving, CI identity, tracking) and the program.

`program(config, deploy_state)` declares a project's stack for `config.env`; `pulumi up --stack <env>`
runs it for real, `mlgitops.plan` runs it under mocks. Importing this package is cheap: the component
modules (and `pulumi_aws`) load only when `program` runs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mlgitops.infra.state import deploy_state

if TYPE_CHECKING:
    from mlgitops.config import Project
    from mlgitops.evidence import DeployState

__all__ = ["program", "deploy_state"]


def program(config: Project, deploy_state: DeployState | None = None) -> list[str]:
    """Declare the stack of `config.env`; returns notes for the plan (e.g. why an endpoint is absent)."""
    from mlgitops.infra.stack import build  # not a module named `program`: it would shadow this function

    return build(config, deploy_state)
