"""The components' resources and their security-relevant inputs, planned for real under Pulumi's mocks."""

from __future__ import annotations

import json
import re

import pytest
import yaml

from mlgitops.config import load
from mlgitops.errors import BadInput
from mlgitops.infra import deploy_state
from mlgitops.plan import Plan, diff, plan_configs
from tests.infra_helpers import IMAGE_TAG, copy_example, release

REQUIRED_TAGS = {
    "project": "churn",
    "owner": "ml-platform@example.com",
    "managed-by": "mlgitops",
    "cost-center": "ml-42",
}
TAGGABLE = {
    "aws:s3/bucket:Bucket",
    "aws:kms/key:Key",
    "aws:iam/role:Role",
    "aws:ecr/repository:Repository",
    "aws:sagemaker/model:Model",
    "aws:sagemaker/endpointConfiguration:EndpointConfiguration",
    "aws:sagemaker/endpoint:Endpoint",
    "aws:cloudwatch/metricAlarm:MetricAlarm",
    "aws:appautoscaling/target:Target",
    "aws:iam/openIdConnectProvider:OpenIdConnectProvider",
    "aws:sagemaker/mlflowTrackingServer:MlflowTrackingServer",
    "aws:batch/computeEnvironment:ComputeEnvironment",
    "aws:batch/jobQueue:JobQueue",
    "aws:batch/jobDefinition:JobDefinition",
}


@pytest.fixture(scope="module")
def plans(tmp_path_factory) -> dict[str, Plan]:
    """local (promoted, yet embedded), staging with nothing promoted, staging and prod (release 3), and a platform
    variant with batch, CI identity, tracking."""
    project = copy_example(tmp_path_factory.mktemp("churn") / "churn")
    platform = copy_example(tmp_path_factory.mktemp("platform") / "churn")
    doc = yaml.safe_load((platform / "mlgitops.yaml").read_text())
    doc["models"]["churn-classifier"]["compute"] = {
        "backend": "batch",
        "instance_type": "g5.xlarge",
        "gpus": 1,
        "max_runtime_minutes": 600,
    }
    doc["platform"] = {"ci_identity": True, "tracking_server": True}
    (platform / "mlgitops.yaml").write_text(yaml.safe_dump(doc))
    items = [
        (load(project, "local"), release("local")),
        (load(project, "staging"), None),
        (load(project, "staging"), release("staging")),
        (load(project, "prod"), release("prod")),
        (load(platform, "prod"), None),
    ]
    return dict(zip(["local", "unpromoted", "staging", "prod", "platform"], plan_configs(items), strict=False))


def one(plan: Plan, type_: str, suffix: str = ""):
    found = [r for r in plan.by_type(type_) if r.name.endswith(suffix)]
    assert len(found) == 1, [r.name for r in plan.by_type(type_)]
    return found[0]


