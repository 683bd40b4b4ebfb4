"""The GitOps desired state read by the program: `deploy/<env>.yaml`, written by promotion."""

from __future__ import annotations

from pathlib import Path

from mlgitops.evidence.records import DeployState


def deploy_state(project_dir: Path | str, env: str) -> DeployState | None:
    """`deploy/<env>.yaml`, or None when nothing has been promoted to `env` yet."""
    from mlgitops.evidence.state import read

    state = read(Path(project_dir), env)
    return state if state.models else None
