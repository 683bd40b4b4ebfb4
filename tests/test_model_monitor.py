"""SageMaker Model Monitor: the baseline mlgitops computes at promotion (in the formats the data-quality job reads),
uploaded next to the model package."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import jsonschema
import numpy as np
import pandas as pd
import pytest

# The AWS docs' "Schema for Statistics (statistics.json file)" and "Schema for Constraints (constraints.json file)"
# (Amazon SageMaker Developer Guide, Model Monitor), written down as JSON Schema: what the data-quality job accepts.
COMMON = {
    "type": "object",
    "required": ["num_present", "num_missing"],
    "additionalProperties": False,
    "properties": {"num_present": {"type": "integer", "minimum": 0}, "num_missing": {"type": "integer", "minimum": 0}},
}
KLL = {
    "type": "object",
    "required": ["buckets", "sketch"],
    "additionalProperties": False,
    "properties": {
        "buckets": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["lower_bound", "upper_bound", "count"],
                "additionalProperties": False,
                "properties": {
                    "lower_bound": {"type": "number"},
                    "upper_bound": {"type": "number"},
                    "count": {"type": "number", "minimum": 0},
                },
            },
        },
        "sketch": {
            "type": "object",
            "required": ["parameters", "data"],
            "additionalProperties": False,
            "properties": {
                "parameters": {
                    "type": "object",
                    "required": ["c", "k"],
                    "additionalProperties": False,
                    "properties": {"c": {"type": "number"}, "k": {"type": "number"}},
                },
                "data": {"type": "array", "items": {"type": "array", "items": {"type": "number"}}},
            },
        },
    },
}
STATISTICS_SCHEMA = {
    "type": "object",
    "required": ["version", "dataset", "features"],
    "additionalProperties": False,
    "properties": {
        "version": {"type": "number"},
        "dataset": {
            "type": "object",
            "required": ["item_count"],
            "properties": {"item_count": {"type": "integer", "minimum": 0}},
        },
        "features": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["name", "inferred_type"],
                "additionalProperties": False,
                "properties": {
                    "name": {"type": "string"},
                    "inferred_type": {"enum": ["Integral", "Fractional", "String", "Unknown"]},
                    "numerical_statistics": {
                        "type": "object",
                        "required": ["common", "mean", "sum", "std_dev", "min", "max", "distribution"],
                        "additionalProperties": False,
                        "properties": {
                            "common": COMMON,
                            "mean": {"type": "number"},
                            "sum": {"type": "number"},
                            "std_dev": {"type": "number", "minimum": 0},
                            "min": {"type": "number"},
                            "max": {"type": "number"},
                            "distribution": {
                                "type": "object",
                                "required": ["kll"],
                                "additionalProperties": False,
                                "properties": {"kll": KLL},
                            },
                        },
                    },
                    "string_statistics": {
                        "type": "object",
                        "required": ["common", "distinct_count", "distribution"],
                        "additionalProperties": False,
                        "properties": {
                            "common": COMMON,
                            "distinct_count": {"type": "number", "minimum": 0},
                            "distribution": {
                                "type": "object",
                                "required": ["categorical"],
                                "additionalProperties": False,
                                "properties": {
                                    "categorical": {
                                        "type": "object",
                                        "required": ["buckets"],
                                        "additionalProperties": False,
                                        "properties": {
                                            "buckets": {
                                                "type": "array",
                                                "items": {
                                                    "type": "object",
                                                    "required": ["value", "count"],
                                                    "additionalProperties": False,
                                                    "properties": {
                                                        "value": {"type": "string"},
                                                        "count": {"type": "integer", "minimum": 0},
                                                    },
                                                },
                                            }
                                        },
                                    }
                                },
                            },
                        },
                    },
                },
                "oneOf": [
                    {"required": ["numerical_statistics"], "not": {"required": ["string_statistics"]}},
                    {"required": ["string_statistics"], "not": {"required": ["numerical_statistics"]}},
                ],
            },
        },
    },
}
ENABLED = {"enum": ["Enabled", "Disabled"]}
CONSTRAINTS_SCHEMA = {
    "type": "object",
    "required": ["version", "features"],
    "additionalProperties": False,
    "properties": {
        "version": {"type": "number"},
        "features": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["name", "inferred_type"],
                "additionalProperties": False,
                "properties": {
                    "name": {"type": "string"},
                    "inferred_type": {"enum": ["Integral", "Fractional", "String", "Unknown"]},
                    "completeness": {"type": "number", "minimum": 0, "maximum": 1},
                    "num_constraints": {
                        "type": "object",
                        "additionalProperties": False,
                        "properties": {"is_non_negative": {"type": "boolean"}},
                    },
                    "string_constraints": {
                        "type": "object",
                        "additionalProperties": False,
                        "properties": {"domains": {"type": "array", "items": {"type": "string"}}},
                    },
                    "monitoringConfigOverrides": {"type": "object"},
                },
            },
        },
        "monitoring_config": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "evaluate_constraints": ENABLED,
                "emit_metrics": ENABLED,
                "datatype_check_threshold": {"type": "number"},
                "domain_content_threshold": {"type": "number"},
                "distribution_constraints": {
                    "type": "object",
                    "additionalProperties": False,
                    "properties": {
                        "perform_comparison": ENABLED,
                        "comparison_threshold": {"type": "number"},
                        "comparison_method": {"enum": ["Simple", "Robust"]},
                        "categorical_comparison_threshold": {"type": "number"},
                        "categorical_drift_method": {"enum": ["LInfinity", "ChiSquared"]},
                    },
                },
            },
        },
    },
}


def frame() -> pd.DataFrame:
    rng = np.random.default_rng(7)
    n = 500
    fractional = pd.Series(rng.normal(50, 10, n))
    fractional[[3, 9, 27]] = np.nan
    plan = pd.Series(rng.choice(["basic", "plus", "pro"], n), dtype=object)
    plan[[4, 5]] = None
    return pd.DataFrame(
        {
            "tenure_months": rng.integers(0, 72, n),
            "monthly_charges": fractional,
            "plan": plan,
            "delta": rng.normal(0, 1, n),
        }
    )


def by_name(doc: dict) -> dict[str, dict]:
    return {f["name"]: f for f in doc["features"]}


def test_statistics_have_model_monitors_format_and_pandas_values() -> None:
    from mlgitops.monitoring.baseline import statistics

    data = frame()
    doc = json.loads(json.dumps(statistics(data)))  # what lands in S3 is JSON
    jsonschema.validate(doc, STATISTICS_SCHEMA)
    assert doc["dataset"]["item_count"] == len(data)
    feats = by_name(doc)
    assert [f["name"] for f in doc["features"]] == list(data.columns)
    assert {n: f["inferred_type"] for n, f in feats.items()} == {
        "tenure_months": "Integral",
        "monthly_charges": "Fractional",
        "plan": "String",
        "delta": "Fractional",
    }
    for name in ("tenure_months", "monthly_charges", "delta"):
        col, num = data[name].dropna(), feats[name]["numerical_statistics"]
        assert num["common"] == {
            "num_present": int(data[name].notna().sum()),
            "num_missing": int(data[name].isna().sum()),
        }
        assert num["mean"] == pytest.approx(col.mean()) and num["sum"] == pytest.approx(col.sum())
        assert num["std_dev"] == pytest.approx(col.std(ddof=0)) and (num["min"], num["max"]) == (col.min(), col.max())
        kll = num["distribution"]["kll"]
        assert sum(b["count"] for b in kll["buckets"]) == len(col)
        assert kll["buckets"][0]["lower_bound"] == col.min() and kll["buckets"][-1]["upper_bound"] == pytest.approx(
            col.max()
        )
        assert kll["sketch"]["data"] == [sorted(float(v) for v in col)]  # fewer values than k: the sketch is exact
    assert feats["monthly_charges"]["numerical_statistics"]["common"]["num_missing"] == 3
    text = feats["plan"]["string_statistics"]
    assert text["common"] == {"num_present": len(data) - 2, "num_missing": 2} and text["distinct_count"] == 3
    assert {b["value"]: b["count"] for b in text["distribution"]["categorical"]["buckets"]} == data[
        "plan"
    ].value_counts().to_dict()


def test_constraints_have_model_monitors_format_and_follow_the_data() -> None:
    from mlgitops.monitoring.baseline import constraints

    data = frame()
    doc = json.loads(json.dumps(constraints(data)))
    jsonschema.validate(doc, CONSTRAINTS_SCHEMA)
    feats = by_name(doc)
    assert feats["monthly_charges"]["completeness"] == pytest.approx(data["monthly_charges"].notna().mean())
    assert feats["monthly_charges"]["completeness"] < 1
    assert feats["tenure_months"]["completeness"] == 1.0
    assert feats["tenure_months"]["num_constraints"] == {"is_non_negative": True}
    assert feats["delta"]["num_constraints"] == {
        "is_non_negative": False
    }  # normal around 0: negatives seen in training
    assert feats["plan"]["string_constraints"] == {"domains": ["basic", "plus", "pro"]}
    assert doc["monitoring_config"]["distribution_constraints"]["perform_comparison"] == "Enabled"


def test_a_large_column_is_sketched_by_k_quantiles_and_free_text_gets_no_domain() -> None:
    from mlgitops.monitoring.baseline import SKETCH_K, constraints, statistics

    data = pd.DataFrame({"x": np.arange(10_000, dtype=float), "id": [f"id-{i}" for i in range(10_000)]})
    stats = by_name(statistics(data))
    (data_,) = stats["x"]["numerical_statistics"]["distribution"]["kll"]["sketch"]["data"]
    assert len(data_) == SKETCH_K and data_[0] == 0 and data_[-1] == 9999 and data_ == sorted(data_)
    assert "string_constraints" not in by_name(constraints(data))["id"]


def test_promotion_uploads_the_baseline_next_to_the_package_from_the_pinned_training_data(tmp_path, moto_s3) -> None:
    """`publish` of a cloud environment with monitoring.schedule: package and baseline in the models bucket, the
    baseline computed from the training data's feature columns (the target dropped)."""
    import boto3
    from gitops_helpers import MODEL, stack_buckets
    from infra_helpers import copy_example

    from mlgitops.bucket import baseline_uri, object_uri
    from mlgitops.config import load
    from mlgitops.errors import BadInput
    from mlgitops.evidence import DeployEntry
    from mlgitops.gitops.core import publish
    from mlgitops.monitoring.baseline import constraints, statistics

    root = copy_example(tmp_path / "churn")
    loaded = load(root, "prod")
    config = loaded.model_copy(update={"monitoring": loaded.monitoring.model_copy(update={"schedule": "daily"})})
    bucket = stack_buckets(root, ("prod",))["prod"]
    package = tmp_path / "model.tar.gz"
    package.write_bytes(b"not really a model")
    digest = "sha256:" + hashlib.sha256(package.read_bytes()).hexdigest()
    train = "sha256:" + hashlib.sha256((root / "data" / "train.csv").read_bytes()).hexdigest()
    entry = DeployEntry(
        digest=digest,
        artifact_uri=object_uri(config, MODEL, digest),
        registry_name="churn-churn-classifier",
        data_digests={"train": train},
    )
    publish(config, MODEL, entry, package)
    s3 = boto3.client("s3")
    prefix = baseline_uri(config, MODEL, digest).removeprefix(f"s3://{bucket}/")
    assert prefix == f"{MODEL}/{digest.removeprefix('sha256:')}/baseline/"
    own = f"{MODEL}/{digest.removeprefix('sha256:')}/"  # the bucket is shared with other tests' promotions
    keys = sorted(o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix=own)["Contents"])
    assert keys == [
        f"{prefix}constraints.json",
        f"{prefix}statistics.json",
        f"{MODEL}/{digest.removeprefix('sha256:')}/model.tar.gz",
    ]
    features = pd.read_csv(root / "data" / "train.csv").drop(columns=["churned"])
    got = {
        n: json.loads(s3.get_object(Bucket=bucket, Key=prefix + n)["Body"].read())
        for n in ("statistics.json", "constraints.json")
    }
    assert got["statistics.json"] == json.loads(json.dumps(statistics(features)))
    assert got["constraints.json"] == json.loads(json.dumps(constraints(features)))
    assert s3.head_object(Bucket=bucket, Key=prefix + "statistics.json")["ServerSideEncryption"] == "aws:kms"
    with pytest.raises(BadInput, match="not the training data of churn-classifier"):  # refused before any upload
        publish(config, MODEL, entry.model_copy(update={"data_digests": {"train": "sha256:" + "1" * 64}}), package)


