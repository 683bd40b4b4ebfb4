"""The account's platform stack (the suite's `infra/`): what every project of an AWS account shares.

- GitHub's OIDC provider, which IAM allows once per account: project stacks with `platform.ci_identity` trust it and
  never create their own (they read its ARN from this stack through a `StackReference` when `platform.stack` names
  it, else look it up by URL).
- Optionally (`platform.tracking_server`), a SageMaker managed MLflow server with its own key and buckets.

An administrator runs `pulumi up` here once per account, before any project stack (docs/workflows.md, bootstrap).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pulumi

from mlgitops.infra.common import tags
from mlgitops.infra.permissions import GITHUB_ISSUER

if TYPE_CHECKING:
    from mlgitops.config import Project

PROVIDER_OUTPUT = "github_oidc_provider_arn"
OUTPUTS = (PROVIDER_OUTPUT, "tracking_server_arn")
"""What project stacks may read through a StackReference (`tracking_server_arn` only with a tracking server)."""


def offline_outputs(account: str) -> dict[str, str]:
    """This stack's outputs as a plan under mocks sees them through a StackReference (the provider ARN is IAM's)."""
    return {PROVIDER_OUTPUT: f"arn:aws:iam::{account}:oidc-provider/{GITHUB_ISSUER}"}


def build_platform(config: Project) -> None:
    """Declare the account's shared resources from the platform's `mlgitops.yaml`."""
    import pulumi_aws as aws

    provider = aws.iam.OpenIdConnectProvider(
        "github", url=f"https://{GITHUB_ISSUER}", client_id_lists=["sts.amazonaws.com"], tags=tags(config)
    )
    pulumi.export(PROVIDER_OUTPUT, provider.arn)
    if config.platform.tracking_server:
        from mlgitops.infra.storage import ProjectStorage
        from mlgitops.infra.tracking import TrackingServer

        account: pulumi.Input[str] = config.cloud.account_id or aws.get_caller_identity_output().account_id
        base = config.name("")[:-1]
        storage = ProjectStorage(f"{base}-storage", config, account=account)
        tracking = TrackingServer(
            f"{base}-tracking",
            config,
            account,
            storage.bucket_names["artifacts"],
            storage.bucket_arns["artifacts"],
            storage.key.arn,
        )
        pulumi.export("tracking_server_arn", tracking.server.arn)  # also the MLflow tracking URI (sagemaker-mlflow)