def test_buckets_are_private_encrypted_versioned_and_tls_only(plans):
    plan = plans["staging"]
    key = one(plan, "aws:kms/key:Key")
    assert key.inputs["enableKeyRotation"] is True
    buckets = {r.inputs["bucket"]: r for r in plan.by_type("aws:s3/bucket:Bucket")}
    assert set(buckets) == {"churn-staging-data", "churn-staging-artifacts", "churn-staging-models"}
    for role in ("data", "artifacts", "models"):
        name = f"churn-staging-storage-{role}"
        bucket_urn = plan.get(name).urn
        sse = one(
            plan,
            "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
            f"{role}-encryption",
        )
        default = sse.inputs["rules"][0]["applyServerSideEncryptionByDefault"]
        assert default == {
            "sseAlgorithm": "aws:kms",
            "kmsMasterKeyId": "arn:aws:kms:eu-west-1:123456789012:key/mock-key-churn-staging-storage-key",
        }
        assert key.urn in sse.dependencies and bucket_urn in sse.dependencies
        pab = one(plan, "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", f"{role}-public-access").inputs
        assert all(
            pab[k] is True
            for k in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")
        )
        assert one(plan, "aws:s3/bucketOwnershipControls:BucketOwnershipControls", f"{role}-ownership").inputs[
            "rule"
        ] == {"objectOwnership": "BucketOwnerEnforced"}
        assert (
            one(plan, "aws:s3/bucketVersioning:BucketVersioning", f"{role}-versioning").inputs[
                "versioningConfiguration"
            ]["status"]
            == "Enabled"
        )
        policy = json.loads(one(plan, "aws:s3/bucketPolicy:BucketPolicy", f"{role}-tls-only").inputs["policy"])
        (deny,) = policy["Statement"]
        assert deny["Effect"] == "Deny" and deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
        assert deny["Resource"] == [f"arn:aws:s3:::churn-staging-{role}", f"arn:aws:s3:::churn-staging-{role}/*"]
        rules = {
            r["id"]: r
            for r in one(
                plan, "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration", f"{role}-lifecycle"
            ).inputs["rules"]
        }
        assert rules["abort-incomplete-uploads"]["abortIncompleteMultipartUpload"]["daysAfterInitiation"] == 7
        assert ("expire-noncurrent" in rules) == (role == "artifacts")
    artifacts_rules = one(
        plan, "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration", "artifacts-lifecycle"
    ).inputs["rules"]
    assert artifacts_rules[1]["noncurrentVersionExpiration"]["noncurrentDays"] == 30
    assert plan.by_type("aws:s3/bucketLogging:BucketLogging") == []


