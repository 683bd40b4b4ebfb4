"""The desired state `deploy/<env>.yaml`: what each environment should serve, reviewed as code.

Written only by `mlgitops promote` / `rollback` (under the lock at `lock_path`), read by the Pulumi program,
serving, evaluation (the champion) and the promotion rules. The format is the `DeployState` record.
"""

from __future__ import annotations

from pathlib import Path

from mlgitops.errors import BadInput
from mlgitops.evidence.records import DeployState
from mlgitops.evidence.store import atomic_write, validate

HEADER = (
    "# Written by `mlgitops promote` / `mlgitops rollback`: the desired state of this environment.\n"
    "# Review it like code; revert it (or run `mlgitops rollback`) to go back. Do not edit by hand.\n"
)


FIX = "restore it with `git checkout -- deploy/{name}` (`mlgitops promote` writes it)"


def path_for(project_dir: Path, env: str) -> Path:
    return Path(project_dir) / "deploy" / f"{env}.yaml"


def lock_path(project_dir: Path, env: str) -> Path:
    """The lock every writer of `deploy/<env>.yaml` holds; under `.mlgitops/` so it never lands in a commit."""
    path = Path(project_dir) / ".mlgitops" / "locks" / f"deploy-{env}.lock"
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def read(project_dir: Path, env: str) -> DeployState:
    """The file's state, or an empty one when nothing was promoted to `env` yet."""
    from mlgitops.config.yamlfile import load_plain

    path = path_for(project_dir, env)
    if not path.exists() and not path.is_symlink():  # a directory or FIFO here is bad input, not "not promoted"
        return DeployState(env=env)
    doc = load_plain(path, FIX.format(name=path.name))  # bounded: a directory, FIFO or device here is bad input too
    return _state(doc, str(path), env)


def parse(text: str, where: str, env: str) -> DeployState:
    """A state as committed to git (`git show <sha>:deploy/<env>.yaml`)."""
    import yaml

    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise BadInput(f"{where}: not valid YAML ({str(exc).splitlines()[0]})") from None
    return _state(doc, where, env)


def _state(doc: object, where: str, env: str) -> DeployState:
    fix = FIX.format(name=f"{env}.yaml")
    doc = {"env": env} if doc is None else doc
    if isinstance(doc, dict):
        if doc.get("env", env) != env:
            raise BadInput(f"{where}: says env: {doc.get('env')!r} but is the file of {env!r}; {fix}")
        doc = {**doc, "env": env, "models": doc.get("models") or {}}
    return validate(doc, DeployState, where, fix)


def render(state: DeployState) -> str:
    import yaml

    doc = state.model_dump(mode="json", exclude_defaults=False)
    for entry in doc["models"].values():  # keep the evidence short: only what was recorded
        entry["evidence"] = {k: v for k, v in entry["evidence"].items() if v not in (None, [], {})}
    text: str = yaml.safe_dump(doc, sort_keys=False, default_flow_style=False)
    return HEADER + text


def write(project_dir: Path, state: DeployState) -> Path:
    """Atomic replace (temp file, fsync, rename): readers see the old or the new file, never a mix."""
    return atomic_write(path_for(project_dir, state.env), render(state))
