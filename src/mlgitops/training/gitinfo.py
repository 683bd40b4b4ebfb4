"""Git and CI facts for every MLflow run (used by the `mlflow.run_context_provider` plugin and evidence).

Registered by entry point in pyproject.toml, so runs the user starts with their own `mlflow` calls
get the same tags as the runs mlgitops starts. Cheap: GitHub's env vars when present, else at most
three `git` calls per directory, cached for the process.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path

from mlgitops import git

PROJECT_ENV = "MLGITOPS_PROJECT_DIR"
TAG_PREFIX = "mlgitops."


@functools.lru_cache(maxsize=32)
def git_info(directory: str) -> dict[str, object]:
    """sha, branch and dirty flag of the checkout holding `directory` (None when it is not in git)."""
    sha = os.environ.get("GITHUB_SHA") or git.line(directory, "rev-parse", "HEAD")
    branch = (
        os.environ.get("GITHUB_HEAD_REF")
        or os.environ.get("GITHUB_REF_NAME")
        or git.line(directory, "rev-parse", "--abbrev-ref", "HEAD")
    )
    status = git.output(directory, "status", "--porcelain", "--untracked-files=no")
    return {"sha": sha, "branch": branch, "dirty": bool(status) if status is not None else None}


def ci_info(env: dict[str, str] | None = None) -> dict[str, str]:
    """PR number and run URL from GitHub Actions' environment, when running there."""
    env = dict(os.environ) if env is None else env
    info: dict[str, str] = {}
    ref = env.get("GITHUB_REF", "")
    if ref.startswith("refs/pull/"):
        info["pr"] = ref.split("/")[2]
    if env.get("GITHUB_RUN_ID") and env.get("GITHUB_REPOSITORY"):
        server = env.get("GITHUB_SERVER_URL", "https://github.com")
        info["ci_run_url"] = f"{server}/{env['GITHUB_REPOSITORY']}/actions/runs/{env['GITHUB_RUN_ID']}"
    return info


def run_tags(directory: str | Path | None = None) -> dict[str, str]:
    """The tags every run gets: `mlgitops.git.sha`, `.git.branch`, `.git.dirty`, `.pr`, `.ci_run_url`."""
    where = str(Path(directory or os.environ.get(PROJECT_ENV) or os.getcwd()).resolve())
    tags = {
        f"{TAG_PREFIX}git.{k}": str(v).lower() if isinstance(v, bool) else str(v)
        for k, v in git_info(where).items()
        if v is not None
    }
    tags.update({f"{TAG_PREFIX}{k}": v for k, v in ci_info().items()})
    from mlgitops.secrets import mask_uri

    return {k: mask_uri(v) for k, v in tags.items()}  # a server URL may carry a token