def test_prod_turns_on_access_logging_to_its_own_bucket(plans):
    plan = plans["prod"]
    logs = plan.get("churn-prod-storage-access-logs")
    assert logs.inputs["bucket"] == "churn-prod-access-logs"
    logging = plan.by_type("aws:s3/bucketLogging:BucketLogging")
    assert sorted(r.inputs["targetPrefix"] for r in logging) == ["artifacts/", "data/", "models/"]
    assert all(r.inputs["targetBucket"] == "churn-prod-access-logs" for r in logging)
    policy = json.loads(plan.get("churn-prod-storage-access-logs-tls-only").inputs["policy"])
    (delivery,) = [st for st in policy["Statement"] if st["Effect"] == "Allow"]
    assert delivery["Principal"] == {"Service": "logging.s3.amazonaws.com"} and delivery["Action"] == "s3:PutObject"
    assert delivery["Resource"] == "arn:aws:s3:::churn-prod-access-logs/*"
    assert delivery["Condition"] == {
        "ArnLike": {"aws:SourceArn": [f"arn:aws:s3:::churn-prod-{r}" for r in ("data", "artifacts", "models")]},
        "StringEquals": {"aws:SourceAccount": "123456789012"},
    }
    assert any(
        st["Effect"] == "Deny" and st["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
        for st in policy["Statement"]
    )


def test_training_role_is_scoped_and_trusts_only_sagemaker_of_this_account(plans):
    plan = plans["staging"]
    role = one(plan, "aws:iam/role:Role", "training-role")
    trust = json.loads(role.inputs["assumeRolePolicy"])
    (st,) = trust["Statement"]
    assert st["Principal"] == {"Service": "sagemaker.amazonaws.com"} and st["Action"] == "sts:AssumeRole"
    assert st["Condition"] == {"StringEquals": {"aws:SourceAccount": "123456789012"}}
    policy = json.loads(one(plan, "aws:iam/rolePolicy:RolePolicy", "training-role-policy").inputs["policy"])
    for statement in policy["Statement"]:
        assert all("*" not in action for action in statement["Action"]), statement
        assert all(
            res.startswith(("arn:aws:s3:::churn-staging-", "arn:aws:kms:", "arn:aws:ecr:", "arn:aws:logs:"))
            for res in statement["Resource"]
        )
    repo = one(plan, "aws:ecr/repository:Repository").inputs
    assert repo["imageTagMutability"] == "IMMUTABLE" and repo["imageScanningConfiguration"] == {"scanOnPush": True}
    assert repo["encryptionConfigurations"][0]["encryptionType"] == "KMS"
    assert plans["staging"].outputs["training_jobs"]["churn-classifier"] == {
        "backend": "sagemaker",
        "instance_type": "ml.m5.xlarge",
        "instance_count": 1,
        "max_runtime_seconds": 3600,
        "spot": True,
    }


def test_endpoint_serves_the_promoted_release_blue_green_with_alarm_rollback(plans):
    plan = plans["prod"]
    model = one(plan, "aws:sagemaker/model:Model").inputs
    assert model["enableNetworkIsolation"] is True
    assert model["primaryContainer"]["modelDataUrl"] == "s3://churn-registry/churn-classifier/3/model.tar.gz"
    assert (
        model["primaryContainer"]["image"]
        == f"123456789012.dkr.ecr.eu-west-1.amazonaws.com/churn-prod-images:{IMAGE_TAG}"
    )
    assert model["primaryContainer"]["environment"] == {
        "MLFLOW_DEPLOYMENT_FLAVOR_NAME": "python_function",
        "SERVING_ENVIRONMENT": "SageMaker",
        "MLFLOW_DISABLE_ENV_CREATION": "true",
    }
    assert re.fullmatch(
        r"churn-prod-churn-classifier-00000000-[0-9a-f]{8}", model["name"]
    )  # the model digest, then the rest
    config = one(plan, "aws:sagemaker/endpointConfiguration:EndpointConfiguration").inputs
    assert config["kmsKeyArn"].startswith("arn:aws:kms:eu-west-1:123456789012:key/")
    (variant,) = config["productionVariants"]
    assert (variant["instanceType"], variant["initialInstanceCount"], variant["modelName"]) == (
        "ml.c5.xlarge",
        2,
        model["name"],
    )
    capture = config["dataCaptureConfig"]
    assert capture["enableCapture"] is True and capture["initialSamplingPercentage"] == 20
    assert capture["destinationS3Uri"] == "s3://churn-prod-models/data-capture/churn-classifier"
    assert capture["kmsKeyId"] == config["kmsKeyArn"]
    alarms = {r.inputs["name"]: r for r in plan.by_type("aws:cloudwatch/metricAlarm:MetricAlarm")}
    assert {a.inputs["metricName"] for a in alarms.values()} == {"Invocation5XXErrors", "ModelLatency"}
    assert all(
        a.inputs["dimensions"] == {"EndpointName": "churn-prod-churn-classifier", "VariantName": "AllTraffic"}
        for a in alarms.values()
    )
    endpoint = one(plan, "aws:sagemaker/endpoint:Endpoint")
    deployment = endpoint.inputs["deploymentConfig"]
    assert deployment["blueGreenUpdatePolicy"]["trafficRoutingConfiguration"]["type"] == "CANARY"
    assert {a["alarmName"] for a in deployment["autoRollbackConfiguration"]["alarms"]} == set(alarms)
    assert {a.urn for a in alarms.values()} <= set(endpoint.dependencies)
    target = one(plan, "aws:appautoscaling/target:Target").inputs
    assert (target["minCapacity"], target["maxCapacity"]) == (2, 4)
    assert target["resourceId"] == "endpoint/churn-prod-churn-classifier/variant/AllTraffic"
    policy = one(plan, "aws:appautoscaling/policy:Policy").inputs
    tracking = policy["targetTrackingScalingPolicyConfiguration"]
    assert tracking["targetValue"] == 200
    assert tracking["predefinedMetricSpecification"]["predefinedMetricType"] == "SageMakerVariantInvocationsPerInstance"
    assert plan.outputs["endpoints"] == {"churn-classifier": "churn-prod-churn-classifier"}


def test_no_endpoint_until_a_model_is_promoted_and_the_plan_says_why(plans):
    plan = plans["unpromoted"]
    assert not [r for r in plan.resources if r.type.startswith("aws:sagemaker/")]
    assert plan.outputs["endpoints"] == {}
    (note,) = plan.notes
    assert "churn-classifier" in note and "deploy/staging.yaml" in note and "mlgitops promote --env staging" in note


def test_local_is_embedded_and_declares_no_cloud_endpoint_even_when_promoted(plans):
    plan = plans["local"]
    assert not [
        r for r in plan.resources if r.type.startswith(("aws:sagemaker/", "aws:appautoscaling/", "aws:cloudwatch/"))
    ]
    assert plan.outputs["endpoints"] == {}
    (note,) = plan.notes
    assert "embedded" in note and "mlgitops serve --env local" in note


def test_every_taggable_resource_is_tagged_and_parented_to_a_component(plans):
    for plan in plans.values():
        components = {r.urn: r for r in plan.resources if r.type.startswith("mlgitops:")}
        assert {r.type for r in components.values()} >= {
            "mlgitops:storage:ProjectStorage",
            "mlgitops:training:TrainingCompute",
        }
        for r in plan.resources:
            if r.type.startswith("aws:"):
                assert r.parent in components, r.urn
            if r.type in TAGGABLE:
                assert REQUIRED_TAGS.items() <= r.inputs["tags"].items(), r.urn
                assert r.inputs["tags"]["env"] == plan.stack


def normalized(plan: Plan) -> Plan:
    """The plan with its environment name replaced, so two environments can be diffed."""
    text = (
        plan.to_json()
        .replace(f"-{plan.stack}-", "-ENV-")
        .replace(f'"{plan.stack}"', '"ENV"')
        .replace(f":{plan.stack}::", ":ENV::")
    )
    text = text.replace(f"deploy/{plan.stack}.yaml", "deploy/ENV.yaml").replace(f"--env {plan.stack}", "--env ENV")
    return Plan.from_json(text)


def test_environments_differ_exactly_as_the_overlays_say(plans):
    changes = diff(normalized(plans["staging"]), normalized(plans["prod"]))
    updates = {(c.name.replace("churn-ENV-", ""), tuple(c.paths)) for c in changes if c.action in ("update", "replace")}
    assert updates == {
        (
            "churn-classifier-config",
            ("name", "productionVariants[0].initialInstanceCount", "productionVariants[0].instanceType"),
        ),
        ("churn-classifier-scaling-target", ("minCapacity",)),
        ("churn-classifier-endpoint", ("endpointConfigName",)),  # a new config, deployed blue/green
    }
    created = {c.name.replace("churn-ENV-storage-", "") for c in changes if c.action == "create"}
    assert created == {
        "access-logs",
        "access-logs-encryption",
        "access-logs-lifecycle",
        "access-logs-ownership",
        "access-logs-public-access",
        "access-logs-tls-only",
        "access-logs-versioning",
        "artifacts-logging",
        "data-logging",
        "models-logging",
        # monitoring: {schedule: daily} in prod: Model Monitor over the endpoint's capture
        "churn-ENV-churn-classifier-monitor",
        "churn-ENV-churn-classifier-monitor-job",
        "churn-ENV-churn-classifier-monitor-schedule",
    }
    assert not [c for c in changes if c.action == "delete"]
    assert {c.action for c in changes if c.name.endswith("-config")} == {"replace"}  # SageMaker configs are immutable
    assert {c.action for c in changes if c.name.endswith("-endpoint")} == {"update"}
    # nothing promoted: exactly the serving component is missing compared with staging
    deleted = {
        c.type for c in diff(normalized(plans["staging"]), normalized(plans["unpromoted"])) if c.action == "delete"
    }
    assert deleted == {
        "mlgitops:serving:ServingEndpoint",
        "aws:sagemaker/model:Model",
        "aws:sagemaker/endpointConfiguration:EndpointConfiguration",
        "aws:sagemaker/endpoint:Endpoint",
        "aws:cloudwatch/metricAlarm:MetricAlarm",
        "aws:appautoscaling/target:Target",
        "aws:appautoscaling/policy:Policy",
    }


def test_ci_identity_declares_a_role_per_job_behind_the_accounts_github_provider(plans):
    """The details (trust, least privilege, the publish role's calls) are in test_ci_identity.py."""
    plan = plans["platform"]
    assert plan.by_type("aws:iam/openIdConnectProvider:OpenIdConnectProvider") == []  # the platform stack's, looked up
    names = {r.inputs["name"] for r in plan.by_type("aws:iam/role:Role")}
    assert {"churn-prod-deploy", "churn-prod-publish", "churn-prod-observe"} <= names and "churn-prod-plan" not in names
    assert not plan.by_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment") or all(
        "ReadOnlyAccess" not in r.inputs["policyArn"]
        for r in plan.by_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment")
    )
    assert set(plan.outputs["ci_role_arns"]) == {"deploy-prod", "publish", "observe"}


