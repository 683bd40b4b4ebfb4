"""The stack of one environment of a project, assembled from the components (what `program()` runs)."""
from __future__ import annotations

from typing import TYPE_CHECKING

import pulumi

if TYPE_CHECKING:
    from mlgitops.config import Config
    from mlgitops.evidence import DeployState


def served_image(recorded: str | None, configured: str | None, repository_url: pulumi.Output[str]) -> pulumi.Input[str]:
    """The image an endpoint runs: the one promotion recorded (`<repository>:<tag>` in the stack's ECR repository, see
    `mlgitops.image`), else `serving.image` from the config, else the repository's tag `serving` (pushed by hand)."""
    if recorded and "/" not in recorded:
        tag = recorded.split(":", 1)[1]
        return repository_url.apply(lambda url: f"{url}:{tag}")
    return recorded or configured or repository_url.apply(lambda url: f"{url}:serving")


def build(config: "Config", deploy_state: "DeployState | None") -> list[str]:
    """Declare every component; endpoints only for models promoted to this env. Returns plan notes."""
    import pulumi_aws as aws

    from mlgitops.infra.identity import CiIdentity, deploy_policy
    from mlgitops.infra.serving import ServingEndpoint
    from mlgitops.infra.storage import ProjectStorage
    from mlgitops.infra.training import TrainingCompute
    from mlgitops.infra.tracking import TrackingServer

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
    for model_name in config.models:
        release = released.get(model_name)
        if config.env == "local":  # embedded: `mlgitops serve` is its endpoint, never a SageMaker one
            notes.append(f"no endpoint for {model_name} in local: the embedded environment is served by `mlgitops serve --env local`")
            continue
        if release is None or not release.artifact_uri:
            notes.append(f"no endpoint for {model_name} in {config.env}: nothing promoted yet (deploy/{config.env}.yaml); "
                         f"run `mlgitops promote --env {config.env} --model {model_name}`")
            continue
        image = served_image(release.image, config.models[model_name].serving.image, training.repository.repository_url)
        endpoint = ServingEndpoint(f"{base}-{model_name}", config, model_name, release, training.role.arn, storage.key.arn,
                                   storage.bucket_names["models"], image)
        endpoints[model_name] = endpoint.endpoint_name
    pulumi.export("endpoints", endpoints)

    if config.platform.ci_identity:
        policy = pulumi.Output.from_input(account).apply(lambda a: deploy_policy(config, a, region))
        identity = CiIdentity(f"{base}-ci", config, policy)
        pulumi.export("plan_role_arn", identity.plan_role.arn)
        pulumi.export("deploy_role_arn", identity.deploy_role.arn)
    if config.platform.tracking_server:
        tracking = TrackingServer(f"{base}-tracking", config, account, storage.bucket_names["artifacts"],
                                  storage.bucket_arns["artifacts"], storage.key.arn)
        pulumi.export("tracking_server_arn", tracking.server.arn)
    return notes
