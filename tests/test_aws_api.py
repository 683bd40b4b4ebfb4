"""Nothing AWS would refuse reaches `pulumi up`: plans and config checked against botocore's own service models.

Real parts only: the pulumi mock engine plans tests/data/aws_api_program, botocore's models are the authority, MLflow's
own tracking store registry is compared with the schemes config check accepts."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from mlgitops.aws_api import FAMILIES, UNKNOWN, check_resource
from mlgitops.aws_api.naming import bucket_name_problems
from tests.policies_helpers import SETTINGS

DATA = Path(__file__).parent / "data"
PROGRAM = DATA / "aws_api_program"
BAD_CONFIGS = sorted((DATA / "bad_configs").glob("*.yaml"))
EXAMPLE = Path(__file__).parents[1] / "examples" / "churn"

# Family -> the bad twin in aws_api_program that must violate it (its good-* twins must not).
FAIL = {
    "aws-api-s3": "bad-bucket",
    "aws-api-kms": "bad-key",
    "aws-api-iam": "bad-role",
    "aws-api-ecr": "bad-repo",
    "aws-api-sagemaker": "bad-model",
    "aws-api-cloudwatch": "bad-alarm",
    "aws-api-application-autoscaling": "bad-target",
    "aws-api-logs": "bad-log-group",
    "aws-api-batch": "bad-compute",
}
# The values the issue names, each a finding naming resource and value.
REJECTED = [
    ("aws-api-s3", "bad-bucket", "bucket", "'Fixture_Models'"),
    ("aws-api-sagemaker", "bad-model", "primaryContainer.modelDataUrl", "'file:///tmp/model.tar.gz'"),
    ("aws-api-sagemaker", "bad-config", "dataCaptureConfig.initialSamplingPercentage", "found 200"),
    ("aws-api-sagemaker", "bad-config", "productionVariants[0].instanceType", "'ml.mega.huge'"),
    ("aws-api-batch", "bad-compute", "computeResources.instanceTypes[1]", "'m5.gigantic'"),
    ("aws-api-batch", "bad-compute", "computeResources.instanceTypes[0]", "'ml.m5.large'"),
    ("aws-api-sagemaker", "bad-schedule", "monitoringScheduleConfig.monitoringType", "'Vibes'"),
    ("aws-api-sagemaker", "bad-quality-job", "jobResources.clusterConfig.instanceType", "'m5.large'"),
]


def cli(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "mlgitops", *args], capture_output=True, text=True, cwd=cwd)


@pytest.fixture(scope="module")
def plan(tmp_path_factory):
    from mlgitops.plan import plan_program

    root = tmp_path_factory.mktemp("awsapi") / "prog"
    shutil.copytree(PROGRAM, root, ignore=shutil.ignore_patterns("__pycache__"))
    return plan_program(root, "prod")


@pytest.fixture(scope="module")
def findings(plan):
    from mlgitops.policies.engine import check_plan

    return [f for f in check_plan(plan, SETTINGS, {}) if f.policy.startswith("aws-api-")]


# --- the plan side ---------------------------------------------------------------------------------


def test_every_family_has_a_pass_and_a_fail_case():
    assert set(FAIL) == set(FAMILIES)


@pytest.mark.parametrize("family", sorted(FAIL))
def test_family_fails_on_the_bad_twin_and_passes_the_good_ones(findings, plan, family):
    hits = [f for f in findings if f.policy == family]
    assert FAIL[family] in {f.resource for f in hits}, hits
    assert not [f for f in hits if f.resource.startswith("good-")], hits
    goods = [r for r in plan.resources if r.name.startswith("good-") and r.type in FAMILIES[family]]
    assert goods, f"{family} has no good twin in the program"
    assert all(f.enforcement == "mandatory" and f.status == "violation" for f in hits)


@pytest.mark.parametrize(("family", "resource", "path", "value"), REJECTED)
def test_rejected_value_is_a_finding_naming_resource_path_and_value(findings, family, resource, path, value):
    hits = [
        f
        for f in findings
        if f.policy == family and f.resource == resource and f.message.startswith(f"{path}: AWS requires")
    ]
    assert hits and value in hits[0].message, [f.message for f in findings if f.resource == resource]
    assert hits[0].resource_urn and hits[0].resource_urn.endswith(f"::{resource}")


def test_values_unknown_until_deploy_are_skipped_not_flagged():
    inputs = {
        "name": UNKNOWN,
        "executionRoleArn": UNKNOWN,
        "primaryContainer": {"image": UNKNOWN, "modelDataUrl": UNKNOWN},
    }
    assert check_resource("aws:sagemaker/model:Model", inputs) == []


def test_what_pulumi_fills_in_is_not_reported_missing():
    """Autonamed resources and blocks whose every field Pulumi defaults are not "required member missing"."""
    assert (
        check_resource("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", {"bucket": "fixture-prod-models"})
        == []
    )
    assert check_resource("aws:iam/role:Role", {"assumeRolePolicy": "{}"}) == []
    assert (
        check_resource(
            "aws:ecr/repository:Repository", {"encryptionConfigurations": [{"kmsKey": "arn:aws:kms:eu-west-1:1:key/x"}]}
        )
        == []
    )


def test_required_members_are_checked_inside_blocks():
    inputs = {
        "productionVariants": [{"modelName": "m", "instanceType": "ml.m5.large", "initialInstanceCount": 1}],
        "dataCaptureConfig": {"initialSamplingPercentage": 20, "captureOptions": [{"captureMode": "Input"}]},
    }
    messages = [v.message for v in check_resource("aws:sagemaker/endpointConfiguration:EndpointConfiguration", inputs)]
    assert messages == [
        "dataCaptureConfig.destinationS3Uri: AWS requires a value (required) (CreateEndpointConfig "
        "DataCaptureConfig.DestinationS3Uri); found nothing"
    ]


def test_aws_api_rules_are_mandatory_in_every_environment_and_not_exemptable():
    from mlgitops.policies import all_rules
    from mlgitops.policies.pack import enforcement, pack_arguments

    rules = all_rules()
    for family in FAMILIES:
        assert rules[family].pinned
        assert enforcement(rules[family], "disabled", {family: "advisory"}) == "mandatory"
    from pulumi_policy import EnforcementLevel

    pack = pack_arguments(None)  # the CrossGuard pack outside a project
    assert {p.name for p in pack["policies"]} >= set(FAMILIES)
    assert all(p.enforcement_level is EnforcementLevel.MANDATORY for p in pack["policies"] if p.name in FAMILIES)


def test_overrides_and_exemptions_do_not_silence_aws_api_findings(plan):
    from mlgitops.policies import all_rules
    from mlgitops.policies.engine import check_plan
    from mlgitops.policies.pack import enforcement

    exempt = {
        **SETTINGS,
        "exemptions": [{"rule": "aws-api-sagemaker", "resource": "*", "reason": "try", "expires": "2099-01-01"}],
    }
    levels = {n: enforcement(r, "disabled", {"aws-api-sagemaker": "disabled"}) for n, r in all_rules().items()}
    hits = [f for f in check_plan(plan, exempt, levels) if f.policy == "aws-api-sagemaker"]
    assert hits and all(f.enforcement == "mandatory" for f in hits)


def test_crossguard_pack_reports_the_same_violation():
    """The pack's policy object, called as CrossGuard calls it, with pulumi_policy's own argument types."""
    from pulumi_policy import ResourceValidationArgs
    from pulumi_policy.proxy import UNKNOWN_STRING_VALUE, unknown_checking_proxy

    from mlgitops.policies.pack import pack_arguments

    policy = next(p for p in pack_arguments(None)["policies"] if p.name == "aws-api-sagemaker")
    props = {
        "name": UNKNOWN_STRING_VALUE,
        "executionRoleArn": "arn:aws:iam::123456789012:role/x",
        "primaryContainer": {"image": "img:1", "modelDataUrl": "file:///m.tar.gz"},
    }
    reported: list[str] = []
    args = ResourceValidationArgs(
        "aws:sagemaker/model:Model",
        unknown_checking_proxy(props),
        "urn:pulumi:prod::p::aws:sagemaker/model:Model::m",
        "m",
        None,
        None,
        {},
    )
    policy.validate(args, lambda msg, urn=None: reported.append(msg))
    assert len(reported) == 1 and "primaryContainer.modelDataUrl" in reported[0] and "file:///m.tar.gz" in reported[0]


def test_example_project_plans_have_no_aws_api_findings():
    from mlgitops.aws_api import check_plan
    from mlgitops.config import check
    from mlgitops.plan import plan_environments

    envs = check(EXAMPLE)
    from mlgitops.evidence import DeployEntry, DeployState

    entry = DeployEntry(
        digest="sha256:" + "0" * 64,
        version="1",
        registry_name="c",
        model_uri="models:/c/1",
        artifact_uri="s3://b/c/1/model.tar.gz",
    )
    plans = plan_environments(EXAMPLE, envs, {e: DeployState(env=e, models={"churn-classifier": entry}) for e in envs})
    assert {e: check_plan(p) for e, p in plans.items()} == {e: [] for e in envs}


@pytest.mark.parametrize(
    ("name", "ok"),
    [
        ("fixture-prod-models", True),
        ("a.b-c", True),
        ("Fixture_Models", False),
        ("ab", False),
        ("a" * 64, False),
        ("-lead", False),
        ("trail-", False),
        ("a..b", False),
        ("192.168.1.1", False),
        ("xn--bucket", False),
        ("b-s3alias", False),
    ],
)
def test_s3_bucket_naming_rules(name, ok):
    assert (bucket_name_problems(name) == []) is ok


# --- the CLI --------------------------------------------------------------------------------------


def test_plan_prints_refused_values_as_warnings_and_exits_0(tmp_path):
    result = cli(tmp_path, "plan", "--env", "prod", "--program", str(PROGRAM))
    assert result.returncode == 0, result.stderr
    assert "warning: aws-api-sagemaker: bad-model: primaryContainer.modelDataUrl" in result.stderr
    assert "Traceback" not in result.stderr
    as_json = cli(tmp_path, "plan", "--env", "prod", "--program", str(PROGRAM), "--json")
    warnings = json.loads(as_json.stdout)["warnings"]
    assert {(w["policy"], w["resource_urn"].rsplit("::", 1)[-1]) for w in warnings} >= {(f, r) for f, r in FAIL.items()}
    assert list(tmp_path.iterdir()) == []


def test_policy_check_program_without_mlgitops_yaml_uses_defaults_with_a_note(tmp_path):
    result = cli(tmp_path, "policy", "check", "--env", "prod", "--program", str(PROGRAM), "--json")
    assert result.returncode == 1, result.stderr
    doc = json.loads(result.stdout)
    assert len(doc["notes"]) == 1 and "no mlgitops.yaml" in doc["notes"][0] and "default settings" in doc["notes"][0]
    assert {f["policy"] for f in doc["findings"] if f["enforcement"] == "mandatory"} == set(FAMILIES)
    assert list(tmp_path.iterdir()) == []  # no project, so no evidence folder


# --- the config side ------------------------------------------------------------------------------


def test_corpus_covers_every_config_constraint():
    names = {p.stem for p in BAD_CONFIGS}
    for needed in (
        "serving-training-only-type",
        "compute-hosting-only-type",
        "serving-no-ml-prefix",
        "batch-unknown-ec2-type",
        "tag-aws-prefix",
        "tag-key-too-long",
        "tag-value-too-long",
        "tag-key-bad-characters",
        "region-unknown",
        "dataset-path-empty",
        "tracking-uri-scheme",
    ):
        assert needed in names


@pytest.mark.parametrize("case", BAD_CONFIGS, ids=lambda p: p.stem)
def test_bad_config_exits_2_naming_the_line(tmp_path, monkeypatch, capsys, case):
    """In-process `mlgitops config check` (the console entry, its exit code and its stderr), one file per case."""
    from mlgitops import cli as cli_module

    header = dict(line[2:].split(": ", 1) for line in case.read_text().splitlines()[:2])
    shutil.copy(case, tmp_path / "mlgitops.yaml")
    before = sorted(tmp_path.rglob("*"))
    codes: list[int] = []
    monkeypatch.setattr(cli_module, "_exit", lambda code: codes.append(code))
    monkeypatch.setattr(sys, "argv", ["mlgitops", "--project", str(tmp_path), "config", "check"])
    cli_module.main()
    out, errs = capsys.readouterr()
    assert codes[0] == 2, errs
    assert f"mlgitops.yaml:{header['line']}:" in errs and header["expect"] in errs, errs
    assert "Traceback" not in out + errs and out == ""
    assert sorted(tmp_path.rglob("*")) == before


def test_example_and_template_configs_pass_the_aws_checks():
    from mlgitops.config import check

    assert check(EXAMPLE)
    assert check(Path(__file__).parents[1] / "infra")


def test_tracking_schemes_are_those_mlflow_can_use():
    from mlflow.tracking._tracking_service.utils import _tracking_store_registry

    from mlgitops.config.schema import TRACKING_SCHEMES

    assert set(TRACKING_SCHEMES) - {"arn"} == set(_tracking_store_registry._registry) - {""}


def test_regions_come_from_botocore_partitions():
    import botocore.session

    from mlgitops.aws_api.shapes import models

    regions = models().regions
    assert set(botocore.session.get_session().get_available_regions("sagemaker")) <= set(regions)
    assert regions["eu-west-1"] == "aws" and "eu-west-9" not in regions


def test_models_are_cached_per_botocore_version_and_rebuilt_when_broken(tmp_path, monkeypatch):
    from mlgitops.aws_api import shapes

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    shapes.models.cache_clear()
    try:
        first = shapes.models()
        (cached,) = (tmp_path / "mlgitops").glob("aws-api-*.json")
        shapes.models.cache_clear()
        assert shapes.models().services == first.services  # read back from the file
        cached.write_text("{broken")
        shapes.models.cache_clear()
        assert shapes.models().regions == first.regions
        assert json.loads(cached.read_text())["regions"] == first.regions
    finally:
        shapes.models.cache_clear()


def test_java_patterns_translate_without_flagging_what_aws_accepts():
    from mlgitops.aws_api.shapes import models, pattern

    tag = pattern(models().shape("sagemaker", "TagKey")["pattern"])
    assert tag is not None
    assert tag.fullmatch("Kostenstelle-Über 42:/=+@_.")
    assert not tag.fullmatch("cost|center")
