"""The `mlflow.run_context_provider` plugin (entry point in pyproject.toml): git/CI tags on every run.

MLflow imports this module while it loads its plugins, so it may import mlflow at top level; the tag
logic lives in `gitinfo` (no mlflow import) so the runner can use it without an import cycle.
"""

from __future__ import annotations

from mlflow.tracking.context.abstract_context import RunContextProvider

from mlgitops.training.gitinfo import run_tags


class GitOpsRunContext(RunContextProvider):
    """MLflow calls `in_context` and `tags` when any run starts; `run_tags` caches git per directory."""

    def in_context(self) -> bool:
        return True

    def tags(self) -> dict[str, str]:
        return run_tags()
