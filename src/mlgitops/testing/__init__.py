"""pytest plugin (entry point `pytest11: mlgitops`): plan Pulumi programs in a user's own tests.

    def test_buckets_are_private(pulumi_plan):
        plan = pulumi_plan("infra", stack="dev")
        assert all(r.inputs["blockPublicAcls"] for r in plan.by_type("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"))

Plans run in a subprocess under Pulumi's mock engine (no cloud, no Pulumi CLI) and are cached per
(directory, stack, config) for the session. Importing this module is cheap: no pulumi at import.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable

import pytest

__all__ = ["pulumi_plan", "mlgitops_plan"]


@pytest.fixture(scope="session")
def _mlgitops_plan_cache() -> dict[str, Any]:
    return {}


@pytest.fixture
def pulumi_plan(_mlgitops_plan_cache: dict[str, Any], request: pytest.FixtureRequest) -> Callable[..., Any]:
    """`pulumi_plan(program_dir, stack="dev", config=None) -> mlgitops.plan.Plan`; relative dirs resolve from rootdir."""
    from mlgitops.plan import plan_program

    def run(program_dir: str | Path, stack: str = "dev", config: dict[str, Any] | None = None):
        path = Path(program_dir)
        if not path.is_absolute():
            path = Path(request.config.rootpath) / path
        key = json.dumps([str(path.resolve()), stack, config or {}], sort_keys=True)
        if key not in _mlgitops_plan_cache:
            _mlgitops_plan_cache[key] = plan_program(path, stack, config)
        return _mlgitops_plan_cache[key]

    return run


@pytest.fixture
def mlgitops_plan(_mlgitops_plan_cache: dict[str, Any], request: pytest.FixtureRequest) -> Callable[..., Any]:
    """`mlgitops_plan(project_dir, env="local", deploy_state=None) -> Plan` of an mlgitops project's stack."""
    from mlgitops.config import load
    from mlgitops.plan import plan_project

    def run(project_dir: str | Path, env: str = "local", deploy_state: dict[str, Any] | None = None):
        path = Path(project_dir)
        if not path.is_absolute():
            path = Path(request.config.rootpath) / path
        key = json.dumps(["project", str(path.resolve()), env, deploy_state], sort_keys=True, default=str)
        if key not in _mlgitops_plan_cache:
            _mlgitops_plan_cache[key] = plan_project(load(path, env), deploy_state)
        return _mlgitops_plan_cache[key]

    return run
