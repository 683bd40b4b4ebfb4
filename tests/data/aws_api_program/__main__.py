"""Good and bad twins per aws-api-<service> rule: good-* hold values the AWS API accepts, bad-* values it refuses
(each bad value is named in tests/test_aws_api.py)."""

import json

import pulumi_aws as aws

ACCOUNT = "123456789012"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/fixture"
KEY_ARN = f"arn:aws:kms:eu-west-1:{ACCOUNT}:key/0b0e0c4e-1111-2222-3333-444455556666"
T = {"project": "fixture", "env": "prod"}
TRUST = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"Service": "sagemaker.amazonaws.com"}, "Action": "sts:AssumeRole"}
        ],
    }
)

# --- S3: a name S3 refuses (uppercase, underscore) and a reserved tag key
aws.s3.Bucket("good-bucket", bucket="fixture-prod-models", tags=T)
aws.s3.Bucket("bad-bucket", bucket="Fixture_Models", tags={**T, "aws:owner": "me"})
aws.s3.BucketOwnershipControls(
    "good-bucket-ownership", bucket="fixture-prod-models", rule={"object_ownership": "BucketOwnerEnforced"}
)
aws.s3.BucketOwnershipControls(
    "bad-bucket-ownership", bucket="fixture-prod-models", rule={"object_ownership": "Everybody"}
)

# --- KMS
aws.kms.Key("good-key", deletion_window_in_days=30, enable_key_rotation=True, tags=T)
aws.kms.Key("bad-key", deletion_window_in_days=30, enable_key_rotation=True, key_usage="SIGN_EVERYTHING")
aws.kms.Alias("good-alias", name="alias/fixture-prod", target_key_id=KEY_ARN)
aws.kms.Alias("bad-alias", name="alias/fixture prod!", target_key_id=KEY_ARN)

# --- IAM
aws.iam.Role("good-role", name="fixture-prod-training", assume_role_policy=TRUST, max_session_duration=3600, tags=T)
aws.iam.Role("bad-role", name="fixture prod training", assume_role_policy=TRUST, max_session_duration=60)

# --- ECR
aws.ecr.Repository("good-repo", name="fixture/serving", image_tag_mutability="IMMUTABLE", tags=T)
aws.ecr.Repository("bad-repo", name="Fixture_Serving", image_tag_mutability="SOMETIMES")

# --- SageMaker: model, endpoint config, endpoint, monitoring
aws.sagemaker.Model(
    "good-model",
    name="fixture-prod-churn",
    execution_role_arn=ROLE,
    tags=T,
    primary_container={
        "image": f"{ACCOUNT}.dkr.ecr.eu-west-1.amazonaws.com/fixture:1",
        "model_data_url": "s3://fixture-prod-models/churn/model.tar.gz",
    },
)
aws.sagemaker.Model(
    "bad-model",
    name="fixture-prod-churn-bad",
    execution_role_arn=ROLE,
    primary_container={
        "image": f"{ACCOUNT}.dkr.ecr.eu-west-1.amazonaws.com/fixture:1",
        "model_data_url": "file:///tmp/model.tar.gz",
    },
)
capture = {
    "destination_s3_uri": "s3://fixture-prod-models/capture",
    "capture_options": [{"capture_mode": "Input"}, {"capture_mode": "Output"}],
}
aws.sagemaker.EndpointConfiguration(
    "good-config",
    name="fixture-prod-churn-1",
    kms_key_arn=KEY_ARN,
    tags=T,
    production_variants=[
        {
            "variant_name": "AllTraffic",
            "model_name": "fixture-prod-churn",
            "instance_type": "ml.m5.large",
            "initial_instance_count": 1,
        }
    ],
    data_capture_config={**capture, "initial_sampling_percentage": 20},
)
aws.sagemaker.EndpointConfiguration(
    "bad-config",
    name="fixture-prod-churn-2",
    production_variants=[
        {
            "variant_name": "AllTraffic",
            "model_name": "fixture-prod-churn",
            "instance_type": "ml.mega.huge",
            "initial_instance_count": 1,
        }
    ],
    data_capture_config={**capture, "initial_sampling_percentage": 200},
)
aws.sagemaker.Endpoint("good-endpoint", name="fixture-prod-churn", endpoint_config_name="fixture-prod-churn-1", tags=T)
aws.sagemaker.Endpoint("bad-endpoint", name="fixture_prod_churn", endpoint_config_name="fixture-prod-churn-1")
job = {
    "role_arn": ROLE,
    "data_quality_app_specification": {"image_uri": f"{ACCOUNT}.dkr.ecr.eu-west-1.amazonaws.com/monitor:1"},
    "data_quality_job_input": {
        "endpoint_input": {"endpoint_name": "fixture-prod-churn", "local_path": "/opt/ml/processing/input"}
    },
    "data_quality_job_output_config": {
        "monitoring_outputs": {
            "s3_output": {"s3_uri": "s3://fixture-prod-models/monitoring", "local_path": "/opt/ml/processing/output"}
        }
    },
}
aws.sagemaker.DataQualityJobDefinition(
    "good-quality-job",
    name="fixture-prod-quality",
    **job,
    job_resources={"cluster_config": {"instance_count": 1, "instance_type": "ml.m5.large", "volume_size_in_gb": 20}},
)
aws.sagemaker.DataQualityJobDefinition(
    "bad-quality-job",
    name="fixture-prod-quality-bad",
    **job,
    job_resources={"cluster_config": {"instance_count": 0, "instance_type": "m5.large", "volume_size_in_gb": 20}},
)
aws.sagemaker.MonitoringSchedule(
    "good-schedule",
    name="fixture-prod-quality",
    monitoring_schedule_config={
        "monitoring_job_definition_name": "fixture-prod-quality",
        "monitoring_type": "DataQuality",
        "schedule_config": {"schedule_expression": "cron(0 * ? * * *)"},
    },
)
aws.sagemaker.MonitoringSchedule(
    "bad-schedule",
    name="fixture-prod-quality-bad",
    monitoring_schedule_config={
        "monitoring_job_definition_name": "fixture-prod-quality",
        "monitoring_type": "Vibes",
        "schedule_config": {"schedule_expression": "cron(0 * ? * * *)"},
    },
)

