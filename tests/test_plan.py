"""The offline plan engine on plain Pulumi programs: config, data sources, errors, isolation, diff, CLI, plugin."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from mlgitops.errors import BadInput
from mlgitops.plan import Plan, Resource, _run, diff, plan_program, render_diff, render_mermaid, render_table
from tests.infra_helpers import copy_example, release

PLAIN = """\
import json
import pulumi
import pulumi_aws as aws
from naming import bucket_name

cfg = pulumi.Config()
site = aws.s3.Bucket("site", bucket=bucket_name(cfg.require("bucket")), tags={"team": cfg.get("team") or "none"})
doc = aws.iam.get_policy_document(statements=[{
    "actions": ["s3:GetObject"], "resources": ["arn:aws:s3:::x/*"],
    "principals": [{"type": "Service", "identifiers": ["cloudfront.amazonaws.com"]}],
    "conditions": [{"test": "StringEquals", "variable": "aws:SourceAccount", "values": ["123456789012"]}]}])
aws.s3.BucketPolicy("site-policy", bucket=site.id, policy=doc.json)
pulumi.export("bucket", site.bucket)
pulumi.export("region", aws.get_region().region)
pulumi.export("account", aws.get_caller_identity().account_id)
"""


def program(
    root: Path, name: str, main: str, files: dict[str, str] | None = None, stack_yaml: str | None = None
) -> Path:
    d = root / name
    d.mkdir(parents=True)
    (d / "Pulumi.yaml").write_text(f"name: {name}\nruntime: python\n")
    (d / "__main__.py").write_text(textwrap.dedent(main))
    for fname, text in (files or {}).items():
        (d / fname).write_text(text)
    if stack_yaml:
        (d / "Pulumi.dev.yaml").write_text(stack_yaml)
    return d


@pytest.fixture(scope="module")
def plain(tmp_path_factory) -> Path:
    return program(
        tmp_path_factory.mktemp("prog"),
        "site",
        PLAIN,
        {"naming.py": "def bucket_name(b):\n    return f'{b}-site'\n"},
        "config:\n  aws:region: eu-central-1\n  bucket: acme\n  team: web\n",
    )


def test_plain_program_with_stack_config_and_data_sources(plain):
    plan = plan_program(plain, "dev")
    assert (plan.stack, plan.project) == ("dev", "site")
    bucket = plan.get("site")
    assert bucket.urn == "urn:pulumi:dev::site::aws:s3/bucket:Bucket::site" and bucket.parent is None
    assert bucket.inputs == {"bucket": "acme-site", "tags": {"team": "web"}}
    policy = plan.get("site-policy")
    assert policy.dependencies == [bucket.urn] and policy.inputs["bucket"] == "acme-site"
    assert json.loads(policy.inputs["policy"]) == {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": "s3:GetObject",
                "Resource": "arn:aws:s3:::x/*",
                "Principal": {"Service": "cloudfront.amazonaws.com"},
                "Condition": {"StringEquals": {"aws:SourceAccount": "123456789012"}},
            }
        ],
    }
    assert plan.outputs == {"bucket": "acme-site", "region": "eu-central-1", "account": "123456789012"}
    assert Plan.from_json(plan.to_json()) == plan


def test_config_overrides_and_programs_do_not_bleed_into_each_other(plain, tmp_path):
    other = program(
        tmp_path,
        "other",
        PLAIN,
        {"naming.py": "def bucket_name(b):\n    return f'{b}-other'\n"},
        "config:\n  bucket: zeta\n",
    )
    component = program(
        tmp_path,
        "comp",
        """\
        import pulumi, pulumi_aws as aws
        class Site(pulumi.ComponentResource):
            def __init__(self, name):
                super().__init__("acme:web:Site", name, None, None)
                self.bucket = aws.s3.Bucket(f"{name}-b", tags={"token": pulumi.Config().require_secret("token")},
                                            opts=pulumi.ResourceOptions(parent=self))
                self.register_outputs({})
        site = Site("s")
        aws.s3.BucketPolicy("p", bucket=site.bucket, policy="{}")  # a resource reference as an input
        """,
        stack_yaml="config:\n  comp:token:\n    secure: AAAbase64\n",
    )
    requests = [
        {"kind": "program", "stack": "dev", "program_dir": str(d), "project": d.name, "config": cfg}
        for d, cfg in ((plain, {}), (other, {}), (plain, {"bucket": "override"}), (component, {}))
    ]
    first, second, third, fourth = _run(requests, None, "four programs")
    bucket = fourth.get("s-b")
    assert bucket.urn == "urn:pulumi:dev::comp::acme:web:Site$aws:s3/bucket:Bucket::s-b"
    assert bucket.parent == "urn:pulumi:dev::comp::acme:web:Site::s" and bucket.inputs["tags"] == {
        "token": "plan-secret"
    }
    assert fourth.get("p").inputs["bucket"] == bucket.urn and fourth.get("p").dependencies == [bucket.urn]
    assert first.get("site").inputs["bucket"] == "acme-site"
    assert second.get("site").inputs["bucket"] == "zeta-other"  # its own naming.py, not the first program's
    assert second.outputs["region"] == "us-east-1" and second.get("site").inputs["tags"] == {"team": "none"}
    assert third.get("site").inputs["bucket"] == "override-site"
    assert [r.urn for r in second.resources] == [
        "urn:pulumi:dev::other::aws:s3/bucket:Bucket::site",
        "urn:pulumi:dev::other::aws:s3/bucketPolicy:BucketPolicy::site-policy",
    ]


def test_failing_programs_give_their_own_trimmed_traceback(tmp_path):
    boom = program(
        tmp_path,
        "boom",
        """\
        import pulumi_aws as aws
        def name():
            raise ValueError("bucket name missing")
        aws.s3.Bucket("b", bucket=name())
        """,
    )
    with pytest.raises(BadInput) as info:
        plan_program(boom, "dev")
    message = str(info.value)
    assert f'File "{boom / "__main__.py"}", line 3, in name' in message and "ValueError: bucket name missing" in message
    assert "site-packages" not in message and "mlgitops/plan" not in message
    missing = program(tmp_path, "missing", "import not_a_module_xyz\n")
    with pytest.raises(BadInput, match="ModuleNotFoundError: No module named 'not_a_module_xyz'"):
        plan_program(missing, "dev")


def test_unknown_data_source_is_named(tmp_path):
    ami = program(tmp_path, "ami", "import pulumi_aws as aws\naws.ec2.get_ami(most_recent=True, owners=['amazon'])\n")
    with pytest.raises(BadInput, match="data source 'aws:ec2/getAmi:getAmi' has no offline answer"):
        plan_program(ami, "dev")


def test_a_looping_program_is_stopped_at_the_timeout(tmp_path):
    loop = program(tmp_path, "loop", "while True:\n    pass\n")
    with pytest.raises(BadInput, match="did not finish within 2 s"):
        plan_program(loop, "dev", timeout=2)


def test_not_a_program_directory(tmp_path):
    with pytest.raises(BadInput, match="no Pulumi.yaml"):
        plan_program(tmp_path, "dev")
    (tmp_path / "Pulumi.yaml").write_text("name: x\nruntime: nodejs\n")
    with pytest.raises(BadInput, match="only 'runtime: python'"):
        plan_program(tmp_path, "dev")
    (tmp_path / "Pulumi.yaml").write_text("name: x\nruntime: python\n")
    (tmp_path / "__main__.py").write_text("")
    (tmp_path / "Pulumi.dev.yaml").write_text("config:\n  a: [1\n")
    with pytest.raises(BadInput, match=r"Pulumi.dev.yaml:3:1: invalid YAML"):
        plan_program(tmp_path, "dev")


def res(name: str, type_: str = "aws:s3/bucket:Bucket", **inputs) -> Resource:
    return Resource(urn=f"urn:pulumi:dev::p::{type_}::{name}", type=type_, name=name, inputs=inputs)


def test_diff_create_update_replace_delete():
    config_type = "aws:sagemaker/endpointConfiguration:EndpointConfiguration"
    old = Plan(
        stack="dev",
        project="p",
        resources=[
            res("keep", tags={"a": "1"}),
            res("gone"),
            res("renamed", bucket="x"),
            res("cfg", config_type, productionVariants=[{"instanceType": "ml.m5.large"}]),
        ],
    )
    new = Plan(
        stack="dev",
        project="p",
        resources=[
            res("keep", tags={"a": "2", "b": "3"}),
            res("added"),
            res("renamed", bucket="y"),
            res("cfg", config_type, productionVariants=[{"instanceType": "ml.c5.xlarge"}]),
        ],
    )
    changes = {c.name: (c.action, c.paths) for c in diff(old, new)}
    assert changes == {
        "keep": ("update", ["tags.a", "tags.b"]),
        "added": ("create", []),
        "gone": ("delete", []),
        "renamed": ("replace", ["bucket"]),
        "cfg": ("replace", ["productionVariants[0].instanceType"]),
    }
    assert diff(new, new) == []
    table = render_diff(diff(old, new))
    assert "1 to create, 1 to update, 2 to replace, 1 to delete" in table and "`tags.a`, `tags.b`" in table
    assert render_diff([]) == "No changes.\n"


def test_plan_file_errors_are_bad_input(tmp_path):
    with pytest.raises(BadInput, match="no such Plan file"):
        Plan.load(tmp_path / "none.json")
    (tmp_path / "bad.json").write_text("{\n  oops")
    with pytest.raises(BadInput, match=r"bad.json:2:3: invalid JSON"):
        Plan.load(tmp_path / "bad.json")
    (tmp_path / "list.json").write_text('{"resources": []}')
    with pytest.raises(BadInput, match="not a valid Plan: stack: Field required"):
        Plan.load(tmp_path / "list.json")


def run_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "mlgitops", *args], cwd=cwd, capture_output=True, text=True, timeout=120
    )


@pytest.fixture(scope="module")
def churn(tmp_path_factory) -> Path:
    project = copy_example(tmp_path_factory.mktemp("cli") / "churn")
    (project / "deploy").mkdir(exist_ok=True)
    import yaml

    (project / "deploy" / "prod.yaml").write_text(yaml.safe_dump(release("prod").to_dict()))
    return project


def test_cli_plan_writes_evidence_and_diffs_against_an_older_plan(churn, tmp_path):
    old = tmp_path / "old.json"
    first = run_cli("plan", "--env", "staging", "--out", str(old), cwd=churn)
    assert first.returncode == 0, first.stderr
    assert "### Plan: churn / staging" in first.stdout and "no endpoint for churn-classifier in staging" in first.stdout
    assert Plan.load(churn / ".mlgitops/evidence/local/plan/staging.json") == Plan.load(old)
    second = run_cli("plan", "--env", "prod", "--against", str(old), "--json", cwd=churn)
    assert second.returncode == 0, second.stderr
    doc = json.loads(second.stdout)
    assert doc["plan"]["stack"] == "prod"
    actions = {c["name"]: c["action"] for c in doc["changes"]}
    assert actions["churn-prod-churn-classifier-endpoint"] == "create"
    assert actions["churn-staging-storage"] == "delete"  # URNs carry the stack, so another env's plan is all new


def test_cli_plan_bad_input_exits_2(churn, tmp_path):
    bad_env = run_cli("plan", "--env", "qa", cwd=churn)
    assert bad_env.returncode == 2 and "not an environment" in bad_env.stderr and "Traceback" not in bad_env.stderr
    no_program = run_cli("plan", "--env", "dev", "--program", str(tmp_path), cwd=churn)
    assert no_program.returncode == 2 and "no Pulumi.yaml" in no_program.stderr and "Traceback" not in no_program.stderr


def test_render_table_and_mermaid_group_by_component():
    comp = Resource(
        urn="urn:pulumi:dev::p::mlgitops:storage:ProjectStorage::s", type="mlgitops:storage:ProjectStorage", name="s"
    )
    key = Resource(
        urn="urn:pulumi:dev::p::mlgitops:storage:ProjectStorage$aws:kms/key:Key::s-key",
        type="aws:kms/key:Key",
        name="s-key",
        parent=comp.urn,
    )
    bucket = Resource(
        urn="urn:pulumi:dev::p::mlgitops:storage:ProjectStorage$aws:s3/bucket:Bucket::s-b",
        type="aws:s3/bucket:Bucket",
        name="s-b",
        parent=comp.urn,
        dependencies=[key.urn],
    )
    loose = Resource(urn="urn:pulumi:dev::p::aws:iam/role:Role::r", type="aws:iam/role:Role", name="r")
    plan = Plan(
        stack="dev",
        project="p",
        resources=[comp, key, bucket, loose],
        outputs={"bucket": "s-b"},
        notes=["no endpoint for m"],
    )
    table = render_table(plan)
    assert (
        "**s (mlgitops:storage:ProjectStorage)**" in table and "**(stack)**" in table and "> no endpoint for m" in table
    )
    assert table.index("`aws:kms/key:Key`") < table.index("**(stack)**") < table.index("`aws:iam/role:Role`")
    mermaid = render_mermaid(plan)
    assert mermaid.startswith("```mermaid\nflowchart LR\n") and mermaid.endswith("```\n")
    assert '  subgraph r0["s<br/><small>ProjectStorage</small>"]\n    r1[' in mermaid and "  r2 --> r1\n" in mermaid


def test_pytest_plugin_plans_a_program_in_a_users_test(plain, tmp_path):
    (tmp_path / "test_user.py").write_text(
        textwrap.dedent(f"""\
        def test_bucket(pulumi_plan):
            plan = pulumi_plan({str(plain)!r}, stack="dev", config={{"bucket": "user"}})
            assert plan.get("site").inputs["bucket"] == "user-site"
            assert pulumi_plan({str(plain)!r}, stack="dev", config={{"bucket": "user"}}) is plan
        """)
    )
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "-p",
            "no:randomly",
            str(tmp_path / "test_user.py"),
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 passed" in result.stdout