def test_tracking_server_and_batch_backend(plans):
    plan = plans["platform"]
    server = one(plan, "aws:sagemaker/mlflowTrackingServer:MlflowTrackingServer").inputs
    assert server["artifactStoreUri"] == "s3://churn-prod-artifacts/mlflow" and server["trackingServerSize"] == "Small"
    assert server["roleArn"] == "arn:aws:iam::123456789012:role/churn-prod-mlflow"
    env = one(plan, "aws:batch/computeEnvironment:ComputeEnvironment").inputs
    assert env["type"] == "MANAGED" and env["computeResources"]["type"] == "SPOT"
    assert env["computeResources"]["instanceTypes"] == ["g5.xlarge"] and env["computeResources"]["subnets"] == [
        "subnet-0plana",
        "subnet-0planb",
    ]
    queue = one(plan, "aws:batch/jobQueue:JobQueue").inputs
    assert (
        queue["computeEnvironmentOrders"][0]["computeEnvironment"]
        == "arn:aws:batch:eu-west-1:123456789012:computeenvironment/churn-prod-batch"
    )
    job = one(plan, "aws:batch/jobDefinition:JobDefinition").inputs
    assert job["timeout"] == {"attemptDurationSeconds": 36000}
    assert {"type": "GPU", "value": "1"} in json.loads(job["containerProperties"])["resourceRequirements"]
    assert plan.outputs["batch_job_queue"] == "churn-prod-batch"