# --- Model Monitor in the stack -----------------------------------------------------------------------------------

DQ = "aws:sagemaker/dataQualityJobDefinition:DataQualityJobDefinition"
SCHEDULE = "aws:sagemaker/monitoringSchedule:MonitoringSchedule"


def monitored_example(tmp_path: Path, schedule: str) -> Path:
    from infra_helpers import copy_example

    root = copy_example(tmp_path / "churn")
    path = root / "mlgitops.yaml"
    text = path.read_text()
    assert "    monitoring: {schedule: daily}\n" in text  # the example's prod overlay
    text = text.replace("    monitoring: {schedule: daily}\n", f"    monitoring: {{schedule: {schedule}}}\n")
    path.write_text(text + f"monitoring: {{schedule: {schedule}}}\n")  # and the base, for staging
    return root


@pytest.fixture(scope="module")
def monitored_plans(tmp_path_factory):
    """The example's staging and prod plans with monitoring.schedule: hourly, one model promoted to each."""
    from infra_helpers import release

    from mlgitops.config import load
    from mlgitops.plan import plan_configs

    root = monitored_example(tmp_path_factory.mktemp("monitored"), "hourly")
    configs = [load(root, e) for e in ("staging", "prod")]
    return configs, dict(zip(("staging", "prod"), plan_configs([(c, release(c.env)) for c in configs]), strict=True))


