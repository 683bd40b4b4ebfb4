"""pytest plugin (entry point `pytest11: mlgitops`): plan Pulumi programs in a user's own tests.

    def test_buckets_are_private(pulumi_plan):
        plan = pulumi_plan("infra", stack="dev")
        assert all(r.inputs["blockPublicAcls"] for r in plan.by_type("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"))

Plans run in a subprocess under Pulumi's mock engine (no cloud, no Pulumi CLI) and are cached per
(directory, stack, config) for the session. Importing this module is cheap: no pulumi at import.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

__all__ = ["pulumi_plan", "mlgitops_plan"]


def _resolve(request: pytest.FixtureRequest, directory: str | Path) -> Path:
    """An absolute directory; a relative one is taken from pytest's rootdir."""
    path = Path(directory)
    return path if path.is_absolute() else Path(request.config.rootpath) / path


def _cached(cache: dict[str, Any], key: list[Any], make: Callable[[], Any]) -> Any:
    """The plan for `key` from this session's cache, made on first use."""
    text = json.dumps(key, sort_keys=True, default=str)
    if text not in cache:
        cache[text] = make()
    return cache[text]


@pytest.fixture(scope="session")
def _mlgitops_plan_cache() -> dict[str, Any]:
    return {}


@pytest.fixture
def pulumi_plan(_mlgitops_plan_cache: dict[str, Any], request: pytest.FixtureRequest) -> Callable[..., Any]:
    """`pulumi_plan(program_dir, stack="dev", config=None) -> mlgitops.plan.Plan`; relative dirs resolve from rootdir."""
    from mlgitops.plan import plan_program

    def run(program_dir: str | Path, stack: str = "dev", config: dict[str, Any] | None = None):
        path = _resolve(request, program_dir)
        return _cached(
            _mlgitops_plan_cache, [str(path.resolve()), stack, config or {}], lambda: plan_program(path, stack, config)
        )

    return run


@pytest.fixture
def mlgitops_plan(_mlgitops_plan_cache: dict[str, Any], request: pytest.FixtureRequest) -> Callable[..., Any]:
    """`mlgitops_plan(project_dir, env="local", deploy_state=None) -> Plan` of an mlgitops project's stack.

    `deploy_state` is a `DeployState`, or the plain data of a `deploy/<env>.yaml` (validated as one)."""
    from mlgitops.config import load
    from mlgitops.evidence import DeployState
    from mlgitops.plan import plan_project

    def run(project_dir: str | Path, env: str = "local", deploy_state: DeployState | dict[str, Any] | None = None):
        path = _resolve(request, project_dir)
        state = (
            DeployState.model_validate({"env": env, **deploy_state}) if isinstance(deploy_state, dict) else deploy_state
        )
        key = ["project", str(path.resolve()), env, state.to_dict() if state else None]
        return _cached(_mlgitops_plan_cache, key, lambda: plan_project(load(path, env), state))

    return run
