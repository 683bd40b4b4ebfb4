"""CI identity: a role per job, each trusted by one GitHub environment and able to do exactly its job, planned for real
under Pulumi's mocks for a project with `platform: {ci_identity: true}` and an endpoint promoted to staging and prod."""

from __future__ import annotations

import fnmatch
import inspect
import json
import re
from pathlib import Path

import pytest
import yaml

from mlgitops import iamdb
from mlgitops.config import load
from mlgitops.infra import permissions
from mlgitops.infra.permissions import NEEDS, Scope, UnscopedAction, deploy_policy
from mlgitops.plan import Plan, plan_configs
from tests.infra_helpers import copy_example, release

ACCOUNT = "123456789012"
REGION = "eu-west-1"
REPO = "example-org/churn"
SUB = "token.actions.githubusercontent.com:sub"


def _project(base: Path, **changes) -> Path:
    project = copy_example(base / "churn")
    doc = yaml.safe_load((project / "mlgitops.yaml").read_text())
    doc["platform"] = {"ci_identity": True, **changes.pop("platform", {})}
    if "compute" in changes:
        doc["models"]["churn-classifier"]["compute"] = changes.pop("compute")
    (project / "mlgitops.yaml").write_text(yaml.safe_dump(doc))
    return project


@pytest.fixture(scope="module")
def plans(tmp_path_factory) -> dict[str, Plan]:
    """staging and prod with an endpoint promoted, and prod with Batch training and an MLflow server (every type)."""
    project = _project(tmp_path_factory.mktemp("ci"))
    full = _project(
        tmp_path_factory.mktemp("full"),
        platform={"tracking_server": True},
        compute={"backend": "batch", "instance_type": "g5.xlarge", "gpus": 1},
    )
    items = [
        (load(project, "staging"), release("staging")),
        (load(project, "prod"), release("prod")),
        (load(full, "prod"), release("prod")),
    ]
    return dict(zip(["staging", "prod", "full"], plan_configs(items), strict=False))


def roles(plan: Plan) -> dict[str, dict]:
    """Role name -> its trust policy, for every role the plan declares."""
    return {r.inputs["name"]: json.loads(r.inputs["assumeRolePolicy"]) for r in plan.by_type("aws:iam/role:Role")}


def policy(plan: Plan, role: str) -> dict:
    (found,) = [r for r in plan.by_type("aws:iam/rolePolicy:RolePolicy") if r.inputs["role"] == role]
    return json.loads(found.inputs["policy"])


def subjects(trust: dict) -> list[str]:
    out = []
    for st in trust["Statement"]:
        for test in st.get("Condition", {}).values():
            value = test.get(SUB)
            out += [value] if isinstance(value, str) else (value or [])
    return out


# --- a small evaluator of identity policies: enough to ask "may this role do X to Y" --------------------------------


def _listed(value) -> list:
    return value if isinstance(value, list) else [value]


def _condition_holds(condition: dict, context: dict[str, str]) -> bool:
    for test, pairs in condition.items():
        for key, wanted in pairs.items():
            got = context.get(key)
            if got is None:
                return False
            values = [str(v).lower() for v in _listed(wanted)] if test == "Bool" else [str(v) for v in _listed(wanted)]
            got = got.lower() if test == "Bool" else got
            if test in ("StringLike", "ArnLike"):
                if not any(fnmatch.fnmatchcase(got, v) for v in values):
                    return False
            elif got not in values:
                return False
    return True


def allows(doc: dict, action: str, arn: str, context: dict[str, str] | None = None) -> bool:
    """Whether `doc` allows `action` on `arn` (explicit deny wins), conditions evaluated against `context`."""

    def matches(st: dict) -> bool:
        acts = [a.lower() for a in _listed(st["Action"])]
        return (
            any(fnmatch.fnmatchcase(action.lower(), a) for a in acts)
            and any(fnmatch.fnmatchcase(arn, r) for r in _listed(st["Resource"]))
            and _condition_holds(st.get("Condition", {}), context or {})
        )

    statements = doc["Statement"]
    return not any(matches(st) for st in statements if st["Effect"] == "Deny") and any(
        matches(st) for st in statements if st["Effect"] == "Allow"
    )


