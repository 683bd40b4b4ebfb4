"""CiIdentity: one IAM role per CI job of an environment, each assumable through GitHub's OIDC provider from one GitHub
environment only, so CI holds no long-lived keys and a job can do exactly its own work.

GitHub puts the job's environment into the token's `sub` claim (`repo:<owner>/<repo>:environment:<name>`), and an
environment can be limited to `main` and given required reviewers: trusting that claim alone puts each role behind
the environment's rules. No role trusts `pull_request` or a branch.

| role | trusted by | does |
|---|---|---|
| `<project>-<env>-deploy` | `environment:<env>` | `pulumi up` of this stack (`permissions.deploy_policy`) |
| `<project>-<env>-publish` | `environment:publish` | packages to the models bucket, images to ECR, remote training |
| `<project>-<env>-observe` | `environment:observe` | read the stack's resources, the captured traffic, the served packages and the training data |

The GitHub OIDC provider belongs to the account (the platform stack in the suite's `infra/` creates it); a project
stack looks it up.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass, field

import pulumi

from mlgitops.infra.common import child
from mlgitops.infra.permissions import GITHUB_ISSUER

ISSUER = GITHUB_ISSUER
JOBS = ("deploy", "publish", "observe")


def subject(repository: str, environment: str) -> str:
    """The `sub` claim of a job running in a GitHub environment of `repository`."""
    return f"repo:{repository}:environment:{environment}"


def github_trust(provider_arn: str, subjects: list[str]) -> str:
    """Web-identity trust limited to `aud = sts.amazonaws.com` and exactly these `sub` claims (no wildcard)."""
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Federated": provider_arn},
                    "Action": "sts:AssumeRoleWithWebIdentity",
                    "Condition": {
                        "StringEquals": {
                            f"{ISSUER}:aud": "sts.amazonaws.com",
                            f"{ISSUER}:sub": subjects[0] if len(subjects) == 1 else subjects,
                        }
                    },
                }
            ],
        }
    )


def trust_of(sub: str, provider_arn: str) -> str:
    """`github_trust` for one claim, with the provider's ARN last (for `Output.apply`)."""
    return github_trust(provider_arn, [sub])


def github_environment(job: str, env: str) -> str:
    """The GitHub environment a job's role trusts: the stack's own for deploy, a shared one for publish and observe."""
    return env if job == "deploy" else job


@dataclass
class CiIdentityArgs:
    """What the roles need: the repository, the environment, the role names and each role's policy."""

    repository: str
    env: str
    provider_arn: pulumi.Input[str]
    role_names: dict[str, str]
    """job (deploy, publish, observe) -> role name"""
    policies: dict[str, pulumi.Input[str]]
    """job -> policy document"""
    tags: dict[str, str] = field(default_factory=dict)


class CiIdentity(pulumi.ComponentResource):
    """A role per CI job, each with its inline policy; `role_arns` maps `deploy-<env>`, `publish`, `observe` to ARNs."""

    def __init__(self, name: str, args: CiIdentityArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("mlgitops:identity:CiIdentity", name, None, opts)
        import pulumi_aws as aws

        self.roles: dict[str, aws.iam.Role] = {}
        for job in JOBS:
            trust = pulumi.Output.from_input(args.provider_arn).apply(
                functools.partial(trust_of, subject(args.repository, github_environment(job, args.env)))
            )
            role = aws.iam.Role(
                f"{name}-{job}",
                name=args.role_names[job],
                assume_role_policy=trust,
                max_session_duration=3600,
                description=f"CI: {job} for {args.env}, from the GitHub environment {github_environment(job, args.env)}",
                tags=args.tags,
                opts=child(self),
            )
            aws.iam.RolePolicy(f"{name}-{job}-policy", role=role.id, policy=args.policies[job], opts=child(self))
            self.roles[job] = role
        self.role_arns = {
            (f"deploy-{args.env}" if job == "deploy" else job): role.arn for job, role in self.roles.items()
        }
        self.register_outputs({"role_arns": self.role_arns})
