"""The GitOps desired state read by the program: `deploy/<env>.yaml`, written by promotion."""
from __future__ import annotations

from pathlib import Path
from typing import Any


def deploy_state(project_dir: Path | str, env: str) -> dict[str, Any] | None:
    """Parsed `deploy/<env>.yaml`, or None when nothing has been promoted to `env` yet."""
    from mlgitops.gitops.desired import read

    state = read(Path(project_dir), env)
    return state if state["models"] else None
