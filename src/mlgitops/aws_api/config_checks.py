"""The AWS constraints on values that come from `mlgitops.yaml`, so `config check` names the line before any plan:
instance types against the enum of their use, tags against AWS's key/value rules, the region against botocore's
partition data, dataset buckets against S3's naming rules."""

from __future__ import annotations

import difflib
from collections.abc import Iterator
from typing import TYPE_CHECKING

from mlgitops.aws_api import naming
from mlgitops.aws_api.shapes import models, pattern

if TYPE_CHECKING:
    from mlgitops.config import Project

Problem = tuple[tuple[str, ...], str]


def _one_of(value: str, allowed: list[str], what: str) -> str:
    hint = [f"ml.{value}"] if f"ml.{value}" in allowed else difflib.get_close_matches(value, allowed, n=1, cutoff=0.6)
    return f"'{value}' is not {what}" + (f"; did you mean '{hint[0]}'?" if hint else "")


def _instance_types(config: Project) -> Iterator[Problem]:
    m = models()
    hosting, training = (
        m.enum("sagemaker", "ProductionVariantInstanceType"),
        m.enum("sagemaker", "TrainingInstanceType"),
    )
    for name, model in config.models.items():
        serving = model.serving.instance_type
        if serving not in hosting:
            yield (
                ("models", name, "serving", "instance_type"),
                _one_of(
                    serving,
                    hosting,
                    "an instance type SageMaker hosting offers (CreateEndpointConfig ProductionVariantInstanceType)",
                ),
            )
        compute = model.compute.instance_type
        if model.compute.backend == "sagemaker" and compute not in training:
            yield (
                ("models", name, "compute", "instance_type"),
                _one_of(
                    compute,
                    training,
                    "an instance type SageMaker training offers (CreateTrainingJob TrainingInstanceType)",
                ),
            )
        elif model.compute.backend == "batch" and not naming.batch_instance_type_ok(compute.removeprefix("ml.")):
            yield (
                ("models", name, "compute", "instance_type"),
                _one_of(
                    compute, sorted(naming.ec2_instance_types()), "an EC2 instance type (AWS Batch runs EC2 instances)"
                ),
            )
    hosting_set = set(hosting)
    for i, t in enumerate(config.policies.instance_types):
        if t not in hosting_set:
            yield (
                ("policies", "instance_types", str(i)),
                _one_of(t, hosting, "an instance type SageMaker hosting offers"),
            )


def _tags(config: Project) -> Iterator[Problem]:
    m = models()
    key_shape, value_shape = m.shape("sagemaker", "TagKey"), m.shape("sagemaker", "TagValue")
    key_re, value_re = pattern(key_shape["pattern"]), pattern(value_shape["pattern"])
    for key, value in config.tags.items():
        where = ("tags", key)
        if naming.reserved_tag(key):
            yield where, f"tag key '{key}' starts with 'aws:', which AWS reserves for its own tags; rename it"
        if not key_shape["min"] <= len(key) <= key_shape["max"]:
            yield where, f"tag key '{key}' is {len(key)} characters; AWS allows {key_shape['min']}-{key_shape['max']}"
        elif key_re is not None and not key_re.fullmatch(key):
            yield (
                where,
                f"tag key '{key}' has characters AWS refuses; allowed: letters, digits, spaces and _ . : / = + - @",
            )
        if len(value) > value_shape["max"]:
            yield where, f"tag value of '{key}' is {len(value)} characters; AWS allows at most {value_shape['max']}"
        elif value_re is not None and not value_re.fullmatch(value):
            yield (
                where,
                f"tag value of '{key}' ({value!r}) has characters AWS refuses; allowed: letters, digits, spaces and _ . : / = + - @",
            )


def _region(config: Project) -> Iterator[Problem]:
    regions = models().regions
    region = config.cloud.region
    if region not in regions:
        hint = difflib.get_close_matches(region, sorted(regions), n=1)
        yield (
            ("cloud", "region"),
            f"'{region}' is not an AWS region (botocore knows {len(regions)} across its partitions)"
            + (f"; did you mean '{hint[0]}'?" if hint else ""),
        )


def _dataset_buckets(config: Project) -> Iterator[Problem]:
    for name, dataset in config.datasets.items():
        if dataset.path.startswith("s3://"):
            bucket = dataset.path.removeprefix("s3://").split("/", 1)[0]
            problems = naming.bucket_name_problems(bucket)
            if problems:
                yield (
                    ("datasets", name, "path"),
                    f"bucket '{bucket}' is not {naming.BUCKET_NAME_RULE}: {'; '.join(problems)}",
                )


def config_problems(config: Project) -> list[Problem]:
    """Every AWS constraint a config value breaks, as (key path, message)."""
    return [*_region(config), *_tags(config), *_instance_types(config), *_dataset_buckets(config)]
