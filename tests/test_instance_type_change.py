"""A change of `serving.instance_type` on an autoscaled endpoint is refused at plan time, with the steps to deploy it:
SageMaker refuses UpdateEndpoint while the variant is registered for autoscaling, and Pulumi updates the endpoint
before its scaling target. Plans are made for real under Pulumi's mocks; the CLI compares with the base branch's plan."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from mlgitops.config import load
from mlgitops.evidence import Plan, PlanChanges
from mlgitops.plan import diff, plan_configs
from mlgitops.policies.engine import check
from tests.infra_helpers import copy_example, release

RULE = "sagemaker-instance-type-autoscaled"


def set_prod_serving(root: Path, **serving: object) -> None:
    doc = yaml.safe_load((root / "mlgitops.yaml").read_text())
    doc["environments"]["prod"]["models"]["churn-classifier"]["serving"].update(serving)
    (root / "mlgitops.yaml").write_text(yaml.safe_dump(doc, sort_keys=False))


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    return copy_example(tmp_path_factory.mktemp("itype") / "churn")


@pytest.fixture(scope="module")
def prod_plans(project: Path) -> dict[str, Plan]:
    """Prod before (ml.c5.xlarge), after an instance type change, after an image change alone, and unpromoted."""
    before = load(project, "prod")
    other_image = release("prod")
    other_image.models["churn-classifier"].image = "churn-prod-images:serving-fedcba9876543210"
    set_prod_serving(project, instance_type="ml.c5.2xlarge")
    after = load(project, "prod")
    set_prod_serving(project, instance_type="ml.c5.xlarge")
    plans = plan_configs([(before, release("prod")), (after, release("prod")), (before, other_image), (before, None)])
    return dict(zip(["before", "after", "image", "unpromoted"], plans, strict=False))


def findings(project: Path, old: Plan, new: Plan, **policies: object):
    config = load(project, "prod")
    if policies:
        config = config.model_copy(update={"policies": config.policies.model_copy(update=policies)})
    changes = PlanChanges(env="prod", changes=diff(old, new))
    return [f for f in check(config, new, changes=changes).findings if f.policy == RULE]


def test_an_instance_type_change_on_an_autoscaled_endpoint_is_refused_with_the_steps(project, prod_plans):
    [finding] = findings(project, prod_plans["before"], prod_plans["after"])
    assert finding.enforcement == "mandatory" and finding.status == "violation"
    assert finding.resource_type == "aws:sagemaker/endpoint:Endpoint"
    resource_id = "endpoint/churn-prod-churn-classifier/variant/AllTraffic"
    assert "ml.c5.2xlarge" in finding.message and f"--resource-id {resource_id}" in finding.message
    assert "deregister-scalable-target" in finding.message and "pulumi up --refresh" in finding.message
    assert (
        f"resource: {finding.resource_urn.rsplit('::', 1)[-1]}" in finding.message
    )  # the exemption to add, ready to paste


def test_what_can_be_deployed_in_one_go_passes(project, prod_plans):
    assert (
        findings(project, prod_plans["before"], prod_plans["image"]) == []
    )  # new model and config, same instance type
    assert findings(project, prod_plans["unpromoted"], prod_plans["after"]) == []  # the first deployment
    assert findings(project, prod_plans["after"], prod_plans["after"]) == []


def test_a_dated_exemption_lets_the_reviewed_change_through(project, prod_plans):
    from mlgitops.config.schema import Exemption

    endpoint = next(r.name for r in prod_plans["after"].resources if r.type == "aws:sagemaker/endpoint:Endpoint")
    exemption = Exemption(
        rule=RULE,
        resource=endpoint,
        reason="target deregistered by ops",
        expires=dt.date.today() + dt.timedelta(days=3),
    )
    [finding] = findings(project, prod_plans["before"], prod_plans["after"], exemptions=[exemption])
    assert finding.status == "exempted"


def run_cli(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mlgitops", "--project", str(root), *args], capture_output=True, text=True, timeout=180
    )


def test_policy_check_compares_with_the_base_branchs_plan(project, prod_plans, tmp_path):
    old, new = tmp_path / "base.json", tmp_path / "prod.json"
    old.write_text(prod_plans["before"].to_json())
    new.write_text(prod_plans["after"].to_json())
    proc = run_cli(project, "policy", "check", "--env", "prod", "--plan", str(new), "--against", str(old), "--json")
    assert proc.returncode == 1, proc.stderr
    assert RULE in {f["policy"] for f in json.loads(proc.stdout)["findings"] if f["enforcement"] == "mandatory"}
    # CI's base-plan action puts the base branch's plans in .mlgitops/evidence/base: found without --against
    base = project / ".mlgitops" / "evidence" / "base" / "plan"
    base.mkdir(parents=True)
    (base / "prod.json").write_text(old.read_text())
    proc = run_cli(project, "policy", "check", "--env", "prod", "--plan", str(new), "--json")
    assert RULE in {f["policy"] for f in json.loads(proc.stdout)["findings"]}


def test_a_missing_base_is_bad_input_and_writes_nothing(project, tmp_path):
    proc = run_cli(project, "policy", "check", "--env", "staging", "--against", str(tmp_path / "nope.json"))
    assert proc.returncode == 2 and "--against" in proc.stderr and "Traceback" not in proc.stderr
    assert not (project / ".mlgitops" / "evidence" / "local" / "plan" / "staging.json").exists()