# --- CloudWatch alarms
alarm = {
    "metric_name": "Invocation5XXErrors",
    "namespace": "AWS/SageMaker",
    "statistic": "Sum",
    "threshold": 1,
    "dimensions": {"EndpointName": "fixture-prod-churn", "VariantName": "AllTraffic"},
}
aws.cloudwatch.MetricAlarm(
    "good-alarm",
    name="fixture-prod-5xx",
    comparison_operator="GreaterThanOrEqualToThreshold",
    evaluation_periods=1,
    period=60,
    tags=T,
    **alarm,
)
aws.cloudwatch.MetricAlarm(
    "bad-alarm", name="fixture-prod-5xx-bad", comparison_operator="Bigger", evaluation_periods=0, period=60, **alarm
)

# --- Application Auto Scaling
target = {"resource_id": "endpoint/fixture-prod-churn/variant/AllTraffic", "service_namespace": "sagemaker"}
aws.appautoscaling.Target(
    "good-target", min_capacity=1, max_capacity=4, scalable_dimension="sagemaker:variant:DesiredInstanceCount", **target
)
aws.appautoscaling.Target(
    "bad-target", min_capacity=1, max_capacity=4, scalable_dimension="sagemaker:variant:Count", **target
)
aws.appautoscaling.Policy(
    "good-scaling",
    name="fixture-prod-invocations",
    policy_type="TargetTrackingScaling",
    scalable_dimension="sagemaker:variant:DesiredInstanceCount",
    **target,
    target_tracking_scaling_policy_configuration={
        "target_value": 200,
        "predefined_metric_specification": {"predefined_metric_type": "SageMakerVariantInvocationsPerInstance"},
    },
)
aws.appautoscaling.Policy(
    "bad-scaling",
    name="fixture-prod-invocations-bad",
    policy_type="TargetTrackingScaling",
    scalable_dimension="sagemaker:variant:DesiredInstanceCount",
    **target,
    target_tracking_scaling_policy_configuration={
        "target_value": 200,
        "predefined_metric_specification": {"predefined_metric_type": "InvocationsPerSecond"},
    },
)

# --- CloudWatch Logs
aws.cloudwatch.LogGroup("good-log-group", name="/aws/sagemaker/fixture-prod", retention_in_days=30, tags=T)
aws.cloudwatch.LogGroup("bad-log-group", name="/aws/sagemaker/fixture prod!", retention_in_days=42)

# --- Batch: EC2 instance types, never ml. ones
resources = {
    "max_vcpus": 16,
    "subnets": ["subnet-0123"],
    "security_group_ids": ["sg-0123"],
    "instance_role": ROLE,
    "type": "SPOT",
}
aws.batch.ComputeEnvironment(
    "good-compute",
    name="fixture-prod-batch",
    type="MANAGED",
    tags=T,
    compute_resources={**resources, "instance_types": ["m5.large", "c5", "optimal"]},
)
aws.batch.ComputeEnvironment(
    "bad-compute",
    name="fixture-prod-batch-bad",
    type="MANAGED",
    compute_resources={**resources, "instance_types": ["ml.m5.large", "m5.gigantic"]},
)
aws.batch.JobQueue(
    "good-queue",
    name="fixture-prod-batch",
    state="ENABLED",
    priority=1,
    tags=T,
    compute_environment_orders=[{"order": 1, "compute_environment": "fixture-prod-batch"}],
)
aws.batch.JobQueue(
    "bad-queue",
    name="fixture-prod-batch-bad",
    state="ON",
    priority=1,
    compute_environment_orders=[{"order": 1, "compute_environment": "fixture-prod-batch"}],
)