def test_deploy_state_reads_the_promoted_file(tmp_path):
    assert deploy_state(tmp_path, "prod") is None
    (tmp_path / "deploy").mkdir()
    (tmp_path / "deploy" / "prod.yaml").write_text(yaml.safe_dump(release("prod").to_dict()))
    assert deploy_state(tmp_path, "prod").models["churn-classifier"].version == "3"
    (tmp_path / "deploy" / "prod.yaml").write_text("models: [unclosed\n")
    with pytest.raises(BadInput, match=r"deploy/prod.yaml:\d+:\d+: invalid YAML"):
        deploy_state(tmp_path, "prod")


def test_suite_platform_stack_plans_from_its_own_directory(tmp_path):
    """The account's stack: GitHub's OIDC provider once, no placeholder account, and the optional MLflow server."""
    import shutil
    from pathlib import Path

    from mlgitops.plan import plan_program

    suite_infra = Path(__file__).resolve().parents[1] / "infra"
    assert "123456789012" not in "".join(p.read_text() for p in suite_infra.iterdir() if p.is_file())
    plan = plan_program(suite_infra, "prod")
    assert plan.project == "mlgitops-platform"
    provider = one(plan, "aws:iam/openIdConnectProvider:OpenIdConnectProvider").inputs
    assert provider["url"] == "https://token.actions.githubusercontent.com" and provider["clientIdLists"] == [
        "sts.amazonaws.com"
    ]
    assert (
        plan.outputs["github_oidc_provider_arn"]
        == "arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com"
    )
    assert {r.type for r in plan.resources} == {"aws:iam/openIdConnectProvider:OpenIdConnectProvider"}
    with_server = shutil.copytree(suite_infra, tmp_path / "infra", ignore=shutil.ignore_patterns("venv", "__pycache__"))
    doc = yaml.safe_load((with_server / "mlgitops.yaml").read_text())
    doc["platform"]["tracking_server"] = True
    doc["cloud"]["name_suffix"] = "k3x9q2"
    (with_server / "mlgitops.yaml").write_text(yaml.safe_dump(doc))
    types = {r.type for r in plan_program(with_server, "prod").resources}
    assert {
        "mlgitops:tracking:TrackingServer",
        "mlgitops:storage:ProjectStorage",
        "aws:iam/openIdConnectProvider:OpenIdConnectProvider",
    } <= types