def test_the_schedule_declares_a_job_definition_and_schedule_wired_to_endpoint_baseline_key_and_buckets(
    monitored_plans,
):
    from mlgitops.bucket import baseline_uri
    from mlgitops.infra.monitor import analyzer_image

    configs, plans = monitored_plans
    config, plan = configs[1], plans["prod"]
    (job,) = plan.by_type(DQ)
    (schedule,) = plan.by_type(SCHEDULE)
    (endpoint,) = plan.by_type("aws:sagemaker/endpoint:Endpoint")
    (endpoint_config,) = plan.by_type("aws:sagemaker/endpointConfiguration:EndpointConfiguration")
    (key,) = plan.by_type("aws:kms/key:Key")
    inputs = job.inputs
    # the endpoint it reads, whose configuration captures into the models bucket with the stack's key
    assert (
        inputs["dataQualityJobInput"]["endpointInput"]["endpointName"]
        == endpoint.inputs["name"]
        == "churn-prod-churn-classifier"
    )
    capture = endpoint_config.inputs["dataCaptureConfig"]
    assert (
        capture["enableCapture"] is True
        and capture["destinationS3Uri"] == f"s3://{config.bucket_name('models')}/data-capture/churn-classifier"
    )
    # the baseline promotion uploaded next to the package
    prefix = baseline_uri(config, "churn-classifier", "sha256:" + "0" * 64)
    assert inputs["dataQualityBaselineConfig"] == {
        "constraintsResource": {"s3Uri": prefix + "constraints.json"},
        "statisticsResource": {"s3Uri": prefix + "statistics.json"},
    }
    # outputs to the artifacts bucket; outputs and volume encrypted with the stack's key; the stack's SageMaker role
    out = inputs["dataQualityJobOutputConfig"]
    assert (
        out["monitoringOutputs"]["s3Output"]["s3Uri"]
        == f"s3://{config.bucket_name('artifacts')}/model-monitor/churn-classifier"
    )
    key_arn = f"arn:aws:kms:eu-west-1:123456789012:key/mock-key-{key.name}"  # the mock's ARN of the stack's key
    assert (
        out["kmsKeyId"] == inputs["jobResources"]["clusterConfig"]["volumeKmsKeyId"] == capture["kmsKeyId"] == key_arn
    )
    (role,) = [
        r for r in plan.by_type("aws:iam/role:Role") if r.inputs.get("name") == "churn-prod-training"
    ]  # what endpoints run as
    assert inputs["roleArn"] == f"arn:aws:iam::123456789012:role/{role.inputs['name']}"
    assert (
        inputs["dataQualityAppSpecification"]["imageUri"]
        == analyzer_image("eu-west-1")
        == "468650794304.dkr.ecr.eu-west-1.amazonaws.com/sagemaker-model-monitor-analyzer"
    )
    # the schedule runs that job definition hourly
    cfg = schedule.inputs["monitoringScheduleConfig"]
    assert cfg == {
        "monitoringType": "DataQuality",
        "monitoringJobDefinitionName": inputs["name"],
        "scheduleConfig": {"scheduleExpression": "cron(0 * ? * * *)"},
    }
    assert plan.outputs["monitoring_schedules"] == {"churn-classifier": schedule.inputs["name"]}


