"""DataQualityMonitor: SageMaker Model Monitor over one endpoint's captured traffic, on a schedule, against the
baseline mlgitops uploads next to the model package at promotion (`mlgitops.monitoring.baseline`). Its reports go
to the artifacts bucket, encrypted (outputs and the job's volume) with the stack's key."""

from __future__ import annotations

from dataclasses import dataclass, field

import pulumi

from mlgitops.infra.common import child

# The analyzer image per region: sagemaker-python-sdk's image_uri_config/model-monitor.json (as in the SageMaker docs'
# "Model Monitor prebuilt container" page); a region missing here gets no Model Monitor, and a plan note says so.
ANALYZER_ACCOUNTS = {
    "eu-north-1": "895015795356",
    "me-south-1": "607024016150",
    "ap-south-1": "126357580389",
    "us-east-2": "777275614652",
    "eu-west-1": "468650794304",
    "eu-central-1": "048819808253",
    "sa-east-1": "539772159869",
    "ap-east-1": "001633400207",
    "us-east-1": "156813124566",
    "ap-northeast-2": "709848358524",
    "eu-west-2": "749857270468",
    "eu-west-3": "680080141114",
    "ap-northeast-1": "574779866223",
    "us-west-2": "159807026194",
    "us-west-1": "890145073186",
    "ap-southeast-1": "245545462676",
    "ap-southeast-2": "563025443158",
    "ca-central-1": "536280801234",
    "cn-north-1": "453000072557",
    "cn-northwest-1": "453252182341",
}
ANALYZER_REPOSITORY = "sagemaker-model-monitor-analyzer"
# SageMaker's cron: at minute 0 of every hour, or at midnight UTC. A run may take at most the interval
# (SageMaker refuses an hourly schedule whose job may run longer than an hour).
CRON = {"hourly": "cron(0 * ? * * *)", "daily": "cron(0 0 ? * * *)"}
MAX_RUNTIME = {"hourly": 1800, "daily": 3600}
INPUT_PATH = "/opt/ml/processing/input/endpoint"
OUTPUT_PATH = "/opt/ml/processing/output"


def analyzer_image(region: str) -> str | None:
    """The Model Monitor analyzer's image URI in `region`, None where it is not published."""
    account = ANALYZER_ACCOUNTS.get(region)
    if account is None:
        return None
    domain = "amazonaws.com.cn" if region.startswith("cn-") else "amazonaws.com"
    return f"{account}.dkr.ecr.{region}.{domain}/{ANALYZER_REPOSITORY}"


@dataclass
class DataQualityMonitorArgs:
    """What one endpoint's monitor is wired to."""

    endpoint_name: pulumi.Input[str]
    job_name: str
    """The job definition's name: content-derived, since a job definition is immutable (a new baseline replaces it)."""
    schedule_name: str
    baseline_prefix: pulumi.Input[str]
    """s3://<models bucket>/<model>/<digest hex>/baseline/ (statistics.json, constraints.json)."""
    output_uri: pulumi.Input[str]
    role_arn: pulumi.Input[str]
    key_arn: pulumi.Input[str]
    image: str
    schedule: str
    instance_type: str = "ml.m5.large"
    volume_gb: int = 20
    tags: dict[str, str] = field(default_factory=dict)


class DataQualityMonitor(pulumi.ComponentResource):
    """A DataQualityJobDefinition over the endpoint and the MonitoringSchedule that runs it."""

    def __init__(self, name: str, args: DataQualityMonitorArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("mlgitops:monitor:DataQualityMonitor", name, None, opts)
        import pulumi_aws as aws

        prefix = pulumi.Output.from_input(args.baseline_prefix)
        self.job_definition = aws.sagemaker.DataQualityJobDefinition(
            f"{name}-job",
            name=args.job_name,
            role_arn=args.role_arn,
            data_quality_app_specification={"image_uri": args.image},
            data_quality_baseline_config={
                "constraints_resource": {"s3_uri": prefix.apply(lambda p: f"{p}constraints.json")},
                "statistics_resource": {"s3_uri": prefix.apply(lambda p: f"{p}statistics.json")},
            },
            data_quality_job_input={
                "endpoint_input": {
                    "endpoint_name": args.endpoint_name,
                    "local_path": INPUT_PATH,
                    "s3_input_mode": "File",
                    "s3_data_distribution_type": "FullyReplicated",
                }
            },
            data_quality_job_output_config={
                "kms_key_id": args.key_arn,
                "monitoring_outputs": {
                    "s3_output": {"s3_uri": args.output_uri, "local_path": OUTPUT_PATH, "s3_upload_mode": "EndOfJob"}
                },
            },
            job_resources={
                "cluster_config": {
                    "instance_count": 1,
                    "instance_type": args.instance_type,
                    "volume_size_in_gb": args.volume_gb,
                    "volume_kms_key_id": args.key_arn,
                }
            },
            network_config={"enable_inter_container_traffic_encryption": True},
            stopping_condition={"max_runtime_in_seconds": MAX_RUNTIME[args.schedule]},
            tags=args.tags,
            opts=child(self),
        )
        self.schedule = aws.sagemaker.MonitoringSchedule(
            f"{name}-schedule",
            name=args.schedule_name,
            monitoring_schedule_config={
                "monitoring_type": "DataQuality",
                "monitoring_job_definition_name": self.job_definition.name,
                "schedule_config": {"schedule_expression": CRON[args.schedule]},
            },
            tags=args.tags,
            opts=child(self),
        )
        self.register_outputs({"job_definition": self.job_definition.name, "schedule": self.schedule.name})
