"""The desired-state file `deploy/<env>.yaml`: what each environment should serve, reviewed as code.

Format (read by `mlgitops.infra.state.deploy_state`; keep it stable):

    env: staging
    models:
      churn-classifier:
        version: "3"                     # registry version, as a string
        registry_name: churn-churn-classifier
        model_uri: models:/churn-churn-classifier/3
        artifact_uri: file:///.../artifacts   # where the version's files are stored
        run_id: 0a1b...
        digest: sha256:...               # see `mlgitops.gitops.registry.artifact_digest`
        replaces: "2"                    # version served before this one, or null
        promoted_at: "2026-11-22T19:00:00Z"
        evidence: {action, data_gate, metrics, champion_metrics, policy_verdict, git_sha}
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from mlgitops.errors import BadInput
from mlgitops.evidence import atomic_write

HEADER = (
    "# Written by `mlgitops promote` / `mlgitops rollback`: the desired state of this environment.\n"
    "# Review it like code; revert it (or run `mlgitops rollback`) to go back. Do not edit by hand.\n"
)


def path_for(project_dir: Path, env: str) -> Path:
    return project_dir / "deploy" / f"{env}.yaml"


def lock_path(project_dir: Path, env: str) -> Path:
    """The lock every writer of `deploy/<env>.yaml` holds; under `.mlgitops/` so it never lands in a commit."""
    path = project_dir / ".mlgitops" / "locks" / f"deploy-{env}.lock"
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def read(project_dir: Path, env: str) -> dict[str, Any]:
    """The parsed file, or an empty state `{env, models: {}}` when nothing was promoted yet."""
    from mlgitops.config.yamlfile import load_plain

    path = path_for(project_dir, env)
    if not path.exists() and not path.is_symlink():  # a directory or FIFO here is bad input, not "not promoted"
        return {"env": env, "models": {}}
    data = load_plain(path, f"restore it with `git checkout -- {path.name}` (`mlgitops promote` writes it)") or {}
    if not isinstance(data, dict) or not isinstance(data.get("models") or {}, dict):
        raise BadInput(f"{path}: expected a mapping `models: {{<model>: {{version, ...}}}}`; restore it from git")
    data.setdefault("env", env)
    data["models"] = data.get("models") or {}
    return data


def current_version(state: dict[str, Any], model: str) -> str | None:
    entry = state["models"].get(model)
    return None if entry is None else str(entry["version"])


def render(state: dict[str, Any]) -> str:
    import yaml

    return HEADER + yaml.safe_dump(state, sort_keys=False, default_flow_style=False)


def write(project_dir: Path, env: str, state: dict[str, Any]) -> Path:
    """Atomic replace (temp file, fsync, rename): readers see the old or the new file, never a mix."""
    return atomic_write(path_for(project_dir, env), render(state))
