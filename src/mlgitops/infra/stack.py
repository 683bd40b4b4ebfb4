"""The stack of one environment of a project, assembled from the components (what `program()` runs)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pulumi

if TYPE_CHECKING:
    from mlgitops.config import Project
    from mlgitops.evidence import DeployEntry, DeployState


def served_image(recorded: str | None, configured: str | None, repository_url: pulumi.Output[str]) -> pulumi.Input[str]:
    """The image an endpoint runs: the one promotion recorded (`<repository>:<tag>` in the stack's ECR repository, see
    `mlgitops.image`), else `serving.image` from the config, else the repository's tag `serving` (pushed by hand)."""
    if recorded and "/" not in recorded:
        tag = recorded.split(":", 1)[1]
        return repository_url.apply(lambda url: f"{url}:{tag}")
    return recorded or configured or repository_url.apply(lambda url: f"{url}:serving")


def build(config: Project, deploy_state: DeployState | None) -> list[str]:
    """Declare every component; endpoints only for models promoted to this env. Returns plan notes."""
    import pulumi_aws as aws

    from mlgitops.infra.serving import ServingEndpoint
    from mlgitops.infra.storage import ProjectStorage
    from mlgitops.infra.tracking import TrackingServer
    from mlgitops.infra.training import TrainingCompute

    declared: set[str] = set()

    def record(args: pulumi.ResourceTransformationArgs) -> None:
        """Every type this stack declares: what its deploy role may manage, and nothing else."""
        declared.add(args.type_)

    pulumi.runtime.register_stack_transformation(record)
    region = config.cloud.region
    account: pulumi.Input[str] = config.cloud.account_id or aws.get_caller_identity_output().account_id
    base = config.name("")[:-1]
    storage = ProjectStorage(f"{base}-storage", config, account=account)
    training = TrainingCompute(f"{base}-training", config, account, region, storage.bucket_arns, storage.key.arn)
    pulumi.export("buckets", storage.bucket_names)
    pulumi.export("kms_key_arn", storage.key.arn)
    pulumi.export("training_role_arn", training.role.arn)
    pulumi.export("ecr_repository_url", training.repository.repository_url)
    pulumi.export("training_jobs", training.jobs)
    if training.job_queue is not None:
        pulumi.export("batch_job_queue", training.job_queue.name)

    notes: list[str] = []
    released = deploy_state.models if deploy_state else {}
    endpoints: dict[str, pulumi.Output[str]] = {}
    monitors: dict[str, pulumi.Output[str]] = {}
    for model_name in config.models:
        release = released.get(model_name)
        if config.env == "local":  # embedded: `mlgitops serve` is its endpoint, never a SageMaker one
            notes.append(
                f"no endpoint for {model_name} in local: the embedded environment is served by `mlgitops serve --env local`"
            )
            continue
        if release is None or not release.artifact_uri:
            notes.append(
                f"no endpoint for {model_name} in {config.env}: nothing promoted yet (deploy/{config.env}.yaml); "
                f"run `mlgitops promote --env {config.env} --model {model_name}`"
            )
            continue
        image = served_image(release.image, config.models[model_name].serving.image, training.repository.repository_url)
        endpoint = ServingEndpoint(
            f"{base}-{model_name}",
            config,
            model_name,
            release,
            training.role.arn,
            storage.key.arn,
            storage.bucket_names["models"],
            image,
        )
        endpoints[model_name] = endpoint.endpoint_name
        if config.monitoring.schedule != "none":
            schedule, note = data_quality_monitor(
                config,
                model_name,
                release,
                endpoint.endpoint_name,
                training.role.arn,
                storage.key.arn,
                storage.bucket_names,
            )
            notes += [note] if note else []
            if schedule is not None:
                monitors[model_name] = schedule
    pulumi.export("endpoints", endpoints)
    if monitors:
        pulumi.export("monitoring_schedules", monitors)

    if config.platform.tracking_server:
        tracking = TrackingServer(
            f"{base}-tracking",
            config,
            account,
            storage.bucket_names["artifacts"],
            storage.bucket_arns["artifacts"],
            storage.key.arn,
        )
        pulumi.export("tracking_server_arn", tracking.server.arn)
    if config.platform.ci_identity and config.env == "local":
        notes.append("no CI roles in local: the embedded environment is never deployed from CI")
    elif config.platform.ci_identity:  # last: its deploy policy covers every type declared above
        identity = ci_identity(config, account, sorted(declared), storage.key.arn, training.repository.arn)
        pulumi.export("ci_role_arns", identity.role_arns)
    return notes


