"""Policy rules through the offline engine on real planned resources (a plain pulumi_aws program and the example
project), with the same pulumi_policy objects the CrossGuard pack is built from."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from mlgitops.aws_api import FAMILIES
from mlgitops.policies import all_rules
from mlgitops.policies.engine import check_plan
from tests.infra_helpers import copy_example, release
from tests.policies_helpers import SETTINGS, write_program

# rule -> the bad twin in tests/data/policy_program that must violate it (good-* twins must not).
BAD = {
    "s3-versioning": "bad-bucket",
    "s3-sse-kms": "bad-bucket",
    "s3-public-access-block": "bad-bucket",
    "s3-ownership-enforced": "bad-bucket",
    "s3-tls-only": "bad-bucket",
    "s3-no-wildcard-principal": "bad-bucket-policy",
    "s3-no-public-acl": "bad-bucket",
    "s3-lifecycle-abort-multipart": "bad-bucket",
    "s3-access-logging-prod": "bad-bucket",
    "s3-no-force-destroy-prod": "bad-bucket",
    "kms-rotation": "bad-key",
    "kms-policy-no-wildcard-principal": "bad-key",
    "kms-deletion-window": "bad-key",
    "ecr-immutable-tags": "bad-repo",
    "ecr-scan-on-push": "bad-repo",
    "ecr-kms": "bad-repo",
    "ecr-no-public-policy": "bad-repo-policy",
    "ecr-no-force-delete-prod": "bad-repo",
    "logs-retention": "bad-logs-group",
    "logs-kms": "bad-logs-group",
    "batch-no-privileged": "bad-job",
    "batch-job-fits-instance": "bad-job",  # 8192 MiB: all of an m5.large, more than a job may have
    "iam-no-wildcard-action": "bad-role-policy",
    "iam-no-full-admin": "bad-admin-policy",
    "iam-no-admin-attachments": "bad-attachment",
    "iam-trust-no-wildcard-principal": "bad-open-role",
    "iam-trust-service-source-account": "bad-role",
    "iam-trust-oidc-audience": "bad-oidc-role",
    "iam-trust-oidc-sub-pinned": "bad-oidc-role",
    "sagemaker-endpoint-kms": "bad-config",
    "sagemaker-data-capture-prod": "bad-config",
    "sagemaker-data-capture-kms": "bad-capture-config",
    "sagemaker-data-capture-destination": "bad-capture-config",
    "sagemaker-variant-min-instances-prod": "bad-config",
    "sagemaker-instance-type-allowlist": "bad-notebook",
    "sagemaker-model-network-isolation": "bad-model",
    "sagemaker-blue-green-prod": "bad-endpoint",
    "sagemaker-auto-rollback-prod": "bad-endpoint",
    "sagemaker-autoscaling-prod": "bad-unscaled-endpoint",
    "sagemaker-model-monitor-prod": "bad-unmonitored-endpoint",
    "sagemaker-autoscaling-policy": "bad-target",
    "sagemaker-notebook-no-internet": "bad-notebook",
    "sagemaker-notebook-no-root": "bad-notebook",
    "tags-required": "bad-key",
    "iam-lint-unknown-action": "bad-lint-unknown-action",
    "iam-lint-condition-key": "bad-lint-condition-key",
    "iam-lint-resource-arn": "bad-lint-resource-arn",
    "iam-lint-malformed": "bad-lint-malformed",
}
# Stack rules about settings rather than one resource: tested below with their own passing and failing cases.
SETTINGS_RULES = {
    "sagemaker-training-volume-kms",
    "sagemaker-training-output-kms",
    "sagemaker-training-inter-container-encryption",
    "sagemaker-training-max-runtime",
    "sagemaker-training-spot-nonprod",
    "cost-budget",
    "policy-exemption-expired",
    "s3-bucket-name-suffix",
    "policy-pack-settings",
}


@pytest.fixture(scope="module")
def plan(tmp_path_factory):
    from mlgitops.plan import plan_program

    return plan_program(write_program(tmp_path_factory.mktemp("pol") / "prog"), "prod")


@pytest.fixture(scope="module")
def findings(plan):
    return check_plan(plan, SETTINGS, {})


def by(findings, rule):
    return [f for f in findings if f.policy == rule]


def test_at_least_45_infrastructure_rules_each_tested():
    rules = all_rules()
    infra = {n for n, r in rules.items() if r.kind in ("resource", "stack")}
    assert len(infra) >= 45
    assert infra == set(BAD) | SETTINGS_RULES | set(FAMILIES)  # aws-api-* families: tests/test_aws_api.py
    assert {n for n, r in rules.items() if r.kind == "change"} == {
        "sagemaker-instance-type-autoscaled"
    }  # test_instance_type_change.py
    assert all(r.description and r.enforcement in ("mandatory", "advisory") for r in rules.values())


@pytest.mark.parametrize("rule", sorted(BAD))
def test_rule_fails_on_the_bad_twin_and_passes_the_good_ones(findings, rule):
    hits = by(findings, rule)
    assert BAD[rule] in {f.resource for f in hits}, f"{rule} missed {BAD[rule]}: {hits}"
    assert not [f for f in hits if f.resource.startswith("good-")]
    assert all(f.status == "violation" and f.message for f in hits)


def test_the_good_twins_pass_every_rule(findings):
    assert not [f for f in findings if f.resource.startswith("good-")]


def test_prod_only_rules_pass_outside_prod(plan):
    staging = check_plan(plan, {**SETTINGS, "env": "staging"}, {})
    for rule in (
        "s3-access-logging-prod",
        "sagemaker-blue-green-prod",
        "sagemaker-variant-min-instances-prod",
        "sagemaker-autoscaling-prod",
        "s3-no-force-destroy-prod",
    ):
        assert not by(staging, rule), rule


def test_training_rules_read_the_declared_jobs(plan):
    good = {"model": "m", "backend": "sagemaker", "instance_count": 1, "max_runtime_minutes": 60, "spot": True}
    bad = {"model": "m", "backend": "sagemaker", "instance_count": 4, "max_runtime_minutes": 0, "spot": False}
    rules = (
        "sagemaker-training-inter-container-encryption",
        "sagemaker-training-max-runtime",
        "sagemaker-training-spot-nonprod",
    )
    ok = check_plan(plan, {**SETTINGS, "env": "staging", "training": [good]}, {})
    assert not [f for f in ok if f.policy.startswith("sagemaker-training")]
    ko = check_plan(plan, {**SETTINGS, "env": "staging", "training": [bad]}, {})
    assert {f.policy for f in ko} >= set(rules)
    assert not by(
        check_plan(plan, {**SETTINGS, "training": [bad]}, {}), "sagemaker-training-spot-nonprod"
    )  # prod may run on-demand
    keyless = plan.model_copy(update={"resources": [r for r in plan.resources if r.type != "aws:kms/key:Key"]})
    no_key = check_plan(keyless, {**SETTINGS, "training": [good]}, {})
    assert {f.policy for f in no_key} >= {"sagemaker-training-volume-kms", "sagemaker-training-output-kms"}


def test_cost_estimate_against_the_budget(plan):
    over = by(check_plan(plan, {**SETTINGS, "budget_usd_month": 100}, {}), "cost-budget")
    assert any("exceeds the budget of $100.00" in f.message for f in over)
    assert any("no price for bad-notebook" in f.message for f in over)
    within = by(check_plan(plan, {**SETTINGS, "budget_usd_month": 1_000_000}, {}), "cost-budget")
    assert within and not any("exceeds" in f.message for f in within)


def test_unknown_values_are_reported_not_passed(plan):
    from mlgitops.plan import Plan

    data = plan.to_dict()
    for r in data["resources"]:
        if r["name"] == "good-key":
            r["inputs"]["enableKeyRotation"] = "<unknown>"
        if r["name"] == "good-bucket-versioning":
            r["inputs"]["versioningConfiguration"] = "<unknown>"
    found = check_plan(Plan.model_validate(data), SETTINGS, {})
    rotation = [f for f in by(found, "kms-rotation") if f.resource == "good-key"]
    assert rotation and rotation[0].status == "unchecked" and "cannot be checked before deploy" in rotation[0].message
    stack = by(found, "s3-versioning")
    assert any(f.status == "unchecked" for f in stack)


def test_enforcement_levels_and_exemptions(plan):
    from mlgitops.policies.engine import Findings

    found = check_plan(plan, SETTINGS, {"kms-rotation": "disabled", "ecr-kms": "advisory", "logs-kms": "mandatory"})
    assert not by(found, "kms-rotation")
    assert {f.enforcement for f in by(found, "ecr-kms")} == {"advisory"}
    assert (
        Findings(env="prod", findings=by(found, "logs-kms")).blocked
        and not Findings(env="prod", findings=by(found, "ecr-kms")).blocked
    )
    today = dt.date(2026, 6, 1)
    live = {"rule": "kms-*", "resource": "bad-key", "reason": "migration", "expires": "2026-12-31"}
    cfg = {**SETTINGS, "today": today.isoformat(), "exemptions": [live]}
    exempted = check_plan(plan, cfg, {})
    assert not [f for f in exempted if f.policy.startswith("kms-") and f.resource == "bad-key"]
    assert by(exempted, "tags-required") and not by(exempted, "policy-exemption-expired")
    expired = check_plan(plan, {**cfg, "exemptions": [{**live, "expires": "2026-05-31"}]}, {})
    assert by(expired, "kms-rotation")  # the waiver no longer applies
    assert "expired on 2026-05-31" in by(expired, "policy-exemption-expired")[0].message


def test_example_project_every_environment_has_no_mandatory_violation(tmp_path_factory):
    from mlgitops.config import load
    from mlgitops.plan import plan_environments
    from mlgitops.policies.engine import check

    root = copy_example(tmp_path_factory.mktemp("churn") / "churn")
    envs = load(root).env_names
    plans = plan_environments(root, envs, {e: (release(e) if e != "local" else None) for e in envs})
    for env, p in plans.items():
        result = check(load(root, env), p)
        assert not result.blocked, (env, [f for f in result.findings if f.enforcement == "mandatory"])
        assert result.summary["mandatory"] == 0
    prod = check(load(root, "prod"), plans["prod"])
    assert prod.cost is not None and prod.cost.monthly_usd > 0  # endpoints at min instances are priced
    assert any(r.type == "aws:sagemaker/endpoint:Endpoint" for r in plans["prod"].resources)


def test_pack_builder_gives_pulumi_policy_objects_with_settings(tmp_path):
    from pulumi_policy import EnforcementLevel, ResourceValidationPolicy, StackValidationPolicy

    from mlgitops.config import load
    from mlgitops.policies.pack import pack_arguments

    root = copy_example(tmp_path / "churn")
    args = pack_arguments(load(root, "prod"))
    infra = {n for n, r in all_rules().items() if r.kind in ("resource", "stack")}
    assert {p.name for p in args["policies"]} == infra
    assert all(isinstance(p, (ResourceValidationPolicy, StackValidationPolicy)) for p in args["policies"])
    cfg = args["initial_config"]["kms-rotation"]
    assert (
        cfg["enforcementLevel"] is EnforcementLevel.MANDATORY
        and cfg["env"] == "prod"
        and cfg["budget_usd_month"] == 3000
    )
    staging = pack_arguments(load(root, "staging"))
    assert staging["initial_config"]["kms-rotation"]["enforcementLevel"] is EnforcementLevel.ADVISORY
    json.dumps(
        {k: {kk: vv for kk, vv in v.items() if kk != "enforcementLevel"} for k, v in args["initial_config"].items()}
    )


def test_pack_reads_project_and_environment_from_the_environment(tmp_path, monkeypatch):
    from mlgitops.policies.pack import pack_from_environment

    root = copy_example(tmp_path / "churn")
    monkeypatch.setenv("MLGITOPS_PROJECT", str(root))
    monkeypatch.setenv("MLGITOPS_ENV", "prod")
    assert pack_from_environment()["initial_config"]["s3-tls-only"]["env"] == "prod"
    monkeypatch.setenv("MLGITOPS_PROJECT", str(tmp_path / "nowhere"))
    defaults = pack_from_environment()["initial_config"]
    assert defaults["s3-tls-only"]["env"] == "local"  # defaults outside a project, and it says so
    assert "nowhere has no mlgitops.yaml" in defaults["policy-pack-settings"]["settings_note"]


def test_pack_finds_the_project_at_or_above_pwd_and_says_so_when_it_does_not(tmp_path):
    """The CLI starts the pack from the pack's folder: only $PWD knows where the user was."""
    from pulumi_policy import EnforcementLevel

    from mlgitops.policies.pack import find_project, pack_from_environment

    root = copy_example(tmp_path / "churn")
    (root / "infra" / "deep").mkdir(parents=True)
    assert find_project({"PWD": str(root / "infra" / "deep")})[0] == root
    found = pack_from_environment({"PWD": str(root / "infra"), "PULUMI_STACK": "prod"})["initial_config"]
    assert (
        found["s3-tls-only"]["env"] == "prod" and found["s3-tls-only"]["enforcementLevel"] is EnforcementLevel.MANDATORY
    )
    assert found["s3-tls-only"]["settings_note"] is None and found["cost-budget"]["budget_usd_month"] == 3000
    assert (
        pack_from_environment({"PWD": str(root), "PULUMI_STACK": "org/churn/staging"})["initial_config"]["s3-tls-only"][
            "env"
        ]
        == "staging"
    )

    lost = pack_from_environment({"PWD": str(tmp_path / "elsewhere")})["initial_config"]
    note = lost["policy-pack-settings"]["settings_note"]
    assert "no mlgitops.yaml at or above $PWD" in note and "MLGITOPS_PROJECT" in note
    assert lost["s3-tls-only"]["enforcementLevel"] is EnforcementLevel.ADVISORY  # the documented default, not mandatory
    assert lost["aws-api-s3"]["enforcementLevel"] is EnforcementLevel.MANDATORY  # what AWS refuses stays pinned


