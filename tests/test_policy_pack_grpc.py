"""The CrossGuard pack driven the way the Pulumi CLI drives it: `python -m pulumi.policy <engine> .` started from the
pack's own folder (so the current directory says nothing about the project; the user's directory arrives as $PWD),
the port read from its stdout, then GetAnalyzerInfo, Configure, Analyze and AnalyzeStack over gRPC with the stubs in
`pulumi.runtime.proto`, resources marshalled as the engine does (unknown and secret sentinels included).
Both packs: the suite's `policies/` and the generated project's `ci/pulumi/policy-pack`."""

from __future__ import annotations

import os
import select
import subprocess
import sys
from pathlib import Path

import pytest
from google.protobuf import empty_pb2, struct_pb2

from tests.infra_helpers import copy_example

pytestmark = pytest.mark.slow  # starts a gRPC server per pack and environment

SUITE = Path(__file__).resolve().parents[1]
PACKS = {"policies": SUITE / "policies", "ci-policy-pack": SUITE / "ci" / "pulumi" / "policy-pack"}
UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"  # the engine's unknown sentinel (pulumi.runtime.rpc.UNKNOWN)
SECRET_SIG = ("4dabf18193072939515e22adb298388d", "1b47061264138c4ac30d75fd1eb44270")
STACK_URN = "urn:pulumi:prod::churn::pulumi:pulumi:Stack::churn-prod"


def urn(type_: str, name: str) -> str:
    return f"urn:pulumi:prod::churn::{type_}::{name}"


def secret(value):
    return {SECRET_SIG[0]: SECRET_SIG[1], "value": value}


def struct(props: dict) -> struct_pb2.Struct:
    out = struct_pb2.Struct()
    out.update(props)
    return out