def data_quality_monitor(
    config: Project,
    model_name: str,
    release: DeployEntry,
    endpoint_name: pulumi.Output[str],
    role_arn: pulumi.Output[str],
    key_arn: pulumi.Output[str],
    buckets: dict[str, pulumi.Output[str]],
) -> tuple[pulumi.Output[str] | None, str | None]:
    """Model Monitor over the endpoint's capture (`monitoring.schedule`), against the baseline promotion uploaded next
    to the package: (the schedule's name, None), or (None, the plan note saying why there is none)."""
    from mlgitops.infra.common import tags
    from mlgitops.infra.monitor import DataQualityMonitor, DataQualityMonitorArgs, analyzer_image
    from mlgitops.infra.serving import versioned_name
    from mlgitops.package import hex_of

    serving = config.models[model_name].serving
    if not serving.data_capture.enabled:
        return None, (
            f"no Model Monitor for {model_name} in {config.env}: monitoring.schedule is {config.monitoring.schedule} but "
            f"data capture is off; set models.{model_name}.serving.data_capture.enabled"
        )
    image = analyzer_image(config.cloud.region)
    if image is None:
        return (
            None,
            f"no Model Monitor for {model_name}: SageMaker publishes no Model Monitor image in {config.cloud.region}",
        )
    base, digest = config.name(model_name), release.digest
    hexd = hex_of(digest)
    monitor = DataQualityMonitor(
        f"{base}-monitor",
        DataQualityMonitorArgs(
            endpoint_name=endpoint_name,
            job_name=versioned_name(f"{base}-dq", digest, config.monitoring.schedule),
            schedule_name=f"{base[:50].rstrip('-')}-data-quality",
            baseline_prefix=pulumi.Output.concat("s3://", buckets["models"], f"/{model_name}/{hexd}/baseline/"),
            output_uri=pulumi.Output.concat("s3://", buckets["artifacts"], f"/model-monitor/{model_name}"),
            role_arn=role_arn,
            key_arn=key_arn,
            image=image,
            schedule=config.monitoring.schedule,
            tags=tags(config, model=model_name, **{"model-digest": digest}),
        ),
    )
    return monitor.schedule.name, None


def passed_roles(config: Project, account: str) -> dict[str, list[str]]:
    """The stack's roles that `pulumi up` hands to a service (iam:PassRole), each with the services that use it."""
    from mlgitops.training.remote import role_name

    def arn(name: str) -> str:
        return f"arn:aws:iam::{account}:role/{name}"

    passed = {arn(role_name(config)): ["sagemaker.amazonaws.com"]}  # training jobs and endpoints' models
    if config.platform.tracking_server:
        passed[arn(config.name("mlflow"))] = ["sagemaker.amazonaws.com"]
    if any(m.compute.backend == "batch" for m in config.models.values()):
        passed[arn(config.name("batch-instance"))] = ["batch.amazonaws.com", "ec2.amazonaws.com"]
        passed[arn(config.name("batch-job"))] = ["batch.amazonaws.com", "ecs-tasks.amazonaws.com"]
    return passed


def ci_identity(
    config: Project,
    account: pulumi.Input[str],
    declared: list[str],
    key_arn: pulumi.Output[str],
    repository_arn: pulumi.Output[str],
):
    """The CI roles of this environment, their policies derived from what the stack declares (`permissions`)."""
    import pulumi_aws as aws

    from mlgitops.infra.common import tags
    from mlgitops.infra.identity import ISSUER, CiIdentity, CiIdentityArgs
    from mlgitops.infra.permissions import PublishScope, Scope, deploy_policy, observe_policy, publish_policy
    from mlgitops.infra.platform import PROVIDER_OUTPUT
    from mlgitops.infra.training import BATCH_INSTANCE_POLICY
    from mlgitops.training.remote import queue_name, role_name

    if config.github is None:
        raise ValueError("platform.ci_identity needs github.repository in mlgitops.yaml")
    batch = any(m.compute.backend == "batch" for m in config.models.values())
    invokes = [] if config.platform.stack else ["aws:iam/getOpenIdConnectProvider:getOpenIdConnectProvider"]
    invokes += ["aws:ec2/getVpc:getVpc", "aws:ec2/getSubnets:getSubnets"] if batch else []
    types = sorted({*declared, "aws:iam/role:Role", "aws:iam/rolePolicy:RolePolicy", *invokes})
    names = {job: config.name(job) for job in ("deploy", "publish", "observe")}
    # the account's GitHub provider, created once by the platform stack (the suite's infra/): read, never created here
    if config.platform.stack:
        provider_arn = pulumi.StackReference(config.platform.stack).require_output(PROVIDER_OUTPUT)
    else:
        provider_arn = aws.iam.get_open_id_connect_provider_output(url=f"https://{ISSUER}").arn

    def scope(a: str) -> Scope:
        return Scope(
            prefix=config.name(""), account=a, region=config.cloud.region, project=config.project, env=config.env
        )

    def publish(args: list[str]) -> str:
        a, key, repo = args
        return publish_policy(
            PublishScope(
                account=a,
                region=config.cloud.region,
                buckets={r: config.bucket_name(r) for r in ("data", "artifacts", "models")},
                key_arn=key,
                repository_arn=repo,
                training_role_arn=f"arn:aws:iam::{a}:role/{role_name(config)}",
                job_prefix=config.name(""),
                batch_queue=queue_name(config) if batch else None,
                job_definition_prefix=config.name("train-") if batch else None,
            )
        )

    acct = pulumi.Output.from_input(account)
    policies: dict[str, pulumi.Input[str]] = {
        "deploy": acct.apply(
            lambda a: deploy_policy(
                types,
                scope(a),
                passed_roles(config, a),
                f"arn:aws:iam::{a}:role/{names['deploy']}",
                [BATCH_INSTANCE_POLICY] if batch else [],
            )
        ),
        "publish": pulumi.Output.all(acct, key_arn, repository_arn).apply(publish),
        "observe": pulumi.Output.all(acct, key_arn).apply(
            lambda args: observe_policy(
                types, scope(args[0]), config.bucket_name("models"), args[1], config.bucket_name("data")
            )
        ),
    }
    return CiIdentity(
        config.name("ci"),
        CiIdentityArgs(
            repository=config.github.repository,
            env=config.env,
            provider_arn=provider_arn,
            role_names=names,
            policies=policies,
            tags=tags(config),
        ),
    )
