"""CiIdentity: GitHub Actions OIDC and two roles, so CI never holds long-lived AWS keys.

The plan role (read-only) may be assumed from pull requests of the repository; the deploy role only
from its main branch or the configured GitHub deployment environments."""
from __future__ import annotations

import json
from typing import TYPE_CHECKING

import pulumi

from mlgitops.infra.common import child, tags

if TYPE_CHECKING:
    from mlgitops.config import Config

ISSUER = "token.actions.githubusercontent.com"


def github_trust(provider_arn: str, subjects: list[str]) -> str:
    """Web-identity trust limited to `aud = sts.amazonaws.com` and the given `sub` patterns."""
    return json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"Federated": provider_arn}, "Action": "sts:AssumeRoleWithWebIdentity",
        "Condition": {"StringEquals": {f"{ISSUER}:aud": "sts.amazonaws.com"}, "StringLike": {f"{ISSUER}:sub": subjects}}}]})


def deploy_subjects(repository: str, environments: list[str]) -> list[str]:
    return [f"repo:{repository}:ref:refs/heads/main", *(f"repo:{repository}:environment:{e}" for e in environments)]


class CiIdentity(pulumi.ComponentResource):
    def __init__(self, name: str, config: "Config", deploy_policy: pulumi.Input[str], opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("mlgitops:identity:CiIdentity", name, None, opts)
        import pulumi_aws as aws

        if config.github is None:
            raise ValueError("platform.ci_identity needs github.repository in mlgitops.yaml")
        repo = config.github.repository
        self.provider = aws.iam.OpenIdConnectProvider(f"{name}-github", url=f"https://{ISSUER}", client_id_lists=["sts.amazonaws.com"],
                                                      tags=tags(config), opts=child(self))
        plan_trust = self.provider.arn.apply(lambda arn: github_trust(arn, [f"repo:{repo}:pull_request", f"repo:{repo}:ref:refs/heads/*"]))
        self.plan_role = aws.iam.Role(f"{name}-plan", name=config.name("plan"), assume_role_policy=plan_trust, max_session_duration=3600,
                                      tags=tags(config), opts=child(self))
        aws.iam.RolePolicyAttachment(f"{name}-plan-readonly", role=self.plan_role.name,
                                     policy_arn="arn:aws:iam::aws:policy/ReadOnlyAccess", opts=child(self))
        deploy_trust = self.provider.arn.apply(lambda arn: github_trust(arn, deploy_subjects(repo, config.github.deploy_environments)))
        self.deploy_role = aws.iam.Role(f"{name}-deploy", name=config.name("deploy"), assume_role_policy=deploy_trust, max_session_duration=3600,
                                        tags=tags(config), opts=child(self))
        aws.iam.RolePolicy(f"{name}-deploy-policy", role=self.deploy_role.id, policy=deploy_policy, opts=child(self))
        self.register_outputs({"plan_role_arn": self.plan_role.arn, "deploy_role_arn": self.deploy_role.arn})


def deploy_policy(config: "Config", account: str, region: str) -> str:
    """What `pulumi up` of a project needs: its own resources, by name prefix, never `*` actions."""
    prefix = f"{config.project}-*"
    return json.dumps({"Version": "2012-10-17", "Statement": [
        {"Sid": "Buckets", "Effect": "Allow", "Action": ["s3:CreateBucket", "s3:PutBucket*", "s3:GetBucket*", "s3:PutEncryptionConfiguration",
                                                          "s3:GetEncryptionConfiguration", "s3:PutLifecycleConfiguration", "s3:GetLifecycleConfiguration",
                                                          "s3:ListBucket", "s3:DeleteBucket*"], "Resource": [f"arn:aws:s3:::{prefix}"]},
        {"Sid": "SageMaker", "Effect": "Allow", "Action": ["sagemaker:CreateModel", "sagemaker:DeleteModel", "sagemaker:Describe*",
                                                            "sagemaker:CreateEndpoint", "sagemaker:UpdateEndpoint", "sagemaker:DeleteEndpoint",
                                                            "sagemaker:CreateEndpointConfig", "sagemaker:DeleteEndpointConfig", "sagemaker:AddTags",
                                                            "sagemaker:ListTags"], "Resource": [f"arn:aws:sagemaker:{region}:{account}:*/{prefix}"]},
        # iam:PassedToService exists only in PassRole's request context: on GetRole it would never match.
        {"Sid": "PassRole", "Effect": "Allow", "Action": ["iam:PassRole"], "Resource": [f"arn:aws:iam::{account}:role/{prefix}"],
         "Condition": {"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}}},
        {"Sid": "GetRole", "Effect": "Allow", "Action": ["iam:GetRole"], "Resource": [f"arn:aws:iam::{account}:role/{prefix}"]},
    ]})
