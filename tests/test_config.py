"""The config contract: valid files load with overlays applied; bad ones fail with file:line, exit 2."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from mlgitops.config import check, deep_merge, json_schema, load
from mlgitops.errors import BadInput

EXAMPLE = Path(__file__).parents[1] / "examples" / "churn"

MINIMAL = """\
project: churn
owner: ml@example.com
datasets:
  train: {path: data/train.csv}
models:
  clf: {entry_point: churn.train:train, dataset: train, target: y}
"""


def write(tmp_path: Path, text: str | bytes) -> Path:
    target = tmp_path / "mlgitops.yaml"
    target.write_bytes(text if isinstance(text, bytes) else textwrap.dedent(text).encode())
    return tmp_path


def cli(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mlgitops", "--project", str(project), *args], capture_output=True, text=True
    )


def test_minimal_config_gets_defaults(tmp_path: Path) -> None:
    config = load(write(tmp_path, MINIMAL))
    assert config.env == "local" and config.env_names == ["local"]
    assert config.datasets["train"].format == "csv"
    assert config.models["clf"].serving.min_instances == 1
    assert config.tracking.uri.startswith("sqlite:///")
    assert config.name("data") == "churn-local-data"
    assert config.registry_name("clf") == "churn-clf"
    assert config.resolve("data/train.csv") == tmp_path.resolve() / "data/train.csv"
    assert config.resolve("s3://b/k.csv") == "s3://b/k.csv"


def test_example_every_environment() -> None:
    assert check(EXAMPLE) == ["local", "staging", "prod"]
    prod = load(EXAMPLE, "prod")
    assert prod.env == "prod" and prod.name("models") == "churn-prod-models"
    assert prod.models["churn-classifier"].serving.instance_type == "ml.c5.xlarge"
    assert prod.models["churn-classifier"].serving.max_instances == 4  # untouched by the overlay
    assert prod.policies.enforcement == "mandatory" and prod.policies.budget_usd_month == 3000
    assert load(EXAMPLE, "staging").models["churn-classifier"].serving.instance_type == "ml.m5.large"


@pytest.mark.parametrize(
    "base, overlay, expected",
    [
        ({"a": {"x": 1, "y": 2}}, {"a": {"y": 3}}, {"a": {"x": 1, "y": 3}}),  # dicts merge
        ({"a": [1, 2, 3]}, {"a": [9]}, {"a": [9]}),  # lists replace
        ({"a": 1, "b": 2}, {"a": "s"}, {"a": "s", "b": 2}),  # scalars override
        ({"a": {"x": 1}}, {"b": {"y": 2}}, {"a": {"x": 1}, "b": {"y": 2}}),  # new keys added
    ],
)
def test_deep_merge_rules(base: dict, overlay: dict, expected: dict) -> None:
    assert deep_merge(base, overlay) == expected


def test_overlay_rules_end_to_end(tmp_path: Path) -> None:
    write(
        tmp_path,
        MINIMAL
        + """\
tags: {team: a, cost: b}
policies: {instance_types: [ml.m5.large, ml.c5.large]}
environments:
  prod:
    tags: {cost: c}
    policies: {instance_types: [ml.c5.xlarge], enforcement: mandatory}
    models: {clf: {params: {depth: 3}}}
  local:
    owner: me@example.com
""",
    )
    prod = load(tmp_path, "prod")
    assert prod.tags == {"team": "a", "cost": "c"}
    assert prod.policies.instance_types == ["ml.c5.xlarge"]
    assert prod.models["clf"].params == {"depth": 3} and prod.models["clf"].target == "y"
    assert load(tmp_path).owner == "me@example.com"  # local may be overlaid too
    assert load(tmp_path, "prod").owner == "ml@example.com"


def test_alias_merge_keys_are_supported(tmp_path: Path) -> None:
    write(
        tmp_path,
        MINIMAL
        + """\
