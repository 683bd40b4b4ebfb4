"""Training and evaluation end to end on examples/churn: real MLflow SQLite store and registry.

One project copy per module; each scenario is an environment overlay (params, entry point, margin), so
scenarios share the tracking store without editing files between tests. Each test uses its own
MLGITOPS_RUN_ID so training evidence never leaks between them.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import subprocess
from importlib.metadata import version
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from mlgitops.cli import app
from mlgitops.errors import BadInput
from mlgitops.evidence import DataReport, Run

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "churn"
MODEL = "churn-classifier"
REGISTRY = "churn-churn-classifier"
CI_ENV = {
    "GITHUB_REF": "refs/pull/42/merge",
    "GITHUB_REPOSITORY": "example-org/churn",
    "GITHUB_RUN_ID": "987",
    "GITHUB_SERVER_URL": "https://github.com",
}
OVERLAYS = {
    "weak": {"models": {MODEL: {"params": {"n_estimators": 1, "max_depth": 1}}}},
    "same": {"models": {MODEL: {"metrics": {"beat_champion_by": 0.01}}}},
    "broken": {"models": {MODEL: {"entry_point": "churn.train:broken"}}},
}
BROKEN = """

def broken(ctx):
    raise ZeroDivisionError("user bug in feature engineering")
"""


def cli(project: Path, *args: str):
    return CliRunner().invoke(app, ["--project", str(project), *args])


def client(project: Path):
    from mlflow import MlflowClient

    uri = f"sqlite:///{project / '.mlgitops' / 'mlflow.db'}"
    return MlflowClient(tracking_uri=uri, registry_uri=uri)


def versions(project: Path) -> list[str]:
    return sorted(v.version for v in client(project).search_model_versions(f"name='{REGISTRY}'"))


def set_champion(project: Path, env: str, version: str) -> None:
    """deploy/<env>.yaml serving version 1 (the model of run "first"), or a version no store or package holds."""
    path = project / "deploy" / f"{env}.yaml"
    path.parent.mkdir(exist_ok=True)
    trained = json.loads((project / ".mlgitops/evidence/first/training" / f"{MODEL}.json").read_text())
    digest, package = (
        (trained["digest"], f".mlgitops/evidence/first/{trained['package']}")
        if version == "1"
        else ("sha256:" + "0" * 64, "nowhere/model.tar.gz")
    )
    path.write_text(
        yaml.safe_dump(
            {
                "env": env,
                "models": {
                    MODEL: {
                        "digest": digest,
                        "artifact_uri": package,
                        "version": version,
                        "registry_name": REGISTRY,
                        "model_uri": f"models:/{REGISTRY}/{version}",
                    }
                },
            }
        )
    )


def train_as(project: Path, run_id: str, env: str = "local"):
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MLGITOPS_RUN_ID", run_id)
        return cli(project, "train", "--env", env, "--json")


def evaluate_as(project: Path, run_id: str, env: str = "local"):
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MLGITOPS_RUN_ID", run_id)
        return cli(project, "evaluate", "--env", env, "--json")


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    """The example in a fresh git repo (so git tags are real), with scenario overlays; v1 trained in CI."""
    root = tmp_path_factory.mktemp("train") / "churn"
    shutil.copytree(EXAMPLE, root, ignore=shutil.ignore_patterns(".mlgitops", "deploy"))
    cfg = yaml.safe_load((root / "mlgitops.yaml").read_text())
    cfg["environments"].update(OVERLAYS)
    (root / "mlgitops.yaml").write_text(yaml.safe_dump(cfg, sort_keys=False))
    with (root / "src" / "churn" / "train.py").open("a") as f:
        f.write(BROKEN)
    (root / ".gitignore").write_text(".mlgitops/\ndeploy/\n")
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", "-c", "init.defaultBranch=feature-x"]
    subprocess.run([*git, "init", "-q"], cwd=root, check=True)
    subprocess.run([*git, "add", "-A"], cwd=root, check=True)
    subprocess.run([*git, "commit", "-qm", "init"], cwd=root, check=True)
    from mlgitops.training.gitinfo import git_info

    git_info.cache_clear()
    with pytest.MonkeyPatch.context() as mp:
        for k, v in CI_ENV.items():
            mp.setenv(k, v)
        mp.delenv("GITHUB_SHA", raising=False)
        mp.delenv("GITHUB_HEAD_REF", raising=False)
        mp.delenv("GITHUB_REF_NAME", raising=False)
        result = train_as(root, "first")
    git_info.cache_clear()
    assert result.exit_code == 0, result.output
    return root


def test_train_registers_version_1_with_lineage_and_evidence(project):
    doc = json.loads((project / ".mlgitops/evidence/first/training" / f"{MODEL}.json").read_text())
    sha = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=project, capture_output=True, text=True, check=True
    ).stdout.strip()
    assert doc["version"] == "1" and doc["registry_name"] == REGISTRY and doc["model_uri"] == f"models:/{REGISTRY}/1"
    assert doc["git"] == {"sha": sha, "branch": "feature-x", "dirty": False}
    assert doc["has_signature"] is True and doc["params"] == {"n_estimators": 100, "max_depth": 6}
    import hashlib

    assert (
        doc["dataset_digests"]["train"]
        == "sha256:" + hashlib.sha256((project / "data/train.csv").read_bytes()).hexdigest()
    )
    cl = client(project)
    run = cl.get_run(doc["run_id"])
    assert run.info.status == "FINISHED"
    assert run.data.params["n_estimators"] == "100"
    tags = run.data.tags
    assert tags["mlgitops.git.sha"] == sha and tags["mlgitops.git.dirty"] == "false"
    assert (
        tags["mlgitops.pr"] == "42"
        and tags["mlgitops.ci_run_url"] == "https://github.com/example-org/churn/actions/runs/987"
    )
    assert [i.dataset.digest for i in run.inputs.dataset_inputs] == [
        doc["dataset_digests"]["train"].removeprefix("sha256:")[:36]
    ]
    assert cl.get_model_version(REGISTRY, "1").run_id == doc["run_id"]
    from mlflow.models import get_model_info

    info = get_model_info(f"models:/{REGISTRY}/1")
    assert info.signature is not None and info.saved_input_example_info is not None
    assert info.model_uri == f"models:/{doc['logged_model_id']}"
    import mlflow

    reqs = Path(mlflow.pyfunc.get_model_dependencies(f"models:/{REGISTRY}/1")).read_text().split()
    assert reqs and all("==" in line for line in reqs), reqs
    assert any(r.startswith("scikit-learn==") for r in reqs)
    assert not Path(doc["artifact_uri"]).is_absolute()  # shared evidence holds no path of this machine
    assert Path(project, doc["artifact_uri"], "MLmodel").is_file()


def test_data_gate_digest_is_used_when_present(project):
    from mlgitops.config import load
    from mlgitops.training.runner import dataset_digest

    report = project / ".mlgitops/evidence/gated/data/train.json"
    Run(report.parents[1]).write(
        DataReport(
            dataset="train",
            path="data/train.csv",
            digest="f" * 64,
            rows=1,
            columns=[],
            engine="pandas",
            success=True,
            results=[],
        )
    )
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MLGITOPS_RUN_ID", "gated")
        assert dataset_digest(load(project), "train") == "f" * 64
        mp.setenv("MLGITOPS_RUN_ID", "ungated")
        assert dataset_digest(load(project), "train") != "f" * 64


def test_first_evaluation_passes_without_champion_and_writes_chart(project):
    result = evaluate_as(project, "first")
    assert result.exit_code == 0, result.output
    ev = json.loads(result.stdout)["evaluations"][0]
    assert ev["verdict"] == "pass" and ev["champion"] is None and ev["candidate"]["version"] == "1"
    assert ev["candidate"]["metrics"]["roc_auc"] > 0.7
    on_disk = json.loads((project / ".mlgitops/evidence/first/evaluation" / f"{MODEL}.json").read_text())
    assert on_disk["verdict"] == "pass" and on_disk["thresholds"]["log_loss"] == {"min": None, "max": 0.65}
    png = project / ".mlgitops/evidence/first/evaluation" / f"{MODEL}.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_weaker_model_is_rejected(project):
    set_champion(project, "weak", "1")
    assert train_as(project, "weak", "weak").exit_code == 0
    result = evaluate_as(project, "weak", "weak")
    assert result.exit_code == 1, result.output
    ev = json.loads(result.stdout)["evaluations"][0]
    assert ev["verdict"] == "fail" and ev["champion"]["version"] == "1" and ev["candidate"]["version"] != "1"
    assert ev["candidate"]["metrics"]["roc_auc"] < ev["champion"]["metrics"]["roc_auc"]
    assert any("does not beat the champion" in r for r in ev["reasons"])


def test_identical_model_does_not_beat_champion_by_margin(project):
    set_champion(project, "same", "1")
    assert train_as(project, "same", "same").exit_code == 0
    result = evaluate_as(project, "same", "same")
    assert result.exit_code == 1, result.output
    ev = json.loads(result.stdout)["evaluations"][0]
    assert ev["candidate"]["metrics"]["roc_auc"] == pytest.approx(ev["champion"]["metrics"]["roc_auc"])
    assert [r for r in ev["reasons"] if "champion" in r and "0.01" in r]


def test_version_is_never_compared_with_itself(project):
    set_champion(project, "local", "1")
    try:
        result = evaluate_as(project, "first")  # candidate of run "first" is v1
    finally:
        (project / "deploy" / "local.yaml").unlink()
    assert result.exit_code == 0, result.output
    ev = json.loads(result.stdout)["evaluations"][0]
    assert ev["champion"] is None and any("not compared with itself" in n for n in ev["notes"]) and ev["reasons"] == []


def test_user_code_error_fails_run_and_registers_nothing(project):
    before = versions(project)
    result = train_as(project, "broken", "broken")
    assert result.exit_code == 1
    assert "ZeroDivisionError: user bug in feature engineering" in result.stderr
    assert "marked FAILED" in result.stderr
    assert versions(project) == before
    runs = client(project).search_runs(
        [client(project).get_experiment_by_name("churn").experiment_id], "attributes.status = 'FAILED'"
    )
    assert len(runs) == 1 and runs[0].data.tags["mlgitops.model"] == MODEL
    assert not (project / ".mlgitops/evidence/broken/training" / f"{MODEL}.json").exists()


def test_unknown_threshold_metric_is_bad_input():
    from mlgitops.evaluation.evaluate import check_rules

    with pytest.raises(BadInput, match="models.m.metrics: metric 'no_such_metric'.*available: roc_auc"):
        check_rules({"roc_auc": 0.8}, None, {"no_such_metric": {"min": 0.1}}, "roc_auc", 0.0, "models.m.metrics")


def test_rules_directions_and_zero_margin():
    from mlgitops.evaluation.evaluate import check_rules

    ok = {"roc_auc": 0.8, "log_loss": 0.5}
    assert check_rules(ok, None, {"roc_auc": {"min": 0.7}, "log_loss": {"max": 0.6}}, "roc_auc", 0.0, "x") == []
    bad = check_rules(
        {"roc_auc": 0.6, "log_loss": 0.7},
        None,
        {"roc_auc": {"min": 0.7}, "log_loss": {"max": 0.6}},
        "roc_auc",
        0.0,
        "x",
    )
    assert len(bad) == 2 and bad[0].startswith("threshold roc_auc min") and bad[1].startswith("threshold log_loss max")
    assert check_rules(ok, {"roc_auc": 0.8}, {}, "roc_auc", 0.0, "x") == []  # equal is not worse
    assert check_rules(ok, {"roc_auc": 0.81}, {}, "roc_auc", 0.0, "x")
    assert check_rules(ok, {"log_loss": 0.45, "roc_auc": 0.8}, {}, "log_loss", 0.0, "x")  # lower is better
    assert check_rules(ok, {"log_loss": 0.55, "roc_auc": 0.8}, {}, "log_loss", 0.04, "x") == []
    assert check_rules(ok, {"log_loss": 0.52, "roc_auc": 0.8}, {}, "log_loss", 0.04, "x")


def test_ci_info_from_github_env():
    from mlgitops.training.gitinfo import ci_info

    assert ci_info({}) == {}
    assert ci_info({**CI_ENV, "GITHUB_REF": "refs/heads/main"}) == {
        "ci_run_url": "https://github.com/example-org/churn/actions/runs/987"
    }
    assert ci_info(CI_ENV)["pr"] == "42"


def test_sqlite_store_lock_serializes(tmp_path):
    from filelock import FileLock, Timeout

    from mlgitops.tracking import store_lock

    db = tmp_path / "store" / "mlflow.db"
    with store_lock(f"sqlite:///{db}"):
        with pytest.raises(Timeout):
            FileLock(f"{db}.lock", timeout=0.05).acquire()
    FileLock(f"{db}.lock", timeout=0.05).acquire()  # released after the block
    with store_lock("http://127.0.0.1:5000"):
        pass  # a tracking server needs no lock
    assert not (Path.cwd() / "http:").exists()


def _store_contents(db: Path) -> tuple[dict, list, dict]:
    """Tables with their columns and rows (but the experiments'), and indexes. Not the CREATE text: MLflow's migrations write
    CHECK (status IN (...)) in set order, which differs between two builds of the same schema."""
    import sqlite3

    with contextlib.closing(sqlite3.connect(db)) as con:
        tables = [t for (t,) in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        columns = {t: list(con.execute(f'PRAGMA table_info("{t}")')) for t in tables}
        indexes = sorted(con.execute("SELECT name, tbl_name, sql FROM sqlite_master WHERE type = 'index'"), key=str)
        rows = {
            t: sorted(con.execute(f'SELECT * FROM "{t}"'), key=str) for t in tables if t != "experiments"
        }  # "Default": made on first use
        return columns, indexes, rows


def test_a_new_store_is_the_store_mlflow_builds(tmp_path):
    from mlflow import MlflowClient

    from mlgitops.tracking import store_lock

    built, seeded = tmp_path / "built.db", tmp_path / "seeded.db"
    with store_lock(f"sqlite:///{seeded}"):
        assert seeded.is_file()  # from src/mlgitops/mlflow_store.sql, before MLflow opens it
    assert _store_contents(seeded) == _store_contents(_mlflow_built(built)), (
        "the MLflow pin changed: run scripts/gen_mlflow_store.py"
    )
    assert [e.name for e in MlflowClient(f"sqlite:///{seeded}").search_experiments()] == [
        "Default"
    ]  # made on first use, as MLflow does


def _mlflow_built(db: Path) -> Path:
    from mlflow import MlflowClient

    MlflowClient(f"sqlite:///{db}").search_experiments()  # every migration replayed
    return db


def test_a_store_sql_from_another_mlflow_or_broken_is_left_to_mlflow(tmp_path, monkeypatch):
    from mlgitops import tracking

    sql = tmp_path / "store.sql"
    monkeypatch.setattr(tracking, "STORE_SQL", sql)
    sql.write_text(tracking.store_header("0.0.1") + "\nCREATE TABLE t (x);\n")
    assert not tracking.seed(tmp_path / "other.db") and not (tmp_path / "other.db").exists()
    sql.write_text(tracking.store_header(version("mlflow")) + "\nCREATE TABLE t (x);\nNOT SQL;\n")
    assert not tracking.seed(tmp_path / "broken.db")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["store.sql"]  # no partial store
    with tracking.store_lock(f"sqlite:///{tmp_path / 'mlflow.db'}"):
        assert not (tmp_path / "mlflow.db").exists()  # MLflow builds it when it opens it


def test_bad_inputs_name_the_fix(project):
    result = cli(project, "train", "--model", "nope")
    assert isinstance(result.exception, BadInput) and "no model 'nope' under `models:`" in str(result.exception)
    result = evaluate_as(project, "never-trained")
    assert isinstance(result.exception, BadInput) and "mlgitops train --model churn-classifier" in str(result.exception)


def test_console_script_exit_codes_without_traceback(project):
    import sys

    run = subprocess.run(
        [sys.executable, "-m", "mlgitops", "--project", str(project), "train", "--model", "nope"],
        capture_output=True,
        text=True,
    )
    assert run.returncode == 2 and "Traceback" not in run.stderr
    assert "no model 'nope' under `models:` (declared: churn-classifier)" in run.stderr and run.stdout == ""


def test_champion_missing_from_registry_is_bad_input(project):
    set_champion(project, "weak", "99")
    try:
        result = evaluate_as(project, "first", "weak")
    finally:
        set_champion(project, "weak", "1")
    assert isinstance(result.exception, BadInput)
    assert "deploy/weak.yaml: the package nowhere/model.tar.gz is not on this machine" in str(result.exception)


def test_plugin_is_registered_with_mlflow_for_any_run(monkeypatch):
    from mlflow.tracking.context.registry import resolve_tags

    for k, v in CI_ENV.items():
        monkeypatch.setenv(k, v)
    tags = resolve_tags({"user": "x"})  # what mlflow.start_run() applies, also to the user's own runs
    assert tags["mlgitops.pr"] == "42" and tags["user"] == "x"
