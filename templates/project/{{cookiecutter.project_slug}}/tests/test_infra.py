"""The stacks as a pull request sees them: each environment planned offline (no cloud, no Pulumi CLI) and
checked against every policy, with a model promoted so the serving rules apply too."""
from pathlib import Path

import pytest

from mlgitops.config import load
from mlgitops.infra import deploy_state
from mlgitops.policies.engine import check

ROOT = Path(__file__).resolve().parents[1]
ENVS = load(ROOT).env_names


def promoted(env: str) -> dict:
    """deploy/<env>.yaml as `mlgitops promote` writes it (trimmed to what the stack reads)."""
    config = load(ROOT, env)
    return {"env": env, "models": {name: {
        "version": "1", "registry_name": config.registry_name(name), "model_uri": f"models:/{config.registry_name(name)}/1",
        "artifact_uri": f"s3://{config.name('models')}/{name}/1/model.tar.gz", "run_id": "0" * 32, "digest": "sha256:" + "0" * 64}
        for name in config.models}}


@pytest.mark.parametrize("env", ENVS)
def test_no_mandatory_policy_violation(mlgitops_plan, env):
    plan = mlgitops_plan(ROOT, env, promoted(env))
    if env != "local":  # local is embedded: `mlgitops serve` is its endpoint
        assert plan.by_type("aws:sagemaker/endpoint:Endpoint"), "the promoted model has no endpoint"
    findings = check(load(ROOT, env), plan)
    assert not findings.blocked, [f"{f.policy}: {f.message}" for f in findings.findings if f.enforcement == "mandatory"]


def test_pulumi_program_declares_what_the_plan_shows(pulumi_plan, mlgitops_plan):
    env = ENVS[-1]
    program = pulumi_plan(ROOT / "infra", stack=env)  # infra/__main__.py, what `pulumi up --stack <env>` runs
    assert sorted(r.urn for r in program.resources) == sorted(r.urn for r in mlgitops_plan(ROOT, env, deploy_state(ROOT, env)).resources)