x-serving: &serving {instance_type: ml.c5.large, max_instances: 3}
""".replace("x-serving", "tags").replace("&serving {instance_type: ml.c5.large, max_instances: 3}", "&t {a: b}")
        + "storage: {<<: {noncurrent_version_days: 7}, access_logging: true}\n",
    )
    config = load(tmp_path)
    assert config.storage.noncurrent_version_days == 7 and config.storage.access_logging


def test_config_show_json_is_resolved(tmp_path: Path) -> None:
    result = cli(EXAMPLE, "config", "show", "--env", "prod", "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["env"] == "prod" and "environments" not in data
    assert data["models"]["churn-classifier"]["serving"]["min_instances"] == 2


def test_schema_validates_examples_and_rejects_schema_level_errors(tmp_path: Path) -> None:
    import jsonschema
    import yaml

    validator = jsonschema.Draft202012Validator(json_schema())
    for text in (MINIMAL, (EXAMPLE / "mlgitops.yaml").read_text()):
        assert list(validator.iter_errors(yaml.safe_load(text))) == []
    for key, case in BAD.items():
        if key in SCHEMA_LEVEL:
            data = yaml.safe_load(textwrap.dedent(case[0]))
            assert list(validator.iter_errors(data)), f"schema accepted bad case {key}"


def test_schema_command_writes_file(tmp_path: Path) -> None:
    out = tmp_path / "schema.json"
    assert cli(tmp_path, "config", "schema", "--out", str(out)).returncode == 0
    assert json.loads(out.read_text())["properties"]["project"]["pattern"]


def test_docs_schema_is_current() -> None:
    committed = json.loads((Path(__file__).parents[1] / "docs" / "mlgitops.schema.json").read_text())
    assert committed == json_schema(), "run: python scripts/gen_config_docs.py"


def test_docs_reference_is_current() -> None:
    sys.path.insert(0, str(Path(__file__).parents[1] / "scripts"))
    from gen_config_docs import render

    assert (Path(__file__).parents[1] / "docs" / "config.md").read_text() == render(), (
        "run: python scripts/gen_config_docs.py"
    )


# Each bad case: (file text, expected fragment of the message, line number cited).
M = "models:\n  clf: {entry_point: churn.train:train, dataset: train, target: y}\n"
D = "datasets:\n  train: {path: data/train.csv}\n"
H = "project: churn\nowner: a@b.c\n"
BAD: dict[str, tuple[str | bytes, str, int]] = {
    "missing-project": ("owner: a\n", "project: required key is missing", 1),
    "missing-owner": ("project: churn\n", "owner: required key is missing", 1),
    "project-uppercase": ("project: Churn\nowner: a\n", "project: expected value to match pattern", 1),
    "project-underscore": ("project: my_proj\nowner: a\n", "pattern", 1),
    "project-trailing-dash": ("project: churn-\nowner: a\n", "pattern", 1),
    "project-too-long": ("project: " + "a" * 41 + "\nowner: a\n", "at most 40 characters", 1),
    "project-number": ("project: 42\nowner: a\n", "project: expected a valid string", 1),
    "owner-empty": ("project: churn\nowner: ''\n", "owner: expected value to have at least 1 character", 2),
    "unknown-top-key": (H + "modles: {}\n", "unknown key 'modles'; did you mean 'models'?", 3),
    "unknown-nested-key": (H + "cloud: {regoin: eu-west-1}\n", "did you mean 'region'?", 3),
    "bad-region": (H + "cloud: {region: europe}\n", "cloud.region", 3),
    "bad-provider": (H + "cloud: {provider: gcp}\n", "expected 'aws'", 3),
    "bad-account": (H + "cloud: {account_id: '1234'}\n", "cloud.account_id", 3),
    "tags-not-mapping": (H + "tags: [a, b]\n", "tags: expected a valid dictionary", 3),
    "dataset-no-path": (H + "datasets:\n  train: {format: csv}\n", "datasets.train.path: required key is missing", 4),
    "dataset-bad-format": (H + "datasets:\n  train: {path: d.csv, format: xlsx}\n", "datasets.train.format", 4),
    "dataset-unknown-suffix": (H + "datasets:\n  train: {path: d.txt}\n", "cannot infer format", 4),
    "dataset-bad-engine": (H + "datasets:\n  train: {path: d.csv, engine: dask}\n", "datasets.train.engine", 4),
    "model-bad-entry": (
        H + D + "models:\n  clf: {entry_point: churn.train, dataset: train, target: y}\n",
        "models.clf.entry_point",
        6,
    ),
    "model-missing-target": (
        H + D + "models:\n  clf: {entry_point: a:b, dataset: train}\n",
        "models.clf.target: required key is missing",
        6,
    ),
    "model-unknown-dataset": (
        H + D + "models:\n  clf: {entry_point: a:b, dataset: tran, target: y}\n",
        "dataset 'tran' is not declared",
        6,
    ),
    "model-unknown-holdout": (
        H + D + "models:\n  clf: {entry_point: a:b, dataset: train, holdout: hold, target: y}\n",
        "dataset 'hold' is not declared",
        6,
    ),
    "model-bad-task": (
        H + D + "models:\n  clf: {entry_point: a:b, dataset: train, target: y, task: ranking}\n",
        "models.clf.task",
        6,
    ),
    "model-bad-name": (
        H + D + "models:\n  Clf_1: {entry_point: a:b, dataset: train, target: y}\n",
        "model name 'Clf_1' must be a slug",
        6,
    ),
    "serving-type": (
        H
        + D
        + M
        + "  # x\n".replace("  # x\n", "")
        + "environments:\n  prod:\n    models: {clf: {serving: {min_instances: two}}}\n",
        "found 'two' (environment prod)",
        9,
    ),
    "serving-min-gt-max": (
        H + D + M.replace("target: y}", "target: y, serving: {min_instances: 5, max_instances: 2}}"),
        "min_instances 5 is greater than max_instances 2",
        6,
    ),
    "serving-zero": (
        H + D + M.replace("target: y}", "target: y, serving: {min_instances: 0}}"),
        "greater than or equal to 1",
        6,
    ),
    "capture-percent": (
        H + D + M.replace("target: y}", "target: y, serving: {data_capture: {sample_percent: 150}}}"),
        "sample_percent",
        6,
    ),
    "compute-backend": (
        H + D + M.replace("target: y}", "target: y, compute: {backend: lambda}}"),
        "compute.backend",
        6,
    ),
    "compute-count": (
        H + D + M.replace("target: y}", "target: y, compute: {instance_count: -1}}"),
        "compute.instance_count",
        6,
    ),
    "threshold-empty": (
        H + D + M.replace("target: y}", "target: y, metrics: {thresholds: {auc: {}}}}"),
        "a threshold needs min, max or both",
        6,
    ),
    "threshold-inverted": (
        H + D + M.replace("target: y}", "target: y, metrics: {thresholds: {auc: {min: 0.9, max: 0.1}}}}"),
        "min 0.9 is greater than max 0.1",
        6,
    ),
    "margin-negative": (
        H + D + M.replace("target: y}", "target: y, metrics: {beat_champion_by: -1}}"),
        "beat_champion_by",
        6,
    ),
    "enforcement": (H + "policies: {enforcement: strict}\n", "policies.enforcement", 3),
    "override-enforcement": (
        H + "policies: {overrides: {s3-versioning: maybe}}\n",
        "policies.overrides.s3-versioning",
        3,
    ),
    "budget-negative": (H + "policies: {budget_usd_month: -5}\n", "policies.budget_usd_month", 3),
    "exemption-no-reason": (
        H + "policies:\n  exemptions:\n    - {rule: x, expires: 2030-01-01}\n",
        "policies.exemptions.0.reason: required key is missing",
        5,
    ),
    "exemption-bad-date": (
        H + "policies:\n  exemptions:\n    - {rule: x, reason: y, expires: someday}\n",
        "policies.exemptions.0.expires",
        5,
    ),
    "github-repo": (H + "github: {repository: not-a-repo}\n", "github.repository", 3),
    "env-bad-name": (H + "environments:\n  Prod: {}\n", "environment name 'Prod' must match", 3),
    "env-overlay-not-mapping": (
        H + "environments:\n  prod: [1]\n",
        "environments.prod: expected a valid dictionary",
        4,
    ),
    "env-overlay-unknown": (
        H + "environments:\n  prod: {ownr: x}\n",
        "unknown key 'ownr'; did you mean 'owner'? (environment prod)",
        4,
    ),
    "name-too-long": (
        "project: " + "p" * 40 + "\nowner: a\nenvironments:\n  production12: {}\n",
        "S3 and SageMaker allow 63",
        1,
    ),
    "name-suffix-too-long": (
        "project: " + "p" * 30 + "\nowner: a\ncloud: {name_suffix: abcdefgh}\nenvironments:\n  production12: {}\n",
        "-access-logs-abcdefgh' is 64 characters",
        1,
    ),
    "name-suffix-pattern": (H + "cloud: {name_suffix: Ab_1}\n", "cloud.name_suffix", 3),
    "yaml-syntax": (H + "tags: [a\n", "YAML syntax error", 4),
    "yaml-bad-indent": (H + "cloud:\n  region: eu-west-1\n   provider: aws\n", "YAML syntax error", 5),
    "duplicate-key": (H + "owner: b@c.d\n", "duplicate key 'owner' (first defined at line 2)", 3),
    "duplicate-nested": (H + "cloud:\n  region: eu-west-1\n  region: us-east-1\n", "duplicate key 'region'", 5),
    "alias-bomb": (
        'a: &a ["x","x","x","x","x","x","x","x","x","x"]\n'
        + "".join(f"{c}: &{c} [{', '.join(['*' + p] * 10)}]\n" for p, c in zip("abcdefgh", "bcdefghi", strict=False)),
        "more than 100000 values",
        1,
    ),
    "not-utf8": (b"project: churn\nowner: \xff\xfe\n", "not valid UTF-8", 2),
    "empty": ("", "file is empty", 1),
    "only-comments": ("# nothing here\n\n", "file is empty", 1),
    "tabs": ("project: churn\n\towner: a\n", "tab in indentation", 2),
    "top-level-list": ("- project: churn\n", "top level must be a mapping", 1),
    "top-level-scalar": ("just text\n", "top level must be a mapping", 1),
    "huge": ("project: churn\nowner: a\n" + "# " + "x" * (1024 * 1024) + "\n", "the limit is 1048576", 1),
    "non-string-key": (H + "tags: {[a]: b}\n", "keys must be plain strings", 3),
    "monitoring-schedule": (H + "monitoring:\n  schedule: weekly\n", "monitoring.schedule", 4),
    "retrain-no-path": (
        H + "datasets: {train: {path: t.csv}}\nmonitoring:\n  retrain:\n    dataset: train\n",
        "monitoring.retrain.path: required key is missing",
        5,
    ),
    "retrain-placeholder": (
        H + "datasets: {train: {path: t.csv}}\nmonitoring:\n  retrain: {dataset: train, path: 'd/{day}.csv'}\n",
        "only the placeholder {date} is known",
        5,
    ),
    "retrain-outside": (
        H + "datasets: {train: {path: t.csv}}\nmonitoring:\n  retrain: {dataset: train, path: '../x/{date}.csv'}\n",
        "outside the project",
        5,
    ),
    "retrain-unknown-dataset": (
        H + "datasets: {train: {path: t.csv}}\nmonitoring:\n  retrain: {dataset: trian, path: d.csv}\n",
        "dataset 'trian' is not declared under datasets",
        5,
    ),
}
SCHEMA_LEVEL = {
    "missing-project",
    "missing-owner",
    "project-uppercase",
    "project-underscore",
    "project-too-long",
    "unknown-top-key",
    "unknown-nested-key",
    "bad-provider",
    "dataset-no-path",
    "model-bad-entry",
    "model-missing-target",
    "serving-zero",
    "enforcement",
    "exemption-no-reason",
    "env-overlay-unknown",
    "github-repo",
    "env-bad-name",
    "name-suffix-pattern",
}


def test_at_least_forty_bad_cases() -> None:
    assert len(BAD) >= 40


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_config_is_one_clear_error(tmp_path: Path, case: str) -> None:
    text, fragment, line = BAD[case]
    write(tmp_path, text)
    before = sorted(p.name for p in tmp_path.rglob("*"))
    with pytest.raises(BadInput) as caught:
        check(tmp_path)
    message = str(caught.value)
    assert fragment in message, message
    assert f"mlgitops.yaml:{line}" in message, message
    assert sorted(p.name for p in tmp_path.rglob("*")) == before


@pytest.mark.parametrize("case", ["unknown-top-key", "alias-bomb", "not-utf8", "serving-type"])
def test_bad_config_cli_exit_2_without_traceback(tmp_path: Path, case: str) -> None:
    text, fragment, _ = BAD[case]
    write(tmp_path, text)
    result = cli(tmp_path, "config", "check")
    assert result.returncode == 2
    assert fragment in result.stderr and "Traceback" not in result.stderr + result.stdout
    assert result.stdout == ""


def test_several_errors_reported_together(tmp_path: Path) -> None:
    write(tmp_path, "project: Bad_Name\nowner: a\ncloud: {regoin: x}\ntags: 3\n")
    message = str(pytest.raises(BadInput, check, tmp_path).value)
    assert "3 problems" in message and ":1:" in message and ":3:" in message and ":4:" in message


def test_unknown_env_flag_suggests(tmp_path: Path) -> None:
    result = cli(EXAMPLE, "config", "show", "--env", "prdo")
    assert result.returncode == 2 and "did you mean 'prod'?" in result.stderr


def test_missing_file_is_bad_input(tmp_path: Path) -> None:
    result = cli(tmp_path, "config", "check")
    assert result.returncode == 2 and "mlgitops.yaml: not found" in result.stderr


def test_bad_flag_is_exit_2(tmp_path: Path) -> None:
    assert cli(EXAMPLE, "config", "check", "--frobnicate").returncode == 2


def test_tracking_uri_is_anchored_at_the_project(tmp_path: Path) -> None:
    config = load(write(tmp_path, MINIMAL))
    assert config.tracking_uri() == f"sqlite:///{tmp_path.resolve()}/.mlgitops/mlflow.db"
    assert config.artifact_location() == (tmp_path.resolve() / ".mlgitops" / "artifacts").as_uri()
    remote = load(write(tmp_path, MINIMAL + "tracking: {uri: 'http://127.0.0.1:5000'}\n"))
    assert remote.tracking_uri() == "http://127.0.0.1:5000"


def test_bucket_names_carry_the_name_suffix_and_other_names_do_not(tmp_path: Path) -> None:
    plain = load(write(tmp_path, MINIMAL), "local")
    assert plain.bucket_name("models") == "churn-local-models"  # today's names without a suffix
    config = load(write(tmp_path, MINIMAL + 'cloud: {name_suffix: "0042"}\n'), "local")
    assert (
        config.bucket_name("models") == "churn-local-models-0042" and config.name("training") == "churn-local-training"
    )
