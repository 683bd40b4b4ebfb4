"""TrackingServer: a SageMaker managed MLflow tracking server for teams without their own MLflow."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import pulumi

from mlgitops.infra.common import child, tags
from mlgitops.infra.training import sagemaker_trust

if TYPE_CHECKING:
    from mlgitops.config import Project


class TrackingServer(pulumi.ComponentResource):
    """The MLflow server stores artifacts in the project's artifacts bucket through its own scoped role."""

    def __init__(
        self,
        name: str,
        config: Project,
        account: pulumi.Input[str],
        artifacts_bucket: pulumi.Output[str],
        artifacts_arn: pulumi.Output[str],
        key_arn: pulumi.Output[str],
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("mlgitops:tracking:TrackingServer", name, None, opts)
        import pulumi_aws as aws

        self.role = aws.iam.Role(
            f"{name}-role",
            name=config.name("mlflow"),
            assume_role_policy=pulumi.Output.from_input(account).apply(sagemaker_trust),
            max_session_duration=3600,
            tags=tags(config),
            opts=child(self),
        )
        policy = pulumi.Output.all(artifacts_arn, key_arn).apply(
            lambda a: json.dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {"Effect": "Allow", "Action": ["s3:ListBucket", "s3:GetBucketLocation"], "Resource": [a[0]]},
                        {
                            "Effect": "Allow",
                            "Action": ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"],
                            "Resource": [f"{a[0]}/mlflow/*"],
                        },
                        {"Effect": "Allow", "Action": ["kms:Decrypt", "kms:GenerateDataKey"], "Resource": [a[1]]},
                    ],
                }
            )
        )
        aws.iam.RolePolicy(f"{name}-role-policy", role=self.role.id, policy=policy, opts=child(self))
        self.server = aws.sagemaker.MlflowTrackingServer(
            f"{name}-server",
            tracking_server_name=config.name("mlflow"),
            role_arn=self.role.arn,
            artifact_store_uri=pulumi.Output.concat("s3://", artifacts_bucket, "/mlflow"),
            tracking_server_size=config.platform.tracking_server_size,
            automatic_model_registration=True,
            tags=tags(config),
            opts=child(self),
        )
        self.register_outputs({"tracking_server_arn": self.server.arn})