class Pack:
    """One analyzer process and its stub; stopped by its own pid."""

    def __init__(self, folder: Path, environ: dict[str, str]) -> None:
        import grpc
        from pulumi.runtime.proto import analyzer_pb2_grpc

        self.proc = subprocess.Popen(
            [sys.executable, "-m", "pulumi.policy", "127.0.0.1:1", "."],
            cwd=folder,
            env=environ,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        ready, _, _ = select.select([self.proc.stdout], [], [], 180)
        line = self.proc.stdout.readline().decode().strip() if ready else ""
        if not line.isdigit():
            self.stop()
            raise AssertionError(
                f"the pack printed no port: {line!r}; stderr: {self.proc.stderr.read().decode()[-3000:]}"
            )
        self.channel = grpc.insecure_channel(f"127.0.0.1:{line}")
        self.stub = analyzer_pb2_grpc.AnalyzerStub(self.channel)

    def configure_as_the_cli_does(self):
        """GetAnalyzerInfo, then Configure with each policy's initial config (what the CLI sends without overrides)."""
        from pulumi.runtime.proto import analyzer_pb2 as proto

        info = self.stub.GetAnalyzerInfo(empty_pb2.Empty())
        levels = {p.name: p.enforcementLevel for p in info.policies}
        config = {
            name: proto.PolicyConfig(enforcementLevel=levels[name], properties=info.initialConfig[name].properties)
            for name in levels
        }
        self.stub.Configure(proto.ConfigureAnalyzerRequest(policyConfig=config))
        return info

    def stop(self) -> None:
        if getattr(self, "channel", None):
            self.channel.close()
        self.proc.kill()
        self.proc.wait(timeout=30)
        self.proc.stdout.close()
        self.proc.stderr.close()


def environ(pwd: Path, stack: str = "prod") -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLGITOPS_", "PULUMI_"))}
    # what the CLI sets for a policy pack: the stack, project and preview flag; the shell's directory as PWD
    return {**env, "PWD": str(pwd), "PULUMI_STACK": stack, "PULUMI_PROJECT": "churn", "PULUMI_DRY_RUN": "true"}


def stack_resource(proto, type_, name, props, deps=(), prop_deps=None):
    return proto.AnalyzerResource(
        type=type_,
        name=name,
        urn=urn(type_, name),
        properties=struct(props),
        parent=STACK_URN,
        dependencies=list(deps),
        propertyDependencies={k: proto.AnalyzerPropertyDependencies(urns=v) for k, v in (prop_deps or {}).items()},
    )


def first_preview_of_a_public_bucket(proto):
    """A new bucket and its side resources as the engine sends them on a first preview: ids and ARNs unknown, the
    `bucket` inputs unknown but linked by property dependencies; the public access block leaves ACLs open."""
    bucket_t = "aws:s3/bucket:Bucket"
    b = urn(bucket_t, "churn-prod-storage-data")
    bucket = stack_resource(
        proto,
        bucket_t,
        "churn-prod-storage-data",
        {
            "bucket": "churn-prod-data",
            "arn": UNKNOWN,
            "id": UNKNOWN,
            "forceDestroy": False,
            "tags": secret({"project": "churn", "env": "prod", "owner": "o@x.io", "managed-by": "mlgitops"}),
        },
    )
    side = dict(deps=[b], prop_deps={"bucket": [b]})
    return [
        bucket,
        stack_resource(
            proto,
            "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
            "data-pab",
            {
                "bucket": UNKNOWN,
                "blockPublicAcls": False,
                "blockPublicPolicy": True,
                "ignorePublicAcls": False,
                "restrictPublicBuckets": True,
            },
            **side,
        ),
        stack_resource(
            proto,
            "aws:s3/bucketVersioning:BucketVersioning",
            "data-versioning",
            {"bucket": UNKNOWN, "versioningConfiguration": {"status": "Enabled"}},
            **side,
        ),
        stack_resource(
            proto, "aws:s3/bucketPolicy:BucketPolicy", "data-tls", {"bucket": UNKNOWN, "policy": UNKNOWN}, **side
        ),
    ]


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    return copy_example(tmp_path_factory.mktemp("grpc") / "churn")


@pytest.mark.parametrize("pack", sorted(PACKS))
def test_the_pack_finds_the_project_above_pwd_and_stops_a_first_preview_of_a_public_bucket(pack, project):
    from pulumi.runtime.proto import analyzer_pb2 as proto

    analyzer = Pack(PACKS[pack], environ(project / "infra"))  # `pulumi preview` run in the project's infra/
    try:
        info = analyzer.configure_as_the_cli_does()
        assert info.name == "mlgitops" and info.supportsConfig
        policies = {p.name: p for p in info.policies}
        assert (
            policies["s3-public-access-block"].enforcementLevel == proto.MANDATORY
        )  # prod's mandatory, from mlgitops.yaml
        assert policies["s3-public-access-block"].policy_type == proto.POLICY_TYPE_STACK
        assert {"iam-lint-condition-key", "policy-pack-settings", "s3-bucket-name-suffix"} <= set(policies)
        settings = info.initialConfig["s3-tls-only"].properties
        assert settings["env"] == "prod" and settings["project"] == "churn" and settings["budget_usd_month"] == 3000

        # Analyze: one resource, a secret input and a public canned ACL; an unknown input for another rule
        bucket = proto.AnalyzeRequest(
            type="aws:s3/bucket:Bucket",
            name="open",
            urn=urn("aws:s3/bucket:Bucket", "open"),
            properties=struct(
                {
                    "bucket": "churn-prod-open",
                    "acl": "public-read",
                    "forceDestroy": UNKNOWN,
                    "tags": secret({"project": "churn"}),
                }
            ),
        )
        found = analyzer.stub.Analyze(bucket).diagnostics
        acl = [d for d in found if d.policyName == "s3-no-public-acl"]
        assert acl and acl[0].enforcementLevel == proto.MANDATORY and "public-read" in acl[0].message
        unknown = [d for d in found if d.policyName == "s3-no-force-destroy-prod"]
        assert unknown and "during preview" in unknown[0].message and unknown[0].enforcementLevel == proto.ADVISORY

        # AnalyzeStack: the first preview's public bucket is a violation, decided from links and known inputs
        stack = analyzer.stub.AnalyzeStack(
            proto.AnalyzeStackRequest(resources=first_preview_of_a_public_bucket(proto))
        ).diagnostics
        by_policy = {}
        for d in stack:
            by_policy.setdefault(d.policyName, []).append(d)
        pab = by_policy["s3-public-access-block"]
        assert [
            d
            for d in pab
            if d.urn == urn("aws:s3/bucket:Bucket", "churn-prod-storage-data")
            and d.enforcementLevel == proto.MANDATORY
            and "blockPublicAcls, ignorePublicAcls off" in d.message
        ], pab
        assert not [d for d in pab if "during preview" in d.message]
        assert "s3-versioning" not in by_policy  # linked by property dependency, so decided: versioning is on
        assert any(
            "during preview" in d.message for d in by_policy["s3-tls-only"]
        )  # the policy itself is unknown: unchecked
        assert "policy-pack-settings" not in by_policy  # settings came from the project
    finally:
        analyzer.stop()


@pytest.mark.parametrize("pack", sorted(PACKS))
def test_outside_a_project_the_pack_runs_with_documented_defaults_and_says_so(pack, tmp_path):
    from pulumi.runtime.proto import analyzer_pb2 as proto

    analyzer = Pack(PACKS[pack], environ(tmp_path, stack="dev"))
    try:
        info = analyzer.configure_as_the_cli_does()
        policies = {p.name: p for p in info.policies}
        assert policies["s3-public-access-block"].enforcementLevel == proto.ADVISORY  # the default policies.enforcement
        assert policies["aws-api-s3"].enforcementLevel == proto.MANDATORY  # what AWS refuses stays pinned
        assert info.initialConfig["s3-tls-only"].properties["env"] == "local"
        stack = analyzer.stub.AnalyzeStack(
            proto.AnalyzeStackRequest(resources=first_preview_of_a_public_bucket(proto))
        ).diagnostics
        (note,) = [d for d in stack if d.policyName == "policy-pack-settings"]
        assert (
            note.enforcementLevel == proto.ADVISORY
            and f"no mlgitops.yaml at or above $PWD ({tmp_path})" in note.message
        )
        assert "runs with defaults" in note.message
        pab = [d for d in stack if d.policyName == "s3-public-access-block"]
        assert pab and all(d.enforcementLevel == proto.ADVISORY for d in pab)
    finally:
        analyzer.stop()


def test_the_pack_reads_mlgitops_project_before_pwd(project, tmp_path):
    from pulumi.runtime.proto import analyzer_pb2 as proto

    env = {**environ(tmp_path, stack="staging"), "MLGITOPS_PROJECT": str(project)}
    analyzer = Pack(PACKS["policies"], env)
    try:
        info = analyzer.configure_as_the_cli_does()
        assert info.initialConfig["s3-tls-only"].properties["env"] == "staging"
        assert {p.name: p for p in info.policies}["s3-tls-only"].enforcementLevel == proto.ADVISORY  # staging's level
    finally:
        analyzer.stop()