def test_the_pack_settings_rule_reports_only_a_note(plan):
    assert not by(check_plan(plan, SETTINGS, {}), "policy-pack-settings")
    (hit,) = by(check_plan(plan, {**SETTINGS, "settings_note": "no mlgitops.yaml"}, {}), "policy-pack-settings")
    assert hit.enforcement == "advisory" and hit.message == "no mlgitops.yaml"


def first_preview(plan):
    """The plan as a first `pulumi preview` sees it: every side resource's `bucket`, a logging target and every bucket
    policy (built from the bucket's ARN) are unknown; only dependency links say which bucket they belong to."""
    from mlgitops.plan import Plan

    data = plan.to_dict()
    for r in data["resources"]:
        if r["type"].startswith("aws:s3/bucket") and r["type"] != "aws:s3/bucket:Bucket":
            for key in ("bucket", "targetBucket", "policy"):
                if key in r["inputs"]:
                    r["inputs"][key] = "<unknown>"
            if "rules" in r["inputs"] and r["type"].endswith("ServerSideEncryptionConfiguration"):
                for rule in r["inputs"]["rules"]:
                    rule["applyServerSideEncryptionByDefault"].pop("kmsMasterKeyId", None)
                    rule["applyServerSideEncryptionByDefault"]["kmsMasterKeyId"] = "<unknown>"
    return Plan.model_validate(data)