def test_the_aws_api_validation_passes_on_the_monitor(monitored_plans):
    from mlgitops.aws_api import check_plan

    _, plans = monitored_plans
    assert {e: check_plan(p) for e, p in plans.items()} == {"staging": [], "prod": []}
    assert all(p.by_type(DQ) and p.by_type(SCHEDULE) for p in plans.values())


def test_without_a_schedule_or_without_capture_there_is_no_monitor_and_a_note_says_why(tmp_path):
    from infra_helpers import release

    from mlgitops.config import load
    from mlgitops.plan import plan_configs

    plain = load(monitored_example(tmp_path / "a", "none"), "prod")
    root = monitored_example(tmp_path / "b", "daily")
    text = (
        (root / "mlgitops.yaml")
        .read_text()
        .replace("data_capture: {enabled: true, sample_percent: 20}", "data_capture: {enabled: false}")
    )
    (root / "mlgitops.yaml").write_text(text)
    no_capture = load(root, "prod")
    off, uncaptured = plan_configs([(plain, release("prod")), (no_capture, release("prod"))])
    assert not off.by_type(DQ) and not off.by_type(SCHEDULE) and "monitoring_schedules" not in off.outputs
    assert not uncaptured.by_type(DQ) and not uncaptured.by_type(SCHEDULE)
    assert any("monitoring.schedule is daily but data capture is off" in n for n in uncaptured.notes)