def actions_in(doc: dict, effect: str = "Allow") -> set[str]:
    return {a for st in doc["Statement"] if st["Effect"] == effect for a in _listed(st["Action"])}


# --- trust --------------------------------------------------------------------------------------------------------


def test_the_prod_deploy_role_is_trusted_by_the_prod_environment_alone(plans):
    trust = roles(plans["prod"])["churn-prod-deploy"]
    (statement,) = trust["Statement"]
    assert statement["Action"] == "sts:AssumeRoleWithWebIdentity"
    assert statement["Principal"] == {
        "Federated": f"arn:aws:iam::{ACCOUNT}:oidc-provider/token.actions.githubusercontent.com"
    }
    assert statement["Condition"] == {
        "StringEquals": {
            "token.actions.githubusercontent.com:aud": "sts.amazonaws.com",
            SUB: f"repo:{REPO}:environment:prod",
        }
    }
    assert subjects(roles(plans["staging"])["churn-staging-deploy"]) == [f"repo:{REPO}:environment:staging"]


def test_publish_and_observe_roles_trust_their_own_environments(plans):
    for env in ("staging", "prod"):
        trusts = roles(plans[env])
        assert subjects(trusts[f"churn-{env}-publish"]) == [f"repo:{REPO}:environment:publish"]
        assert subjects(trusts[f"churn-{env}-observe"]) == [f"repo:{REPO}:environment:observe"]
    assert plans["prod"].outputs["ci_role_arns"] == {
        "deploy-prod": f"arn:aws:iam::{ACCOUNT}:role/churn-prod-deploy",
        "publish": f"arn:aws:iam::{ACCOUNT}:role/churn-prod-publish",
        "observe": f"arn:aws:iam::{ACCOUNT}:role/churn-prod-observe",
    }


def test_no_role_trusts_pull_requests_or_a_ref_wildcard(plans):
    for name, plan in plans.items():
        for role, trust in roles(plan).items():
            for st in trust["Statement"]:
                assert "StringLike" not in st.get("Condition", {}), (name, role, "a pattern in the trust policy")
            for sub in subjects(trust):
                assert "pull_request" not in sub and ":ref:" not in sub and "*" not in sub, (name, role, sub)


def test_the_embedded_local_environment_gets_no_ci_roles(tmp_path):
    (plan,) = plan_configs([(load(_project(tmp_path), "local"), None)])
    assert not [
        r for r in plan.by_type("aws:iam/role:Role") if r.inputs["name"].endswith(("-deploy", "-publish", "-observe"))
    ]
    assert "ci_role_arns" not in plan.outputs and any("no CI roles in local" in n for n in plan.notes)


def test_the_project_stack_looks_the_github_provider_up_instead_of_creating_one(plans):
    for plan in plans.values():
        assert plan.by_type("aws:iam/openIdConnectProvider:OpenIdConnectProvider") == []


# --- what each role may do ----------------------------------------------------------------------------------------


