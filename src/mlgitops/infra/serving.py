"""ServingEndpoint: what `deploy/<env>.yaml` says a model's endpoint serves, deployed blue/green with
alarm-driven auto-rollback, KMS-encrypted, data capture when enabled, autoscaled on invocations."""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING

import pulumi

from mlgitops.infra.common import child, tags

if TYPE_CHECKING:
    from mlgitops.config import Project
    from mlgitops.evidence import DeployEntry

VARIANT = "AllTraffic"
CONTAINER_ENV = {
    "MLFLOW_DEPLOYMENT_FLAVOR_NAME": "python_function",  # what MLflow's own SageMaker deploy sets (mlflow.sagemaker)
    "SERVING_ENVIRONMENT": "SageMaker",
    "MLFLOW_DISABLE_ENV_CREATION": "true",  # network isolation: the requirements are in the image, install nothing
}


def versioned_name(base: str, model_digest: str, *content: object) -> str:
    """`<base>-<model digest>-<hash of the rest>` (8 hex digits each): SageMaker models and endpoint configs are
    immutable, so any change replaces them; a content-derived name lets the new one exist beside the old (blue/green)."""
    digest = hashlib.sha256(repr(content).encode()).hexdigest()[:8]
    suffix = f"-{model_digest.removeprefix('sha256:')[:8]}-{digest}"
    return base[: 63 - len(suffix)] + suffix


class ServingEndpoint(pulumi.ComponentResource):
    """SageMaker Model (network isolation) -> EndpointConfiguration -> Endpoint, two CloudWatch alarms
    (5xx errors, model latency) wired to the blue/green auto-rollback, and target-tracking autoscaling."""

    def __init__(
        self,
        name: str,
        config: Project,
        model_name: str,
        release: DeployEntry,
        role_arn: pulumi.Input[str],
        key_arn: pulumi.Input[str],
        capture_bucket: pulumi.Input[str],
        image: pulumi.Input[str],
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("mlgitops:serving:ServingEndpoint", name, None, opts)
        import pulumi_aws as aws

        serving = config.models[model_name].serving
        digest = release.digest
        image_tag = (release.image or serving.image or "").rsplit(":", 1)[
            -1
        ]  # the image's identity within this stack's repository
        endpoint_name = config.name(model_name)
        t = tags(config, model=model_name, **{"model-digest": release.digest})
        model = aws.sagemaker.Model(
            f"{name}-model",
            name=versioned_name(endpoint_name, digest, release.artifact_uri, image_tag),
            execution_role_arn=role_arn,
            enable_network_isolation=True,  # the image holds the model's requirements
            primary_container={
                "image": image,
                "model_data_url": release.artifact_uri,
                "mode": "SingleModel",
                "environment": CONTAINER_ENV,
            },
            tags=t,
            opts=child(self),
        )
        capture = None
        if serving.data_capture.enabled:
            capture = {
                "enable_capture": True,
                "initial_sampling_percentage": serving.data_capture.sample_percent,
                "destination_s3_uri": pulumi.Output.concat("s3://", capture_bucket, f"/data-capture/{model_name}"),
                "kms_key_id": key_arn,
                "capture_options": [{"capture_mode": "Input"}, {"capture_mode": "Output"}],
                "capture_content_type_header": {
                    "csv_content_types": ["text/csv"],
                    "json_content_types": ["application/json"],
                },
            }
        endpoint_config = aws.sagemaker.EndpointConfiguration(
            f"{name}-config",
            name=versioned_name(
                endpoint_name,
                digest,
                release.artifact_uri,
                image_tag,
                serving.instance_type,
                serving.min_instances,
                serving.data_capture.model_dump(),
            ),
            kms_key_arn=key_arn,
            production_variants=[
                {
                    "variant_name": VARIANT,
                    "model_name": model.name,
                    "initial_instance_count": serving.min_instances,
                    "instance_type": serving.instance_type,
                    "initial_variant_weight": 1,
                }
            ],
            data_capture_config=capture,
            tags=t,
            opts=child(self),
        )
        dims = {"EndpointName": endpoint_name, "VariantName": VARIANT}
        alarm_5xx = aws.cloudwatch.MetricAlarm(
            f"{name}-5xx",
            name=f"{endpoint_name}-5xx",
            namespace="AWS/SageMaker",
            metric_name="Invocation5XXErrors",
            dimensions=dims,
            statistic="Sum",
            period=60,
            evaluation_periods=2,
            threshold=1,
            comparison_operator="GreaterThanOrEqualToThreshold",
            treat_missing_data="notBreaching",
            alarm_description=f"{endpoint_name}: server errors (rolls back a deployment)",
            tags=t,
            opts=child(self),
        )
        alarm_latency = aws.cloudwatch.MetricAlarm(
            f"{name}-latency",
            name=f"{endpoint_name}-latency",
            namespace="AWS/SageMaker",
            metric_name="ModelLatency",
            dimensions=dims,
            extended_statistic="p90",
            period=60,
            evaluation_periods=3,
            threshold=500_000,
            comparison_operator="GreaterThanThreshold",
            treat_missing_data="notBreaching",
            alarm_description=f"{endpoint_name}: p90 model latency above 500 ms (rolls back a deployment)",
            tags=t,
            opts=child(self),
        )
        deployment = {
            "blue_green_update_policy": {
                "traffic_routing_configuration": {
                    "type": "CANARY",
                    "canary_size": {"type": "CAPACITY_PERCENT", "value": 10},
                    "wait_interval_in_seconds": 300,
                },
                "termination_wait_in_seconds": 300,
                "maximum_execution_timeout_in_seconds": 3600,
            },
            "auto_rollback_configuration": {
                "alarms": [{"alarm_name": alarm_5xx.name}, {"alarm_name": alarm_latency.name}]
            },
        }
        self.endpoint = aws.sagemaker.Endpoint(
            f"{name}-endpoint",
            name=endpoint_name,
            endpoint_config_name=endpoint_config.name,
            deployment_config=deployment,
            tags=t,
            opts=child(self),
        )
        resource_id = self.endpoint.name.apply(lambda n: f"endpoint/{n}/variant/{VARIANT}")
        target = aws.appautoscaling.Target(
            f"{name}-scaling-target",
            service_namespace="sagemaker",
            resource_id=resource_id,
            scalable_dimension="sagemaker:variant:DesiredInstanceCount",
            min_capacity=serving.min_instances,
            max_capacity=serving.max_instances,
            tags=t,
            opts=child(self),
        )
        aws.appautoscaling.Policy(
            f"{name}-scaling-policy",
            name=f"{endpoint_name}-invocations",
            policy_type="TargetTrackingScaling",
            service_namespace=target.service_namespace,
            resource_id=target.resource_id,
            scalable_dimension=target.scalable_dimension,
            target_tracking_scaling_policy_configuration={
                "target_value": serving.target_invocations_per_instance,
                "scale_in_cooldown": 300,
                "scale_out_cooldown": 60,
                "predefined_metric_specification": {"predefined_metric_type": "SageMakerVariantInvocationsPerInstance"},
            },
            opts=child(self),
        )
        self.endpoint_name = self.endpoint.name
        self.register_outputs({"endpoint_name": self.endpoint.name})