# --- the retraining pull request's commit -------------------------------------------------------------------------

RETRAIN = 'monitoring:\n  retrain: {dataset: train, path: "data/labelled/{date}/train.csv"}  # where labelling writes\n'


def git(root: Path, *args: str) -> str:
    import subprocess

    return subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, check=True).stdout.strip()


def cli(root: Path, *args: str):
    import subprocess
    import sys

    return subprocess.run(
        [sys.executable, "-m", "mlgitops", "--project", str(root), *args], capture_output=True, text=True
    )


def report_json(path: Path, drifted: bool) -> Path:
    """A monitor result as `mlgitops monitor --env prod --json` prints it."""
    from mlgitops.evidence import FeatureDrift, MonitorReport

    feature = FeatureDrift(
        name="monthly_charges",
        kind="number",
        drifted=drifted,
        psi=0.8 if drifted else 0.01,
        test="ks",
        statistic=0.4,
        p_value=1e-9 if drifted else 0.6,
        raw_p_value=1e-10,
        reference_n=800,
        live_n=500,
    )
    report = MonitorReport(
        env="prod",
        model="churn-classifier",
        digest="sha256:" + "a" * 64,
        capture="s3://b/data-capture/x/",
        since="2026-12-01T00:00:00Z",
        until="2026-12-02T00:00:00Z",
        files=3,
        records=50,
        rows=500,
        reference="train",
        reference_digest="sha256:" + "b" * 64,
        features=[feature],
    )
    path.write_text(json.dumps(report.to_dict()))
    return path


@pytest.fixture
def repo(tmp_path):
    """The example as a fresh clone of main would have it, with monitoring.retrain set."""
    from infra_helpers import copy_example

    root = copy_example(tmp_path / "churn")
    (root / "mlgitops.yaml").write_text((root / "mlgitops.yaml").read_text() + RETRAIN)
    git(root, "init", "--quiet", "--initial-branch", "main")
    git(root, "config", "user.name", "t")
    git(root, "config", "user.email", "t@example.com")
    git(root, "add", "-A")
    git(root, "commit", "--quiet", "-m", "base")
    return root