def test_every_planned_policy_document_passes_iam_lint(plans):
    """Our own policies (storage, training, serving, CI identity, tracking) name real actions, applicable condition keys
    and matching ARNs: the CI deploy policy once put iam:PassedToService on iam:GetRole."""
    from mlgitops.policies.engine import check_plan

    for name, plan in plans.items():
        cfg = {
            "env": "prod",
            "project": "churn",
            "account_id": "123456789012",
            "repository": "example-org/churn",
            "instance_types": [],
            "max_instances_cap": 10,
            "training": [],
            "exemptions": [],
        }
        lint = [f for f in check_plan(plan, cfg, {}) if f.policy.startswith("iam-lint-")]
        assert not lint, (name, [(f.resource, f.message) for f in lint])
    deploy = json.loads(one(plans["platform"], "aws:iam/rolePolicy:RolePolicy", "ci-deploy-policy").inputs["policy"])
    passrole = [st for st in deploy["Statement"] if "iam:PassRole" in st["Action"] and st["Effect"] == "Allow"]
    assert passrole and all(st["Action"] == "iam:PassRole" for st in passrole)


def test_a_name_suffix_ends_every_bucket_name_and_the_log_delivery_grant(tmp_path):
    project = copy_example(tmp_path / "churn")
    doc = yaml.safe_load((project / "mlgitops.yaml").read_text())
    doc["cloud"]["name_suffix"] = "k3x9q2"
    (project / "mlgitops.yaml").write_text(yaml.safe_dump(doc))
    (plan,) = plan_configs([(load(project, "prod"), None)])
    names = sorted(r.inputs["bucket"] for r in plan.by_type("aws:s3/bucket:Bucket"))
    assert names == sorted(f"churn-prod-{r}-k3x9q2" for r in ("data", "artifacts", "models", "access-logs"))
    policy = json.loads(plan.get("churn-prod-storage-access-logs-tls-only").inputs["policy"])
    sources = [st for st in policy["Statement"] if st["Effect"] == "Allow"][0]["Condition"]["ArnLike"]["aws:SourceArn"]
    assert sources == [f"arn:aws:s3:::churn-prod-{r}-k3x9q2" for r in ("data", "artifacts", "models")]
    assert (
        one(plan, "aws:iam/role:Role", "training-role").inputs["name"] == "churn-prod-training"
    )  # account-scoped names unchanged


def test_a_change_of_image_alone_replaces_the_model_and_endpoint_config_under_new_names():
    from mlgitops.infra.serving import versioned_name

    entry = release("staging").models["churn-classifier"]
    other = entry.model_copy(update={"image": "churn-staging-images:serving-fedcba9876543210"})

    def names(e):
        return (
            versioned_name("ep", e.digest, e.artifact_uri, e.image),
            versioned_name("ep", e.digest, e.artifact_uri, e.image, "ml.m5.large", 1, {}),
        )

    assert all(a != b for a, b in zip(names(entry), names(other), strict=False))
    assert names(entry) == names(entry.model_copy())  # and only a change does
