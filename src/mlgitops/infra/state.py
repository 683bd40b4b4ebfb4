"""The GitOps desired state read by the program: `deploy/<env>.yaml`, written by promotion."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from mlgitops.errors import BadInput


def deploy_state(project_dir: Path | str, env: str) -> dict[str, Any] | None:
    """Parsed `deploy/<env>.yaml`, or None when nothing has been promoted to `env` yet."""
    import yaml

    path = Path(project_dir) / "deploy" / f"{env}.yaml"
    if not path.is_file():
        return None
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f":{mark.line + 1}" if mark else ""
        raise BadInput(f"{path}{where}: invalid YAML: {getattr(exc, 'problem', exc)}; restore it with git (it is written by `mlgitops promote`)") from None
    if data is None:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("models", {}), dict):
        raise BadInput(f"{path}: expected a mapping with 'models: {{<model>: {{version, model_uri, artifact_uri}}}}'")
    return data