def test_a_drifted_monitor_result_makes_the_retraining_branch_and_commit(repo, tmp_path):
    base = git(repo, "rev-parse", "HEAD")
    before = (repo / "mlgitops.yaml").read_text()
    done = cli(
        repo,
        "retrain",
        "--model",
        "churn-classifier",
        "--from",
        str(report_json(tmp_path / "m.json", True)),
        "--date",
        "2026-12-02",
        "--json",
    )
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert out["branch"] == "mlgitops/retrain-churn-classifier" and out["path"] == "data/labelled/2026-12-02/train.csv"
    assert git(repo, "branch", "--show-current") == "mlgitops/retrain-churn-classifier"
    assert git(repo, "rev-parse", "HEAD") == out["commit"] and git(repo, "rev-parse", "HEAD~1") == base
    assert git(repo, "diff", "--name-only", base, "HEAD") == "mlgitops.yaml"
    after = (repo / "mlgitops.yaml").read_text()
    assert after == before.replace(
        "train:   {path: data/train.csv,", 'train:   {path: "data/labelled/2026-12-02/train.csv",'
    )  # only that value
    message = git(repo, "log", "-1", "--format=%B")
    assert message.startswith("retrain: churn-classifier on datasets.train data/labelled/2026-12-02/train.csv")
    assert "feature monthly_charges: PSI 0.800" in message and "in prod" in message
    from mlgitops.config import load

    assert load(repo, "prod").datasets["train"].path == "data/labelled/2026-12-02/train.csv"
    # the next scheduled run starts from main again: the branch is reset, still one commit on main
    git(repo, "switch", "--quiet", "main")
    again = cli(
        repo,
        "retrain",
        "--model",
        "churn-classifier",
        "--from",
        str(tmp_path / "m.json"),
        "--date",
        "2026-12-03",
        "--json",
    )
    assert again.returncode == 0, again.stderr
    assert git(repo, "rev-parse", "HEAD~1") == base and "2026-12-03" in (repo / "mlgitops.yaml").read_text()
    assert git(repo, "rev-list", "--count", "main..mlgitops/retrain-churn-classifier") == "1"


def test_no_drift_changes_nothing_and_bad_input_is_exit_2(repo, tmp_path):
    base = git(repo, "rev-parse", "HEAD")
    calm = cli(repo, "retrain", "--model", "churn-classifier", "--from", str(report_json(tmp_path / "ok.json", False)))
    assert calm.returncode == 0 and "no drift of churn-classifier in prod" in calm.stdout
    assert git(repo, "branch", "--list", "mlgitops/*") == "" and git(repo, "rev-parse", "HEAD") == base
    (tmp_path / "bad.json").write_text('{"kind": "Plan"}')
    bad = cli(repo, "retrain", "--model", "churn-classifier", "--from", str(tmp_path / "bad.json"))
    assert bad.returncode == 2 and "not a monitor result" in bad.stderr and "Traceback" not in bad.stderr
    other = cli(repo, "retrain", "--model", "other", "--from", str(report_json(tmp_path / "d.json", True)))
    assert other.returncode == 2 and "not of --model other" in other.stderr
    (repo / "mlgitops.yaml").write_text((repo / "mlgitops.yaml").read_text().replace(RETRAIN, ""))
    git(repo, "commit", "--quiet", "-am", "no retrain")
    unset = cli(repo, "retrain", "--model", "churn-classifier", "--from", str(tmp_path / "d.json"))
    assert unset.returncode == 2 and "monitoring.retrain is not set" in unset.stderr
    assert git(repo, "branch", "--list", "mlgitops/*") == ""


def test_a_retraining_path_outside_the_project_is_refused_at_its_line_and_nothing_changes(repo, tmp_path):
    text = (
        (repo / "mlgitops.yaml").read_text().replace("data/labelled/{date}/train.csv", "../elsewhere/{date}/train.csv")
    )
    (repo / "mlgitops.yaml").write_text(text)
    git(repo, "commit", "--quiet", "-am", "a path out of the project")
    line = text.splitlines().index(next(ln for ln in text.splitlines() if "../elsewhere" in ln)) + 1
    done = cli(
        repo,
        "retrain",
        "--model",
        "churn-classifier",
        "--from",
        str(report_json(tmp_path / "d.json", True)),
        "--date",
        "2026-12-02",
    )
    assert done.returncode == 2 and f"mlgitops.yaml:{line}" in done.stderr and "outside the project" in done.stderr, (
        done.stderr
    )
    assert "Traceback" not in done.stderr and (repo / "mlgitops.yaml").read_text() == text
    assert (
        git(repo, "branch", "--list", "mlgitops/*") == ""
        and git(repo, "status", "--porcelain", "--untracked-files=no") == ""
    )