def test_a_first_preview_of_an_insecure_bucket_is_a_violation_not_unchecked(plan):
    found = check_plan(first_preview(plan), SETTINGS, {})
    for rule in (
        "s3-public-access-block",
        "s3-versioning",
        "s3-ownership-enforced",
        "s3-sse-kms",
        "s3-lifecycle-abort-multipart",
    ):
        hits = by(found, rule)
        assert [f for f in hits if f.resource == "bad-bucket" and f.status == "violation"], (rule, hits)
        assert not [f for f in hits if f.resource.startswith("good-")], (rule, hits)
        assert not [f for f in hits if f.status == "unchecked"], (rule, hits)  # decided from links and known inputs
    # the TLS policy is built from the bucket's ARN: unknown, so unchecked, never a pass
    assert [f for f in by(found, "s3-tls-only") if f.status == "unchecked"]


def test_prod_access_logging_needs_a_log_bucket_that_lets_s3_deliver(plan):
    from mlgitops.plan import Plan

    assert not [f for f in by(check_plan(plan, SETTINGS, {}), "s3-access-logging-prod") if f.resource == "good-logs"]
    data = plan.to_dict()
    for r in data["resources"]:
        if r["name"] == "good-logs-policy":
            doc = json.loads(r["inputs"]["policy"])
            doc["Statement"] = [st for st in doc["Statement"] if st.get("Sid") != "Logs"]
            r["inputs"]["policy"] = json.dumps(doc)
    hits = by(check_plan(Plan.model_validate(data), SETTINGS, {}), "s3-access-logging-prod")
    assert [f for f in hits if f.resource == "good-logs" and "logging.s3.amazonaws.com" in f.message]