# Each type's ARN as AWS names it, from the resource's planned inputs (names AWS picks itself are made up).
ARN_FORMATS = {
    "aws:s3/bucket:Bucket": "arn:aws:s3:::{bucket}",
    "aws:kms/key:Key": "arn:aws:kms:{region}:{account}:key/1234abcd-0000-4000-8000-0123456789ab",
    "aws:kms/alias:Alias": "arn:aws:kms:{region}:{account}:{name}",
    "aws:iam/role:Role": "arn:aws:iam::{account}:role/{name}",
    "aws:iam/rolePolicy:RolePolicy": "arn:aws:iam::{account}:role/{role}",
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment": "arn:aws:iam::{account}:role/{role}",
    "aws:iam/instanceProfile:InstanceProfile": "arn:aws:iam::{account}:instance-profile/{name}",
    "aws:ecr/repository:Repository": "arn:aws:ecr:{region}:{account}:repository/{name}",
    "aws:sagemaker/model:Model": "arn:aws:sagemaker:{region}:{account}:model/{name}",
    "aws:sagemaker/endpointConfiguration:EndpointConfiguration": "arn:aws:sagemaker:{region}:{account}:endpoint-config/{name}",
    "aws:sagemaker/endpoint:Endpoint": "arn:aws:sagemaker:{region}:{account}:endpoint/{name}",
    "aws:sagemaker/dataQualityJobDefinition:DataQualityJobDefinition": "arn:aws:sagemaker:{region}:{account}:data-quality-job-definition/{name}",
    "aws:sagemaker/monitoringSchedule:MonitoringSchedule": "arn:aws:sagemaker:{region}:{account}:monitoring-schedule/{name}",
    "aws:sagemaker/mlflowTrackingServer:MlflowTrackingServer": "arn:aws:sagemaker:{region}:{account}:mlflow-tracking-server/{trackingServerName}",
    "aws:cloudwatch/metricAlarm:MetricAlarm": "arn:aws:cloudwatch:{region}:{account}:alarm:{name}",
    "aws:appautoscaling/target:Target": "arn:aws:application-autoscaling:{region}:{account}:scalable-target/056f0a6b8e5e4a1b9c0d",
    "aws:batch/computeEnvironment:ComputeEnvironment": "arn:aws:batch:{region}:{account}:compute-environment/{name}",
    "aws:batch/jobQueue:JobQueue": "arn:aws:batch:{region}:{account}:job-queue/{name}",
    "aws:batch/jobDefinition:JobDefinition": "arn:aws:batch:{region}:{account}:job-definition/{name}:1",
    "aws:ec2/securityGroup:SecurityGroup": "arn:aws:ec2:{region}:{account}:security-group/sg-0123456789abcdef0",
}


def concrete_arns(plan: Plan) -> dict[str, list[tuple[str, dict[str, str]]]]:
    """Each planned resource's ARN with the request context acting on it holds (its tags, the policy an attachment
    attaches), by Pulumi type; a bucket's side resources act on the bucket."""
    out: dict[str, list[tuple[str, dict[str, str]]]] = {}
    for res in plan.resources:
        fmt = ARN_FORMATS.get(res.type) or (
            ARN_FORMATS["aws:s3/bucket:Bucket"] if res.type.startswith("aws:s3/bucket") else None
        )
        if fmt is None:
            continue
        context = {f"aws:ResourceTag/{k}": v for k, v in (res.inputs.get("tags") or {}).items()}
        if "policyArn" in res.inputs:
            context["iam:PolicyARN"] = res.inputs["policyArn"]
        out.setdefault(res.type, []).append(
            (fmt.format_map({**res.inputs, "region": REGION, "account": ACCOUNT}), context)
        )
    endpoints = [arn.rsplit("/", 1)[1] for arn, _ in out.get("aws:sagemaker/endpoint:Endpoint", [])]
    out["target-tracking alarms"] = [
        (f"arn:aws:cloudwatch:{REGION}:{ACCOUNT}:alarm:TargetTracking-endpoint/{e}/variant/AllTraffic-AlarmHigh-1", {})
        for e in endpoints
    ]
    return out


def test_the_deploy_policy_covers_every_action_each_declared_type_needs(plans):
    """For each planned resource, each action of its type is allowed on its own ARN, or, for calls on another of the
    stack's resources (kms:CreateGrant for an endpoint config, the alarms of target tracking), on that resource's ARN."""
    for name, plan in plans.items():
        env = "staging" if name == "staging" else "prod"
        doc = policy(plan, f"churn-{env}-deploy")
        arns = concrete_arns(plan)
        every = [pair for pairs in arns.values() for pair in pairs]
        declared = {r.type for r in plan.resources if not r.type.startswith(("mlgitops:", "pulumi:"))}
        assert declared <= set(NEEDS), declared - set(NEEDS)
        for type_ in declared:
            for action in NEEDS[type_].actions:
                info = iamdb.action(action)
                if not info.arns:  # takes only "*"
                    context = {"aws:RequestTag/project": "churn", "aws:RequestTag/env": env}
                    assert allows(doc, action, "*", context), (name, type_, action)
                    continue
                own = [
                    (arn, ctx) for arn, ctx in arns.get(type_, []) if any(iamdb.arn_matches(arn, t) for t in info.arns)
                ]
                targets = own or [(arn, ctx) for arn, ctx in every if any(iamdb.arn_matches(arn, t) for t in info.arns)]
                assert targets, (name, type_, action, "no resource of the plan to act on")
                for arn, context in targets:
                    if arn.endswith(f":role/churn-{env}-deploy") and action in permissions.SELF_PROTECTED:
                        continue  # its own role: an administrator's change (test_the_deploy_role_cannot_change_its_own_role...)
                    assert allows(doc, action, arn, context), (name, type_, action, arn)


