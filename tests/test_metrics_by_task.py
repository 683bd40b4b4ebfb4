"""Metrics follow the task: defaults, names checked at `config check` (file:line, exit 2), averaging, the schema,
and the template's own model tests read from mlgitops.yaml."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from pipeline_helpers import cli, edit
from task_helpers import MODELS, make

SRC = Path(__file__).resolve().parents[1] / "src"


@pytest.fixture(scope="module")
def projects(tmp_path_factory):
    base = tmp_path_factory.mktemp("tasks")
    return {task: make(task, base / task / f"{task}-demo") for task in ("binary", "multiclass", "regression")}


def copy(src: Path, dest: Path) -> Path:
    import shutil

    shutil.copytree(src, dest)
    return dest


def line_of(path: Path, text: str) -> int:
    return next(i for i, ln in enumerate(path.read_text().splitlines(), 1) if text in ln)


def show(root: Path, model: str) -> dict:
    proc = cli("--project", str(root), "config", "show", "--json")
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)["models"][model]["metrics"]


def test_the_task_sets_the_default_primary_metric(projects):
    assert show(projects["regression"], "regressor") == {
        "primary": "root_mean_squared_error",
        "thresholds": {},
        "average": "weighted",
        "beat_champion_by": 0.0,
    }
    # a classifier's default depends on its class count (roc_auc for two, f1_score for more), decided on the holdout
    assert show(projects["multiclass"], "species")["primary"] is None


@pytest.mark.parametrize(
    "task,old,new,says",
    [
        (
            "regression",
            "    task: regression\n",
            "    task: regression\n    metrics: {primary: roc_auc}\n",
            "models.regressor.metrics.primary: metric 'roc_auc' is not computed for task regression",
        ),
        (
            "multiclass",
            "thresholds: {f1_score:",
            "thresholds: {f1_macro:",
            "models.species.metrics.thresholds.f1_macro: metric 'f1_macro' is not computed for task classification; name 'f1_score' and set metrics.average: macro",
        ),
        (
            "binary",
            "primary: roc_auc",
            "primary: rmse",
            "models.tumour-risk.metrics.primary: metric 'rmse' is not computed for task classification",
        ),
        (
            "multiclass",
            "      average: macro",
            "      average: micro\n      primary: roc_auc",
            "models.species.metrics.primary: roc_auc is not computed for more than two classes with average: micro",
        ),
        (
            "regression",
            "    task: regression\n",
            "    task: regression\n    metrics: {average: macro}\n",
            "models.regressor.metrics.average: average applies to multiclass classifiers only",
        ),
    ],
)
def test_a_metric_the_task_does_not_compute_is_exit_2_at_config_check_with_its_line(
    projects, tmp_path, task, old, new, says
):
    root = copy(projects[task], tmp_path / "p")
    edit(root / "mlgitops.yaml", old, new)
    line = line_of(root / "mlgitops.yaml", new.strip().splitlines()[-1].strip())

    proc = cli("--project", str(root), "config", "check")

    assert proc.returncode == 2
    assert f"mlgitops.yaml:{line}:" in proc.stderr and says in proc.stderr, proc.stderr
    assert "Traceback" not in proc.stderr


def test_a_bad_metric_stops_the_pipeline_before_anything_trains(projects, tmp_path):
    root = copy(projects["regression"], tmp_path / "p")
    edit(root / "mlgitops.yaml", "    task: regression\n", "    task: regression\n    metrics: {primary: roc_auc}\n")

    proc = cli("--project", str(root), "pipeline", "pr", "--json")

    assert proc.returncode == 2
    steps = {s["name"]: s["status"] for s in json.loads(proc.stdout)["steps"]}
    assert steps["config"] == "error" and steps["train"] == "not_run"
    assert not (root / ".mlgitops" / "mlflow.db").exists()  # no model version registered


def test_the_schema_carries_the_model_name_pattern_and_the_metric_names():
    import jsonschema

    from mlgitops.config import json_schema
    from mlgitops.config.schema import SLUG

    schema = json_schema()
    assert schema["properties"]["models"]["propertyNames"] == {"pattern": SLUG}
    base = {"project": "acme", "owner": "a@example.com", "datasets": {"d": {"path": "d.csv"}}}
    model = {"entry_point": "m.train:train", "dataset": "d", "target": "y"}
    validator = jsonschema.Draft202012Validator(schema)
    assert not list(validator.iter_errors({**base, "models": {"body-mass": model}}))
    assert list(validator.iter_errors({**base, "models": {"body_mass": model}}))  # an editor flags it
    assert list(validator.iter_errors({**base, "models": {"m1": {**model, "metrics": {"primary": "f1_macro"}}}}))
    assert list(validator.iter_errors({**base, "models": {"m1": {**model, "metrics": {"average": "samples"}}}}))
    # the task's own names: what `config check` says, an editor says too
    regressor = {**model, "task": "regression"}
    assert not list(
        validator.iter_errors(
            {**base, "models": {"m1": {**regressor, "metrics": {"thresholds": {"r2_score": {"min": 0.3}}}}}}
        )
    )
    assert list(validator.iter_errors({**base, "models": {"m1": {**regressor, "metrics": {"primary": "roc_auc"}}}}))
    assert list(validator.iter_errors({**base, "models": {"m1": {**regressor, "metrics": {"average": "macro"}}}}))
    assert list(
        validator.iter_errors(
            {**base, "models": {"m1": {**model, "metrics": {"thresholds": {"r2_score": {"min": 0.3}}}}}}
        )
    )
    overlay = {"environments": {"prod": {"models": {"m1": {"metrics": {"primary": "r2_score"}}}}}}
    assert not list(validator.iter_errors({**base, "models": {"m1": regressor}, **overlay}))  # an overlay needs no task


def run_project_tests(root: Path) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(SRC), os.environ.get("PYTHONPATH", "")]),
        "MLGITOPS_RUN_ID": "pytest",
    }
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "tests/test_model.py",
            "-o",
            "addopts=",
            "-q",
            "-p",
            "no:cacheprovider",
            "-p",
            "no:xdist",
            "-p",
            "no:randomly",
        ],
        cwd=root,
        capture_output=True,
        text=True,
        env=env,
    )


@pytest.mark.parametrize("task", ["binary", "multiclass"])
def test_the_projects_own_model_tests_follow_its_config(projects, task):
    """The binary model is renamed and the multiclass one has string labels: the tests read both from mlgitops.yaml."""
    proc = run_project_tests(projects[task])
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "1 passed" in proc.stdout


def test_the_projects_model_tests_fail_when_the_model_misses_its_threshold(projects, tmp_path):
    root = copy(projects["binary"], tmp_path / "p")
    edit(root / "mlgitops.yaml", "f1_score: {min: 0.85}", "f1_score: {min: 0.999}")

    proc = run_project_tests(root)

    assert proc.returncode == 1
    assert f"{MODELS['binary']} (classification): f1_score" in proc.stdout and "< min 0.999" in proc.stdout


def test_holdout_metrics_average_as_mlflow_does(projects, tmp_path):
    """The template tests' scorer and MLflow's evaluator agree on a multiclass macro average."""
    import importlib

    import mlflow.models
    import pandas as pd

    from mlgitops.config import load
    from mlgitops.data import load_frame
    from mlgitops.evaluation.holdout import holdout_metrics
    from mlgitops.training import TrainContext

    root = projects["multiclass"]
    config = load(root)
    spec = config.models["species"]
    sys.path.insert(0, str(root / "src"))
    try:
        train = importlib.import_module(spec.entry_point.split(":")[0]).train
    finally:
        sys.path.remove(str(root / "src"))
    estimator = train(
        TrainContext(
            data=load_frame(config, spec.dataset),
            target=spec.target,
            params=spec.params,
            output_dir=root,
            model_name="species",
            config=config,
        )
    )
    ours = holdout_metrics(config, "species", estimator)
    holdout = load_frame(config, spec.holdout)
    saved = mlflow.get_tracking_uri()
    mlflow.set_tracking_uri(f"sqlite:///{tmp_path / 'mlflow.db'}")
    try:  # a store of its own, and an experiment in it (an earlier test in this process may have set another one)
        with mlflow.start_run(experiment_id=mlflow.create_experiment("holdout-check")):
            theirs = mlflow.models.evaluate(
                lambda x: estimator.predict(pd.DataFrame(x)),
                holdout,
                targets=spec.target,
                model_type="classifier",
                evaluator_config={"average": "macro", "log_model_explainability": False},
            ).metrics
    finally:
        mlflow.set_tracking_uri(saved)
    assert set(ours) == {"f1_score", "accuracy_score"}
    for name, value in ours.items():
        assert value == pytest.approx(theirs[name])


def test_each_task_projects_config_is_valid_for_an_editor_too(projects):
    import jsonschema
    import yaml

    from mlgitops.config import json_schema

    validator = jsonschema.Draft202012Validator(json_schema())
    for task, root in projects.items():
        assert list(validator.iter_errors(yaml.safe_load((root / "mlgitops.yaml").read_text()))) == [], task