def test_a_project_without_a_bucket_name_suffix_gets_an_advisory_saying_how_to_add_one(plan):
    (hit,) = by(check_plan(plan, SETTINGS, {}), "s3-bucket-name-suffix")
    assert hit.enforcement == "advisory" and "cloud: {name_suffix:" in hit.message and "mlgitops new" in hit.message
    assert not by(check_plan(plan, {**SETTINGS, "name_suffix": "k3x9q2"}, {}), "s3-bucket-name-suffix")
    assert not by(
        check_plan(plan, {**SETTINGS, "project": ""}, {}), "s3-bucket-name-suffix"
    )  # a plain program, no mlgitops project
    levels = {"s3-bucket-name-suffix": "mandatory"}
    assert (
        by(check_plan(plan, SETTINGS, levels), "s3-bucket-name-suffix")[0].enforcement == "mandatory"
    )  # it can be made a gate


def test_the_findings_table_aligns_columns_and_keeps_every_message_whole():
    from mlgitops.evidence import Finding, Findings, FindingStatus
    from mlgitops.policies.output import render_table

    long = "bucket has no KMS encryption; " * 20  # wider than any terminal: never wrapped or cut
    table = render_table(
        Findings(
            env="prod",
            findings=[
                Finding(
                    policy="aws-api-sagemaker",
                    severity="high",
                    enforcement="advisory",
                    message="value unknown",
                    status=FindingStatus.UNCHECKED,
                ),
                Finding(
                    policy="s3-encryption",
                    severity="high",
                    enforcement="mandatory",
                    resource_urn="urn:pulumi:prod::p::aws:s3/bucket:Bucket::data",
                    resource_type="aws:s3/bucket:Bucket",
                    message=long.strip(),
                ),
            ],
        )
    )
    head, first, second, verdict = table.splitlines()
    assert head.split() == ["rule", "resource", "enforcement", "message"]
    assert first.startswith("s3-encryption") and first.endswith(long.strip())  # mandatory first
    assert second.endswith("[unchecked] value unknown")  # a status in brackets is text, not rich markup
    assert first.index("data") == second.index("stack") == head.index("resource")
    assert verdict.startswith("policy check prod: FAILED (1 mandatory")