def test_the_deploy_policy_reaches_nothing_outside_its_stack(plans):
    doc = policy(plans["prod"], "churn-prod-deploy")
    foreign = [
        ("s3:DeleteBucket", "arn:aws:s3:::churn-staging-models", {}),
        ("s3:GetObject", "arn:aws:s3:::churn-prod-models/churn-classifier/model.tar.gz", {}),
        ("iam:PutRolePolicy", f"arn:aws:iam::{ACCOUNT}:role/admin", {}),
        ("sagemaker:DeleteEndpoint", f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:endpoint/other-prod-x", {}),
        (
            "kms:ScheduleKeyDeletion",
            f"arn:aws:kms:{REGION}:{ACCOUNT}:key/k",
            {"aws:ResourceTag/project": "other", "aws:ResourceTag/env": "prod"},
        ),
        (
            "kms:ScheduleKeyDeletion",
            f"arn:aws:kms:{REGION}:{ACCOUNT}:key/k",
            {"aws:ResourceTag/project": "churn", "aws:ResourceTag/env": "staging"},
        ),
        ("kms:CreateKey", "*", {}),  # untagged
        (
            "iam:CreateOpenIDConnectProvider",
            f"arn:aws:iam::{ACCOUNT}:oidc-provider/token.actions.githubusercontent.com",
            {},
        ),
    ]
    for action, arn, context in foreign:
        assert not allows(doc, action, arn, context), (action, arn)
    assert not any(a == "*" or a.endswith(":*") for a in actions_in(doc))


def test_pass_role_names_only_the_stacks_roles_and_the_services_that_assume_them(plans):
    for name, plan in plans.items():
        env = "staging" if name == "staging" else "prod"
        doc = policy(plan, f"churn-{env}-deploy")
        passrole = [
            st for st in doc["Statement"] if st["Effect"] == "Allow" and "iam:PassRole" in _listed(st["Action"])
        ]
        assert passrole and all(_listed(st["Action"]) == ["iam:PassRole"] for st in passrole)
        service_roles = {
            role: {p for st in trust["Statement"] for p in _listed(st["Principal"].get("Service", []))}
            for role, trust in roles(plan).items()
        }
        for st in passrole:
            services = set(_listed(st["Condition"]["StringEquals"]["iam:PassedToService"]))
            for arn in _listed(st["Resource"]):
                role = arn.rsplit("/", 1)[1]
                assert service_roles.get(role), (name, arn, "not a service role of the stack")
                assert service_roles[role] <= services, (name, role, services)
                assert f"arn:aws:iam::{ACCOUNT}:role/" in arn and "*" not in arn
        passed = {arn.rsplit("/", 1)[1] for st in passrole for arn in _listed(st["Resource"])}
        assert f"churn-{env}-training" in passed and f"churn-{env}-deploy" not in passed
        assert ("churn-prod-mlflow" in passed) == (name == "full") and ("churn-prod-batch-job" in passed) == (
            name == "full"
        )
        assert not allows(
            doc,
            "iam:PassRole",
            f"arn:aws:iam::{ACCOUNT}:role/churn-{env}-training",
            {"iam:PassedToService": "ec2.amazonaws.com"},
        )


def test_the_deploy_role_cannot_change_its_own_role_or_policies(plans):
    doc = policy(plans["prod"], "churn-prod-deploy")
    own = f"arn:aws:iam::{ACCOUNT}:role/churn-prod-deploy"
    (deny,) = [st for st in doc["Statement"] if st["Effect"] == "Deny"]
    assert deny["Resource"] == own
    for action in (
        "iam:PutRolePolicy",
        "iam:AttachRolePolicy",
        "iam:UpdateAssumeRolePolicy",
        "iam:PutRolePermissionsBoundary",
        "iam:DeleteRolePermissionsBoundary",
        "iam:DeleteRolePolicy",
        "iam:PassRole",
    ):
        assert not allows(doc, action, own, {"iam:PolicyARN": "arn:aws:iam::aws:policy/AdministratorAccess"}), action
    assert allows(doc, "iam:GetRole", own) and allows(
        doc, "iam:PutRolePolicy", f"arn:aws:iam::{ACCOUNT}:role/churn-prod-training"
    )
    full = policy(plans["full"], "churn-prod-deploy")  # attaching: only the managed policy the stack attaches
    target = f"arn:aws:iam::{ACCOUNT}:role/churn-prod-batch-instance"
    assert allows(
        full,
        "iam:AttachRolePolicy",
        target,
        {"iam:PolicyARN": "arn:aws:iam::aws:policy/service-role/AmazonEC2ContainerServiceforEC2Role"},
    )
    assert not allows(
        full, "iam:AttachRolePolicy", target, {"iam:PolicyARN": "arn:aws:iam::aws:policy/AdministratorAccess"}
    )


def test_service_linked_roles_only_for_the_services_the_stack_uses(plans):
    doc = policy(plans["prod"], "churn-prod-deploy")
    slr = f"arn:aws:iam::{ACCOUNT}:role/aws-service-role/sagemaker.application-autoscaling.amazonaws.com/AWSServiceRoleForApplicationAutoScaling_SageMakerEndpoint"
    assert allows(
        doc,
        "iam:CreateServiceLinkedRole",
        slr,
        {"iam:AWSServiceName": "sagemaker.application-autoscaling.amazonaws.com"},
    )
    assert not allows(doc, "iam:CreateServiceLinkedRole", slr, {"iam:AWSServiceName": "batch.amazonaws.com"})
    assert allows(
        policy(plans["full"], "churn-prod-deploy"),
        "iam:CreateServiceLinkedRole",
        slr,
        {"iam:AWSServiceName": "batch.amazonaws.com"},
    )


def test_the_observe_role_reads_the_stack_and_what_monitor_compares_only(plans):
    doc = policy(plans["prod"], "churn-prod-observe")
    reads = {a for a in actions_in(doc) if a.split(":", 1)[1].startswith(("Describe", "Get", "List"))}
    assert actions_in(doc) - reads == {"kms:Decrypt"}, actions_in(doc) - reads  # the captured objects are encrypted
    assert allows(
        doc,
        "s3:GetObject",
        "arn:aws:s3:::churn-prod-models/data-capture/churn-classifier/AllTraffic/2026/01/01/00/x.jsonl",
    )
    assert allows(
        doc, "s3:ListBucket", "arn:aws:s3:::churn-prod-models", {"s3:prefix": "data-capture/churn-classifier/"}
    )
    # `mlgitops monitor` predicts the reference with the served model and reads the training data: its own stack's only
    assert allows(doc, "s3:GetObject", "arn:aws:s3:::churn-prod-models/churn-classifier/abc/model.tar.gz")
    assert allows(doc, "s3:GetObject", "arn:aws:s3:::churn-prod-data/datasets/train/x.csv")
    assert not allows(doc, "s3:GetObject", "arn:aws:s3:::churn-staging-models/churn-classifier/abc/model.tar.gz")
    assert not allows(doc, "s3:PutObject", "arn:aws:s3:::churn-prod-models/data-capture/x.jsonl")
    assert allows(
        doc, "sagemaker:DescribeEndpoint", f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:endpoint/churn-prod-churn-classifier"
    )
    assert not allows(doc, "sagemaker:DescribeEndpoint", f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:endpoint/other-prod-x")


# --- the publish role: main's promotion, image pushes and remote training ------------------------------------------


def publish_calls(plan: Plan, root: Path, batch: bool) -> list[tuple[str, str, dict[str, str]]]:
    """Every call `mlgitops promote`, the image pushes and `mlgitops train --backend ... --wait` make, with the ARNs
    named as `mlgitops.bucket` and `mlgitops.training.remote` name them."""
    import datetime as dt

    from mlgitops.bucket import object_uri
    from mlgitops.training import remote

    config = load(root, plan.stack)
    stack = remote.Stack.of(config, ACCOUNT)
    key = next(r for r in plan.by_type("aws:kms/key:Key"))
    key_arn = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/mock-key-{key.name}"  # what the mock engine gives the stack's key
    job = remote.job_name(config, "churn-classifier", dt.datetime(2026, 1, 1, tzinfo=dt.UTC))
    package = object_uri(config, "churn-classifier", "sha256:" + "1" * 64).removeprefix("s3://")
    dataset = f"{stack.data_bucket}/datasets/train/{'2' * 64}/train.csv"
    output = stack.output(job).removeprefix("s3://") + "model.tar.gz"
    repo = f"arn:aws:ecr:{REGION}:{ACCOUNT}:repository/{config.name('images')}"
    calls = [
        ("s3:ListBucket", f"arn:aws:s3:::{b}", {})
        for b in (stack.data_bucket, stack.artifacts_bucket, config.bucket_name("models"))
    ]
    calls += [
        ("s3:PutObject", f"arn:aws:s3:::{package}", {}),
        ("s3:GetObject", f"arn:aws:s3:::{package}", {}),
        ("s3:GetObject", f"arn:aws:s3:::{dataset}", {}),
        ("s3:PutObject", f"arn:aws:s3:::{dataset}", {}),
        ("s3:GetObject", f"arn:aws:s3:::{output}", {}),
        ("kms:GenerateDataKey", key_arn, {}),
        ("kms:Decrypt", key_arn, {}),
        ("ecr:GetAuthorizationToken", "*", {}),
        ("ecr:DescribeImages", repo, {}),
        ("ecr:PutImage", repo, {}),
        ("ecr:InitiateLayerUpload", repo, {}),
        ("ecr:UploadLayerPart", repo, {}),
        ("ecr:CompleteLayerUpload", repo, {}),
        ("ecr:BatchCheckLayerAvailability", repo, {}),
    ]
    if not batch:
        calls += [
            ("sagemaker:CreateTrainingJob", f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:training-job/{job}", {}),
            ("sagemaker:AddTags", f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:training-job/{job}", {}),
            ("sagemaker:DescribeTrainingJob", f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:training-job/{job}", {}),
            ("iam:PassRole", stack.role_arn, {"iam:PassedToService": "sagemaker.amazonaws.com"}),
            ("kms:CreateGrant", key_arn, {"kms:GrantIsForAWSResource": "true"}),
            (
                "logs:FilterLogEvents",
                f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{remote.LOG_GROUPS[remote.TrainingBackend.SAGEMAKER]}",
                {},
            ),
            (
                "logs:GetLogEvents",
                f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/aws/sagemaker/TrainingJobs:log-stream:{job}/algo-1-1700000000",
                {},
            ),
        ]
    else:
        calls += [
            ("batch:SubmitJob", f"arn:aws:batch:{REGION}:{ACCOUNT}:job-queue/{remote.queue_name(config)}", {}),
            (
                "batch:SubmitJob",
                f"arn:aws:batch:{REGION}:{ACCOUNT}:job-definition/{remote.job_definition_name(config, 'churn-classifier')}:3",
                {},
            ),
            ("batch:TagResource", f"arn:aws:batch:{REGION}:{ACCOUNT}:job/0f3e1c2a-aaaa-bbbb-cccc-0123456789ab", {}),
            ("batch:DescribeJobs", "*", {}),
            ("batch:DescribeJobDefinitions", "*", {}),
            (
                "logs:FilterLogEvents",
                f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{remote.LOG_GROUPS[remote.TrainingBackend.BATCH]}",
                {},
            ),
        ]
    return calls


@pytest.fixture(scope="module")
def publish_plans(tmp_path_factory) -> dict[str, tuple[Plan, Path]]:
    """staging, training on SageMaker and on Batch: backend -> (plan, project)."""
    sm = _project(tmp_path_factory.mktemp("publish"))
    batch = _project(
        tmp_path_factory.mktemp("publish-batch"), compute={"backend": "batch", "instance_type": "m5.xlarge"}
    )
    sm_plan, batch_plan = plan_configs(
        [(load(sm, "staging"), release("staging")), (load(batch, "staging"), release("staging"))]
    )
    return {"sagemaker": (sm_plan, sm), "batch": (batch_plan, batch)}


@pytest.mark.parametrize("backend", ["sagemaker", "batch"])
def test_the_publish_role_allows_promotion_image_pushes_and_remote_training(publish_plans, backend):
    plan, root = publish_plans[backend]
    doc = policy(plan, "churn-staging-publish")
    for action, arn, context in publish_calls(plan, root, backend == "batch"):
        assert allows(doc, action, arn, context), (action, arn)


@pytest.mark.parametrize("backend", ["sagemaker", "batch"])
def test_the_publish_role_allows_nothing_else(publish_plans, backend):
    plan, root = publish_plans[backend]
    doc = policy(plan, "churn-staging-publish")
    needed = {action for action, _, _ in publish_calls(plan, root, backend == "batch")}
    # what the same calls need beyond the obvious: multipart aborts, image layer reads for a cached push, key metadata
    companions = {
        "s3:AbortMultipartUpload",
        "ecr:BatchGetImage",
        "ecr:GetDownloadUrlForLayer",
        "kms:DescribeKey",
        "kms:Encrypt",
        *(
            {
                "sagemaker:AddTags",
                "sagemaker:CreateTrainingJob",
                "sagemaker:DescribeTrainingJob",
                "iam:PassRole",
                "kms:CreateGrant",
                "logs:FilterLogEvents",
                "logs:GetLogEvents",
            }
        ),
    }
    assert actions_in(doc) <= needed | companions, actions_in(doc) - needed - companions
    for action, arn, context in [
        ("s3:PutObject", "arn:aws:s3:::churn-staging-artifacts/training/x/output/model.tar.gz", {}),
        ("s3:DeleteObject", "arn:aws:s3:::churn-staging-models/churn-classifier/x/model.tar.gz", {}),
        ("s3:PutObject", "arn:aws:s3:::churn-prod-models/churn-classifier/x/model.tar.gz", {}),
        ("s3:GetObject", "arn:aws:s3:::churn-staging-data/raw/customers.csv", {}),
        (
            "iam:PassRole",
            f"arn:aws:iam::{ACCOUNT}:role/churn-staging-deploy",
            {"iam:PassedToService": "sagemaker.amazonaws.com"},
        ),
        ("sagemaker:CreateTrainingJob", f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:training-job/other-staging-x", {}),
        ("ecr:PutImage", f"arn:aws:ecr:{REGION}:{ACCOUNT}:repository/churn-prod-images", {}),
        ("sagemaker:CreateEndpoint", f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:endpoint/churn-staging-x", {}),
    ]:
        assert not allows(doc, action, arn, context), (action, arn)
    assert ("batch:SubmitJob" in actions_in(doc)) == (backend == "batch")


# --- the map of types to actions ----------------------------------------------------------------------------------


def emitted_types() -> set[str]:
    """Every Pulumi type the components and the platform program can declare or invoke: each `aws.<module>.<Name>(`
    and `aws.<module>.get_<x>(` in src/mlgitops/infra, resolved to its type token in pulumi_aws's own source."""
    import warnings

    import pulumi_aws

    found = set()
    sources = Path(permissions.__file__).parent.glob("*.py")
    for path in sources:
        for module, attr in re.findall(r"\baws\.(\w+)\.(\w+)\(", path.read_text()):
            with warnings.catch_warnings():  # loading a module of pulumi_aws announces its deprecated classes
                warnings.simplefilter("ignore", DeprecationWarning)
                target = getattr(getattr(pulumi_aws, module), attr)
            source = inspect.getsource(inspect.getmodule(target))
            tokens = set(re.findall(r"['\"](aws:[\w/]+:\w+)['\"]", source))
            wanted = [
                t
                for t in tokens
                if t.rsplit(":", 1)[1].lower() == attr.removesuffix("_output").replace("_", "").lower()
            ]
            assert len(wanted) == 1, (path.name, module, attr, tokens)
            found.add(wanted[0])
    return found


def test_every_type_the_components_can_emit_maps_to_the_actions_it_needs():
    types = emitted_types()
    assert {
        "aws:sagemaker/endpoint:Endpoint",
        "aws:iam/openIdConnectProvider:OpenIdConnectProvider",
        "aws:iam/getOpenIdConnectProvider:getOpenIdConnectProvider",
        "aws:batch/jobDefinition:JobDefinition",
    } <= types
    missing = {t for t in types if t not in NEEDS and t not in permissions.FREE_INVOKES}
    assert not missing, (
        f"add the IAM actions `pulumi up` needs for {sorted(missing)} to mlgitops.infra.permissions.NEEDS"
    )
    scope = Scope(prefix="churn-prod-", account=ACCOUNT, region=REGION, project="churn", env="prod")
    for type_, needs in NEEDS.items():
        assert needs.create or needs.read, type_
        for action in needs.actions:
            assert iamdb.action(action) is not None, f"{type_}: {action} is not in the IAM reference"
        permissions.statements(needs.actions, scope)  # raises when no ARN of the stack fits an action


def test_a_type_without_actions_fails_the_deploy_policy():
    scope = Scope(prefix="churn-prod-", account=ACCOUNT, region=REGION, project="churn", env="prod")
    with pytest.raises(UnscopedAction, match="aws:sqs/queue:Queue"):
        deploy_policy(
            ["aws:s3/bucket:Bucket", "aws:sqs/queue:Queue"], scope, {}, f"arn:aws:iam::{ACCOUNT}:role/churn-prod-deploy"
        )


# --- hygiene ------------------------------------------------------------------------------------------------------


def test_every_policy_of_the_plan_passes_the_iam_linter_and_fits_iams_size_limit(plans, publish_plans):
    from mlgitops.policies.engine import check_plan

    for name, plan in {**plans, **{k: p for k, (p, _) in publish_plans.items()}}.items():
        cfg = {
            "env": plan.stack,
            "project": "churn",
            "account_id": ACCOUNT,
            "repository": REPO,
            "instance_types": [],
            "max_instances_cap": 10,
            "training": [],
            "exemptions": [],
        }
        lint = [f for f in check_plan(plan, cfg, {}) if f.policy.startswith("iam-lint-")]
        assert not lint, (name, [(f.resource, f.message) for f in lint])
        for role_policy in plan.by_type("aws:iam/rolePolicy:RolePolicy"):
            text = role_policy.inputs["policy"]
            assert len(re.sub(r"\s", "", text)) <= 10240, (name, role_policy.name, len(text))


def test_a_project_naming_the_platform_stack_reads_the_provider_through_a_stack_reference(tmp_path):
    project = _project(tmp_path, platform={"stack": "acme/mlgitops-platform/prod"})
    (plan,) = plan_configs([(load(project, "staging"), None)])
    trust = roles(plan)["churn-staging-deploy"]
    assert (
        trust["Statement"][0]["Principal"]["Federated"]
        == f"arn:aws:iam::{ACCOUNT}:oidc-provider/token.actions.githubusercontent.com"
    )
    doc = policy(plan, "churn-staging-deploy")
    assert "iam:ListOpenIDConnectProviders" not in actions_in(doc)  # nothing looked up: the platform stack said


@pytest.mark.parametrize(
    "change,says",
    [
        (
            lambda d: d.pop("github"),
            "platform.ci_identity: the CI roles are trusted by GitHub environments of a repository",
        ),
        (
            lambda d: d["environments"].update(publish={}),
            "environments.publish: environment 'publish' would share its GitHub environment",
        ),
        (
            lambda d: d["github"].update(deploy_environments=["prod"]),
            "github.deploy_environments: platform.ci_identity is on in staging",
        ),
    ],
)
def test_config_check_refuses_ci_identity_it_cannot_scope(tmp_path, change, says):
    from mlgitops.config import check
    from mlgitops.errors import BadInput

    project = _project(tmp_path)
    doc = yaml.safe_load((project / "mlgitops.yaml").read_text())
    change(doc)
    (project / "mlgitops.yaml").write_text(yaml.safe_dump(doc))
    with pytest.raises(BadInput, match=re.escape(says)):
        check(project)
