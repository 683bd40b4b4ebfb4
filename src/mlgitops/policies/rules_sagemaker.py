"""SageMaker rules: encrypted, isolated, observed, highly available and autoscaled endpoints; safe training jobs.

Training jobs are launched by `mlgitops train`, not by Pulumi, so the training rules check the jobs declared in
the config (passed in the policy config as `training`) against the stack that hosts them."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from mlgitops.policies._util import as_list, get
from mlgitops.policies.registry import change_rule, resource_rule, stack_rule

if TYPE_CHECKING:
    from mlgitops.evidence import Plan, PlanChanges

ENDPOINT_CONFIG = ("aws:sagemaker/endpointConfiguration:EndpointConfiguration",)
ENDPOINT = ("aws:sagemaker/endpoint:Endpoint",)
MODEL = ("aws:sagemaker/model:Model",)
NOTEBOOK = ("aws:sagemaker/notebookInstance:NotebookInstance",)
TARGET = ("aws:appautoscaling/target:Target",)
SCALING_POLICY = ("aws:appautoscaling/policy:Policy",)
BUCKETS = ("aws:s3/bucket:Bucket", "aws:s3/bucketV2:BucketV2")
KMS_KEY = ("aws:kms/key:Key",)
DATA_QUALITY_JOB = ("aws:sagemaker/dataQualityJobDefinition:DataQualityJobDefinition",)
MONITORING_SCHEDULE = ("aws:sagemaker/monitoringSchedule:MonitoringSchedule",)


def _prod(args: Any) -> bool:
    return args.get_config().get("env") == "prod"


@resource_rule(
    "sagemaker-endpoint-kms", "Endpoint configurations encrypt instance storage with a KMS key.", ENDPOINT_CONFIG
)
def endpoint_kms(args: Any) -> Iterator[str]:
    if not args.props.get("kmsKeyArn"):
        yield "kmsKeyArn is not set"


@resource_rule(
    "sagemaker-data-capture-prod",
    "In prod, endpoint configurations capture request/response data (drift monitoring).",
    ENDPOINT_CONFIG,
    severity="medium",
)
def data_capture(args: Any) -> Iterator[str]:
    if _prod(args) and get(args.props, "dataCaptureConfig", "enableCapture") is not True:
        yield "dataCaptureConfig.enableCapture is not true in prod"


@resource_rule(
    "sagemaker-data-capture-kms", "Captured data is encrypted with a KMS key.", ENDPOINT_CONFIG, severity="medium"
)
def data_capture_kms(args: Any) -> Iterator[str]:
    cap = args.props.get("dataCaptureConfig")
    if cap and cap.get("enableCapture") and not cap.get("kmsKeyId"):
        yield "dataCaptureConfig.kmsKeyId is not set"


@stack_rule(
    "sagemaker-data-capture-destination",
    "Captured data lands in a bucket of this stack (not a foreign or public bucket).",
    ENDPOINT_CONFIG,
)
def data_capture_destination(args: Any) -> Iterator[tuple[str, str]]:
    names = {r.props.get("bucket") or r.name for r in args.resources if r.resource_type in BUCKETS}
    for r in args.resources:
        if r.resource_type not in ENDPOINT_CONFIG:
            continue
        cap = r.props.get("dataCaptureConfig")
        if not cap or not cap.get("enableCapture"):
            continue
        uri = str(cap.get("destinationS3Uri") or "")
        bucket = uri.removeprefix("s3://").split("/", 1)[0]
        if bucket not in names:
            yield (
                r.urn,
                f"data capture goes to {uri or '(no destination)'}, not to a bucket of this stack ({', '.join(sorted(names)) or 'none'})",
            )


@resource_rule(
    "sagemaker-variant-min-instances-prod",
    "In prod, every production variant starts with at least 2 instances.",
    ENDPOINT_CONFIG,
)
def variant_min(args: Any) -> Iterator[str]:
    if not _prod(args):
        return
    for v in as_list(args.props.get("productionVariants")):
        if v.get("serverlessConfig"):
            continue
        if int(v.get("initialInstanceCount") or 0) < 2:
            yield f"variant {v.get('variantName')} has initialInstanceCount {v.get('initialInstanceCount')} (< 2) in prod"


@resource_rule(
    "sagemaker-instance-type-allowlist",
    "Serving and notebook instance types are in the environment's allowlist.",
    ENDPOINT_CONFIG + NOTEBOOK,
    severity="medium",
)
def instance_allowlist(args: Any) -> Iterator[str]:
    allowed = list(args.get_config().get("instance_types") or [])
    if not allowed:
        return
    types = [v.get("instanceType") for v in as_list(args.props.get("productionVariants"))] + [
        args.props.get("instanceType")
    ]
    for t in types:
        if t and t not in allowed:
            yield f"instance type {t} is not allowed here (allowed: {', '.join(allowed)}); add it to policies.instance_types"


@resource_rule(
    "sagemaker-model-network-isolation",
    "SageMaker models run with network isolation (no outbound calls from the container).",
    MODEL,
)
def network_isolation(args: Any) -> Iterator[str]:
    if args.props.get("enableNetworkIsolation") is not True:
        yield "enableNetworkIsolation is not true"


@resource_rule(
    "sagemaker-blue-green-prod",
    "In prod, endpoints update blue/green (traffic shifted, old fleet kept until healthy).",
    ENDPOINT,
)
def blue_green(args: Any) -> Iterator[str]:
    if _prod(args) and not get(args.props, "deploymentConfig", "blueGreenUpdatePolicy"):
        yield "deploymentConfig.blueGreenUpdatePolicy is not set in prod"


@stack_rule(
    "sagemaker-auto-rollback-prod",
    "In prod, endpoint deployments roll back automatically on alarms defined in the stack.",
    ENDPOINT,
)
def auto_rollback(args: Any) -> Iterator[tuple[str, str]]:
    if not _prod(args):
        return
    alarms = {
        r.props.get("name") or r.name
        for r in args.resources
        if r.resource_type == "aws:cloudwatch/metricAlarm:MetricAlarm"
    }
    for r in args.resources:
        if r.resource_type not in ENDPOINT:
            continue
        names = [
            a.get("alarmName") for a in as_list(get(r.props, "deploymentConfig", "autoRollbackConfiguration", "alarms"))
        ]
        if not names:
            yield r.urn, f"endpoint {r.name} has no autoRollbackConfiguration alarms in prod"
        missing = [n for n in names if n not in alarms]
        if missing:
            yield r.urn, f"endpoint {r.name} rolls back on alarms not in this stack: {', '.join(map(str, missing))}"


def _variants(args: Any) -> Iterator[tuple[Any, str, str]]:
    """(endpoint resource, endpoint name, variant name) for every endpoint of the stack."""
    configs = {(r.props.get("name") or r.name): r for r in args.resources if r.resource_type in ENDPOINT_CONFIG}
    for ep in (r for r in args.resources if r.resource_type in ENDPOINT):
        cfg = configs.get(ep.props.get("endpointConfigName"))
        for v in as_list(cfg.props.get("productionVariants")) if cfg else []:
            yield ep, str(ep.props.get("name") or ep.name), str(v.get("variantName"))


@stack_rule(
    "sagemaker-autoscaling-prod",
    "In prod, every endpoint variant has an autoscaling target with min >= 1 and max <= the cap.",
    ENDPOINT,
)
def autoscaling(args: Any) -> Iterator[tuple[str, str]]:
    if not _prod(args):
        return
    cap = int(args.get_config().get("max_instances_cap") or 10)
    targets = {r.props.get("resourceId"): r for r in args.resources if r.resource_type in TARGET}
    for ep, name, variant in _variants(args):
        t = targets.get(f"endpoint/{name}/variant/{variant}")
        if t is None:
            yield ep.urn, f"variant {variant} of endpoint {name} has no autoscaling target"
            continue
        lo, hi = int(t.props.get("minCapacity") or 0), int(t.props.get("maxCapacity") or 0)
        if lo < 1:
            yield t.urn, f"autoscaling target of {name}/{variant} has minCapacity {lo} (< 1)"
        if hi > cap or hi < lo:
            yield t.urn, f"autoscaling target of {name}/{variant} has maxCapacity {hi} (cap {cap}, min {lo})"


@stack_rule(
    "sagemaker-model-monitor-prod",
    "In prod, an endpoint that captures data has a Model Monitor schedule over it "
    "(monitoring.schedule): captured traffic nobody compares with the baseline shows no drift.",
    ENDPOINT,
    severity="medium",
)
def model_monitor(args: Any) -> Iterator[tuple[str, str]]:
    if not _prod(args):
        return
    configs = {(r.props.get("name") or r.name): r for r in args.resources if r.resource_type in ENDPOINT_CONFIG}
    jobs = {
        (r.props.get("name") or r.name): str(get(r.props, "dataQualityJobInput", "endpointInput", "endpointName") or "")
        for r in args.resources
        if r.resource_type in DATA_QUALITY_JOB
    }
    watched = {
        jobs.get(str(get(r.props, "monitoringScheduleConfig", "monitoringJobDefinitionName") or ""))
        for r in args.resources
        if r.resource_type in MONITORING_SCHEDULE
    }
    for ep in (r for r in args.resources if r.resource_type in ENDPOINT):
        cfg = configs.get(ep.props.get("endpointConfigName"))
        if cfg is None or get(cfg.props, "dataCaptureConfig", "enableCapture") is not True:
            continue
        name = str(ep.props.get("name") or ep.name)
        if name not in watched:
            yield (
                ep.urn,
                (
                    f"endpoint {name} captures data but no monitoring schedule runs a data-quality job over it; "
                    "set monitoring.schedule: hourly or daily in mlgitops.yaml"
                ),
            )


@stack_rule(
    "sagemaker-autoscaling-policy",
    "Every SageMaker autoscaling target has a scaling policy (a target alone never scales).",
    TARGET,
    severity="medium",
)
def scaling_policy(args: Any) -> Iterator[tuple[str, str]]:
    scaled = {r.props.get("resourceId") for r in args.resources if r.resource_type in SCALING_POLICY}
    for t in args.resources:
        if (
            t.resource_type in TARGET
            and t.props.get("serviceNamespace") == "sagemaker"
            and t.props.get("resourceId") not in scaled
        ):
            yield t.urn, f"autoscaling target {t.props.get('resourceId')} has no appautoscaling Policy"


INSTANCE_TYPE_PATH = re.compile(r"productionVariants\[(\d+)\]\.instanceType")


@change_rule(
    "sagemaker-instance-type-autoscaled",
    "An autoscaled endpoint variant keeps its instance type across a merge: "
    "SageMaker refuses UpdateEndpoint while the variant is registered for autoscaling (the steps are in the finding).",
    ENDPOINT,
)
def instance_type_autoscaled(changes: PlanChanges, plan: Plan) -> Iterator[tuple[str, str]]:
    """Pulumi updates the endpoint before its scaling target, so the deploy of such a change would fail half-way."""
    from mlgitops.evidence import ChangeAction

    created = {c.urn for c in changes.changes if c.action == ChangeAction.CREATE}
    registered = {r.inputs.get("resourceId") for r in plan.resources if r.type in TARGET and r.urn not in created}
    configs = {r.urn: r for r in plan.resources if r.type in ENDPOINT_CONFIG}
    for change in changes.changes:
        config = configs.get(change.urn)
        moved = [int(m[1]) for p in change.paths if (m := INSTANCE_TYPE_PATH.fullmatch(p))]
        if config is None or not moved:
            continue
        variants = as_list(config.inputs.get("productionVariants"))
        for ep in (
            r
            for r in plan.resources
            if r.type in ENDPOINT and r.inputs.get("endpointConfigName") == config.inputs.get("name")
        ):
            name = ep.inputs.get("name") or ep.name
            for i in moved:
                variant, to = variants[i].get("variantName"), variants[i].get("instanceType")
                resource_id = f"endpoint/{name}/variant/{variant}"
                if resource_id not in registered:
                    continue
                yield (
                    ep.urn,
                    (
                        f"endpoint {name}: variant {variant} moves to instance type {to} while registered for autoscaling, and "
                        f"SageMaker refuses UpdateEndpoint then. To deploy it: (1) in this pull request, add to policies.exemptions "
                        f"{{rule: sagemaker-instance-type-autoscaled, resource: {ep.name}, reason: ..., expires: <a date days away>}}; "
                        f"(2) just before merging, deregister the target: aws application-autoscaling deregister-scalable-target "
                        f"--service-namespace sagemaker --resource-id {resource_id} --scalable-dimension "
                        f"sagemaker:variant:DesiredInstanceCount; (3) the deploy's `pulumi up --refresh` sees the target gone, "
                        f"updates the endpoint, then registers the target again"
                    ),
                )


@resource_rule(
    "sagemaker-notebook-no-internet",
    "Notebook instances have direct internet access disabled.",
    NOTEBOOK,
    severity="medium",
)
def notebook_internet(args: Any) -> Iterator[str]:
    if args.props.get("directInternetAccess", "Enabled") != "Disabled":
        yield "directInternetAccess is not Disabled"


@resource_rule(
    "sagemaker-notebook-no-root",
    "Notebook instances disable root access and encrypt their volume with KMS.",
    NOTEBOOK,
    severity="medium",
)
def notebook_root(args: Any) -> Iterator[str]:
    if args.props.get("rootAccess", "Enabled") != "Disabled":
        yield "rootAccess is not Disabled"
    if not args.props.get("kmsKeyId"):
        yield "kmsKeyId is not set"


def _training(args: Any) -> list[dict[str, Any]]:
    return [t for t in as_list(args.get_config().get("training")) if t.get("backend", "sagemaker") == "sagemaker"]


def _rotating_keys(args: Any) -> list[Any]:
    return [r for r in args.resources if r.resource_type in KMS_KEY and r.props.get("enableKeyRotation") is True]


@stack_rule("sagemaker-training-volume-kms", "Declared SageMaker training jobs have a stack KMS key for their volumes.")
def training_volume_kms(args: Any) -> Iterator[tuple[None, str]]:
    for t in _training(args):
        if not t.get("volume_kms_key") and not _rotating_keys(args):
            yield None, f"training job of {t.get('model')}: no KMS key in the stack for VolumeKmsKeyId"


@stack_rule(
    "sagemaker-training-output-kms", "Declared SageMaker training jobs encrypt their output with a stack KMS key."
)
def training_output_kms(args: Any) -> Iterator[tuple[None, str]]:
    for t in _training(args):
        if not t.get("output_kms_key") and not _rotating_keys(args):
            yield None, f"training job of {t.get('model')}: no KMS key in the stack for OutputDataConfig.KmsKeyId"


@stack_rule(
    "sagemaker-training-inter-container-encryption",
    "Distributed training jobs (instance_count > 1) encrypt inter-container traffic.",
    severity="medium",
)
def training_inter_container(args: Any) -> Iterator[tuple[None, str]]:
    for t in _training(args):
        if int(t.get("instance_count") or 1) > 1 and t.get("inter_container_encryption") is not True:
            yield (
                None,
                f"training job of {t.get('model')} runs on {t.get('instance_count')} instances without inter-container encryption",
            )


@stack_rule(
    "sagemaker-training-max-runtime",
    "Declared training jobs set a maximum runtime (no runaway bills).",
    severity="medium",
)
def training_max_runtime(args: Any) -> Iterator[tuple[None, str]]:
    for t in _training(args):
        if not t.get("max_runtime_minutes"):
            yield None, f"training job of {t.get('model')} has no max runtime"


@stack_rule(
    "sagemaker-training-spot-nonprod", "Outside prod, declared training jobs use managed spot capacity.", severity="low"
)
def training_spot(args: Any) -> Iterator[tuple[None, str]]:
    if _prod(args):
        return
    for t in _training(args):
        if t.get("spot") is not True:
            yield (
                None,
                f"training job of {t.get('model')} does not use spot capacity outside prod; set compute.spot: true",
            )
