"""Good and bad twins of every resource the mlgitops rules look at (good-* pass, bad-* violate)."""

import json

import pulumi_aws as aws

ACCOUNT = "123456789012"
T = {"project": "fixture", "env": "prod", "owner": "team@example.com", "managed-by": "mlgitops"}
KEY_ARN = f"arn:aws:kms:eu-west-1:{ACCOUNT}:key/mock"


def doc(*statements):
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


# --- S3 ---
good = aws.s3.Bucket("good-bucket", bucket="good-bucket", tags=T)
logs = aws.s3.Bucket("good-logs", bucket="good-logs", tags={**T, "role": "access-logs"})
for b, alg in ((good, "aws:kms"), (logs, "AES256")):
    aws.s3.BucketVersioning(f"{b._name}-versioning", bucket=b.id, versioning_configuration={"status": "Enabled"})
    aws.s3.BucketServerSideEncryptionConfiguration(
        f"{b._name}-sse",
        bucket=b.id,
        rules=[
            {
                "apply_server_side_encryption_by_default": {
                    "sse_algorithm": alg,
                    **({"kms_master_key_id": KEY_ARN} if alg != "AES256" else {}),
                }
            }
        ],
    )
    aws.s3.BucketPublicAccessBlock(
        f"{b._name}-pab",
        bucket=b.id,
        block_public_acls=True,
        block_public_policy=True,
        ignore_public_acls=True,
        restrict_public_buckets=True,
    )
    aws.s3.BucketOwnershipControls(
        f"{b._name}-ownership", bucket=b.id, rule={"object_ownership": "BucketOwnerEnforced"}
    )
    delivery = (
        [
            {
                "Sid": "Logs",
                "Effect": "Allow",
                "Principal": {"Service": "logging.s3.amazonaws.com"},
                "Action": "s3:PutObject",
                "Resource": "arn:aws:s3:::good-logs/*",
                "Condition": {
                    "ArnLike": {"aws:SourceArn": "arn:aws:s3:::good-bucket"},
                    "StringEquals": {"aws:SourceAccount": ACCOUNT},
                },
            }
        ]
        if b is logs
        else []
    )
    aws.s3.BucketPolicy(
        f"{b._name}-policy",
        bucket=b.id,
        policy=b.arn.apply(
            lambda arn, delivery=delivery: doc(
                {
                    "Sid": "TLS",
                    "Effect": "Deny",
                    "Principal": "*",
                    "Action": "s3:*",
                    "Resource": [arn, f"{arn}/*"],
                    "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                },
                *delivery,
            )
        ),
    )
    aws.s3.BucketLifecycleConfiguration(
        f"{b._name}-lifecycle",
        bucket=b.id,
        rules=[
            {
                "id": "abort",
                "status": "Enabled",
                "filter": {},
                "abort_incomplete_multipart_upload": {"days_after_initiation": 7},
            }
        ],
    )
aws.s3.BucketLogging("good-bucket-logging", bucket=good.id, target_bucket=logs.id, target_prefix="good/")

bad = aws.s3.Bucket("bad-bucket", bucket="bad-bucket", acl="public-read", force_destroy=True)
aws.s3.BucketServerSideEncryptionConfiguration(
    "bad-bucket-sse", bucket=bad.id, rules=[{"apply_server_side_encryption_by_default": {"sse_algorithm": "AES256"}}]
)
aws.s3.BucketPublicAccessBlock(
    "bad-bucket-pab",
    bucket=bad.id,
    block_public_acls=False,
    block_public_policy=True,
    ignore_public_acls=True,
    restrict_public_buckets=True,
)
aws.s3.BucketOwnershipControls("bad-bucket-ownership", bucket=bad.id, rule={"object_ownership": "ObjectWriter"})
aws.s3.BucketPolicy(
    "bad-bucket-policy",
    bucket=bad.id,
    policy=doc(
        {
            "Sid": "Public",
            "Effect": "Allow",
            "Principal": "*",
            "Action": "s3:GetObject",
            "Resource": "arn:aws:s3:::bad-bucket/*",
        }
    ),
)
aws.s3.BucketVersioning("bad-bucket-versioning", bucket=bad.id, versioning_configuration={"status": "Suspended"})

# --- KMS ---
aws.kms.Key(
    "good-key",
    enable_key_rotation=True,
    deletion_window_in_days=30,
    tags=T,
    policy=doc(
        {
            "Sid": "Root",
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
            "Action": "kms:*",
            "Resource": "*",
        },
        {
            "Sid": "Via",
            "Effect": "Allow",
            "Principal": "*",
            "Action": "kms:Decrypt",
            "Resource": "*",
            "Condition": {"StringEquals": {"kms:CallerAccount": ACCOUNT}},
        },
    ),
)
aws.kms.Key(
    "bad-key",
    enable_key_rotation=False,
    deletion_window_in_days=5,
    policy=doc({"Sid": "Open", "Effect": "Allow", "Principal": "*", "Action": "kms:*", "Resource": "*"}),
)

# --- ECR ---
aws.ecr.Repository(
    "good-repo",
    image_tag_mutability="IMMUTABLE",
    image_scanning_configuration={"scan_on_push": True},
    encryption_configurations=[{"encryption_type": "KMS", "kms_key": KEY_ARN}],
    tags=T,
)
aws.ecr.RepositoryPolicy(
    "good-repo-policy",
    repository="good-repo",
    policy=doc(
        {
            "Sid": "Pull",
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
            "Action": "ecr:BatchGetImage",
        }
    ),
)
aws.ecr.Repository(
    "bad-repo",
    image_tag_mutability="MUTABLE",
    force_delete=True,
    encryption_configurations=[{"encryption_type": "AES256"}],
)
aws.ecr.RepositoryPolicy(
    "bad-repo-policy",
    repository="bad-repo",
    policy=doc({"Sid": "Anyone", "Effect": "Allow", "Principal": "*", "Action": "ecr:BatchGetImage"}),
)

# --- CloudWatch Logs ---
aws.cloudwatch.LogGroup("good-logs-group", retention_in_days=30, kms_key_id=KEY_ARN, tags=T)
aws.cloudwatch.LogGroup("bad-logs-group")

# --- Batch ---
aws.batch.JobDefinition(
    "good-job",
    type="container",
    tags=T,
    container_properties=json.dumps(
        {"image": "train:1", "privileged": False, "resourceRequirements": [{"type": "VCPU", "value": "1"}]}
    ),
)
aws.batch.JobDefinition(
    "bad-job",
    type="container",
    container_properties=json.dumps(
        {
            "image": "train:1",
            "privileged": True,
            "resourceRequirements": [{"type": "VCPU", "value": "2"}, {"type": "MEMORY", "value": "8192"}],
        }
    ),
)
aws.batch.ComputeEnvironment(
    "good-compute",
    name="good-compute",
    type="MANAGED",
    tags=T,
    compute_resources={
        "type": "SPOT",
        "max_vcpus": 16,
        "instance_types": ["m5.large"],
        "subnets": ["subnet-0123abcd"],
        "security_group_ids": ["sg-0123abcd"],
        "instance_role": f"arn:aws:iam::{ACCOUNT}:instance-profile/batch",
        "tags": T,
    },
)

# --- IAM ---
svc_trust = {"Effect": "Allow", "Principal": {"Service": "sagemaker.amazonaws.com"}, "Action": "sts:AssumeRole"}
oidc = f"arn:aws:iam::{ACCOUNT}:oidc-provider/token.actions.githubusercontent.com"
good_role = aws.iam.Role(
    "good-role",
    tags=T,
    assume_role_policy=doc({**svc_trust, "Condition": {"StringEquals": {"aws:SourceAccount": ACCOUNT}}}),
)
aws.iam.Role(
    "good-oidc-role",
    tags=T,
    assume_role_policy=doc(
        {
            "Effect": "Allow",
            "Principal": {"Federated": oidc},
            "Action": "sts:AssumeRoleWithWebIdentity",
            "Condition": {
                "StringEquals": {
                    "token.actions.githubusercontent.com:aud": "sts.amazonaws.com",
                    "token.actions.githubusercontent.com:sub": "repo:example-org/churn:environment:prod",
                }
            },
        }
    ),
)
aws.iam.Role("bad-role", assume_role_policy=doc(svc_trust))
aws.iam.Role(
    "bad-oidc-role",
    assume_role_policy=doc(
        {
            "Effect": "Allow",
            "Principal": {"Federated": oidc},
            "Action": "sts:AssumeRoleWithWebIdentity",
            "Condition": {"StringLike": {"token.actions.githubusercontent.com:sub": "repo:example-org/*"}},
        }
    ),
)
aws.iam.Role(
    "bad-open-role", assume_role_policy=doc({"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"})
)
aws.iam.RolePolicy(
    "good-role-policy",
    role=good_role.name,
    policy=doc(
        {"Sid": "Read", "Effect": "Allow", "Action": ["s3:GetObject"], "Resource": "arn:aws:s3:::good-bucket/*"}
    ),
)
aws.iam.RolePolicy(
    "bad-role-policy",
    role=good_role.name,
    policy=doc({"Sid": "S3", "Effect": "Allow", "Action": "s3:*", "Resource": "arn:aws:s3:::good-bucket/*"}),
)
aws.iam.RolePolicy(
    "bad-admin-policy",
    role=good_role.name,
    policy=doc({"Sid": "All", "Effect": "Allow", "Action": "*", "Resource": "*"}),
)
# iam-lint: documents IAM saves but never matches as written
aws.iam.RolePolicy(
    "bad-lint-unknown-action",
    role=good_role.name,
    policy=doc(
        {
            "Sid": "Typo",
            "Effect": "Allow",
            "Action": ["s3:GetObjects", "s3x:GetObject"],
            "Resource": "arn:aws:s3:::good-bucket/*",
        }
    ),
)
aws.iam.RolePolicy(
    "bad-lint-condition-key",
    role=good_role.name,
    policy=doc(
        {
            "Sid": "Pass",
            "Effect": "Allow",
            "Action": ["iam:PassRole", "iam:GetRole"],
            "Resource": f"arn:aws:iam::{ACCOUNT}:role/good-role",
            "Condition": {"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}},
        }
    ),
)
aws.iam.RolePolicy(
    "bad-lint-resource-arn",
    role=good_role.name,
    policy=doc(
        {
            "Sid": "Wrong",
            "Effect": "Allow",
            "Action": ["s3:GetObject"],
            "Resource": f"arn:aws:iam::{ACCOUNT}:role/good-role",
        }
    ),
)
aws.iam.Policy(
    "bad-lint-malformed",
    tags=T,
    policy=json.dumps(
        {"Statement": [{"Effect": "Permit", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::good-bucket/*"}]}
    ),
)
aws.iam.RolePolicyAttachment(
    "good-attachment", role=good_role.name, policy_arn="arn:aws:iam::aws:policy/AmazonSageMakerReadOnly"
)
aws.iam.RolePolicyAttachment(
    "bad-attachment", role=good_role.name, policy_arn="arn:aws:iam::aws:policy/AdministratorAccess"
)

# --- SageMaker ---
ROLE = f"arn:aws:iam::{ACCOUNT}:role/good-role"
aws.sagemaker.Model(
    "good-model",
    name="good-model",
    execution_role_arn=ROLE,
    enable_network_isolation=True,
    tags=T,
    primary_container={"image": "img:1", "model_data_url": "s3://good-bucket/model.tar.gz"},
)
aws.sagemaker.Model(
    "bad-model",
    name="bad-model",
    execution_role_arn=ROLE,
    primary_container={"image": "img:1", "model_data_url": "s3://good-bucket/model.tar.gz"},
)
aws.sagemaker.EndpointConfiguration(
    "good-config",
    name="good-config",
    kms_key_arn=KEY_ARN,
    tags=T,
    production_variants=[
        {
            "variant_name": "AllTraffic",
            "model_name": "good-model",
            "initial_instance_count": 2,
            "instance_type": "ml.m5.large",
        }
    ],
    data_capture_config={
        "enable_capture": True,
        "initial_sampling_percentage": 20,
        "destination_s3_uri": "s3://good-bucket/capture",
        "kms_key_id": KEY_ARN,
        "capture_options": [{"capture_mode": "Input"}],
    },
)
aws.sagemaker.EndpointConfiguration(
    "bad-config",
    name="bad-config",
    production_variants=[
        {
            "variant_name": "AllTraffic",
            "model_name": "bad-model",
            "initial_instance_count": 1,
            "instance_type": "ml.p3.2xlarge",
        }
    ],
)
aws.sagemaker.EndpointConfiguration(
    "bad-capture-config",
    name="bad-capture-config",
    kms_key_arn=KEY_ARN,
    tags=T,
    production_variants=[
        {
            "variant_name": "AllTraffic",
            "model_name": "good-model",
            "initial_instance_count": 2,
            "instance_type": "ml.m5.large",
        }
    ],
    data_capture_config={
        "enable_capture": True,
        "initial_sampling_percentage": 20,
        "destination_s3_uri": "s3://someone-elses-bucket/x",
        "capture_options": [{"capture_mode": "Input"}],
    },
)
alarm_args = dict(
    comparison_operator="GreaterThanThreshold",
    evaluation_periods=1,
    metric_name="Invocation5XXErrors",
    namespace="AWS/SageMaker",
    period=60,
    threshold=1,
    statistic="Sum",
    tags=T,
)
aws.cloudwatch.MetricAlarm("good-alarm", name="good-alarm", **alarm_args)
aws.sagemaker.Endpoint(
    "good-endpoint",
    name="good-endpoint",
    endpoint_config_name="good-config",
    tags=T,
    deployment_config={
        "blue_green_update_policy": {
            "traffic_routing_configuration": {"type": "ALL_AT_ONCE", "wait_interval_in_seconds": 60}
        },
        "auto_rollback_configuration": {"alarms": [{"alarm_name": "good-alarm"}]},
    },
)
aws.sagemaker.Endpoint(
    "bad-endpoint",
    name="bad-endpoint",
    endpoint_config_name="bad-config",
    deployment_config={"auto_rollback_configuration": {"alarms": [{"alarm_name": "no-such-alarm"}]}},
)
aws.sagemaker.Endpoint(
    "bad-unscaled-endpoint", name="bad-unscaled-endpoint", endpoint_config_name="good-config", tags=T
)
aws.sagemaker.Endpoint(
    "bad-unmonitored-endpoint", name="bad-unmonitored-endpoint", endpoint_config_name="good-config", tags=T
)
for watched in ("good-endpoint", "bad-unscaled-endpoint"):  # Model Monitor over each endpoint that captures
    job = aws.sagemaker.DataQualityJobDefinition(
        f"good-{watched}-dq",
        name=f"good-{watched}-dq",
        role_arn=ROLE,
        tags=T,
        data_quality_app_specification={
            "image_uri": "468650794304.dkr.ecr.eu-west-1.amazonaws.com/sagemaker-model-monitor-analyzer"
        },
        data_quality_job_input={"endpoint_input": {"endpoint_name": watched}},
        data_quality_job_output_config={
            "kms_key_id": KEY_ARN,
            "monitoring_outputs": {"s3_output": {"s3_uri": "s3://good-bucket/monitor"}},
        },
        job_resources={
            "cluster_config": {
                "instance_count": 1,
                "instance_type": "ml.m5.large",
                "volume_size_in_gb": 20,
                "volume_kms_key_id": KEY_ARN,
            }
        },
    )
    aws.sagemaker.MonitoringSchedule(
        f"good-{watched}-schedule",
        name=f"good-{watched}-schedule",
        tags=T,
        monitoring_schedule_config={
            "monitoring_type": "DataQuality",
            "monitoring_job_definition_name": job.name,
            "schedule_config": {"schedule_expression": "cron(0 * ? * * *)"},
        },
    )
scaling = dict(service_namespace="sagemaker", scalable_dimension="sagemaker:variant:DesiredInstanceCount")
aws.appautoscaling.Target(
    "good-target",
    resource_id="endpoint/good-endpoint/variant/AllTraffic",
    min_capacity=2,
    max_capacity=4,
    tags=T,
    **scaling,
)
aws.appautoscaling.Policy(
    "good-scaling",
    name="good-scaling",
    resource_id="endpoint/good-endpoint/variant/AllTraffic",
    policy_type="TargetTrackingScaling",
    target_tracking_scaling_policy_configuration={
        "target_value": 100,
        "predefined_metric_specification": {"predefined_metric_type": "SageMakerVariantInvocationsPerInstance"},
    },
    **scaling,
)
aws.appautoscaling.Target(
    "bad-target", resource_id="endpoint/bad-endpoint/variant/AllTraffic", min_capacity=0, max_capacity=50, **scaling
)
aws.sagemaker.NotebookInstance(
    "good-notebook",
    instance_type="ml.t2.medium",
    role_arn=ROLE,
    direct_internet_access="Disabled",
    root_access="Disabled",
    kms_key_id=KEY_ARN,
    tags=T,
)
aws.sagemaker.NotebookInstance("bad-notebook", instance_type="ml.p3.2xlarge", role_arn=ROLE)
