"""A regressor project (scikit-learn's diabetes data): lower-is-better primary metric, r2 threshold."""

from __future__ import annotations

import json
from pathlib import Path

import yaml
from typer.testing import CliRunner

from mlgitops.cli import app

CONFIG = {
    "project": "diabetes",
    "owner": "ml@example.com",
    "datasets": {"train": {"path": "data/train.csv"}, "holdout": {"path": "data/holdout.csv"}},
    "models": {
        "progression": {
            "entry_point": "diab.train:train",
            "dataset": "train",
            "holdout": "holdout",
            "target": "target",
            "task": "regression",
            "metrics": {
                "primary": "root_mean_squared_error",
                "thresholds": {"r2_score": {"min": 0.3}},
                "beat_champion_by": 0.5,
            },
        }
    },
    "environments": {"staging": {}},
}
TRAIN = """
from sklearn.linear_model import Ridge


def train(ctx):
    return Ridge(alpha=ctx.params.get("alpha", 0.01)).fit(ctx.features, ctx.labels)
"""


def test_regressor_train_evaluate_and_lower_is_better_champion(tmp_path, monkeypatch):
    from sklearn.datasets import load_diabetes

    frame = load_diabetes(as_frame=True).frame
    (tmp_path / "data").mkdir()
    frame.iloc[:300].to_csv(tmp_path / "data" / "train.csv", index=False)
    frame.iloc[300:].to_csv(tmp_path / "data" / "holdout.csv", index=False)
    (tmp_path / "src" / "diab").mkdir(parents=True)
    (tmp_path / "src" / "diab" / "__init__.py").write_text("")
    (tmp_path / "src" / "diab" / "train.py").write_text(TRAIN)
    (tmp_path / "mlgitops.yaml").write_text(yaml.safe_dump(CONFIG))
    monkeypatch.setenv("MLGITOPS_RUN_ID", "r1")
    runner = CliRunner()
    assert runner.invoke(app, ["--project", str(tmp_path), "train"]).exit_code == 0
    first = runner.invoke(app, ["--project", str(tmp_path), "evaluate", "--env", "staging", "--json"])
    assert first.exit_code == 0, first.output
    ev = json.loads(first.stdout)["evaluations"][0]
    assert ev["candidate"]["metrics"]["r2_score"] > 0.3 and ev["champion"] is None
    (tmp_path / "deploy").mkdir()
    trained = json.loads((tmp_path / ".mlgitops/evidence/r1/training/progression.json").read_text())
    (tmp_path / "deploy" / "staging.yaml").write_text(
        yaml.safe_dump(
            {
                "models": {
                    "progression": {
                        "digest": trained["digest"],
                        "artifact_uri": f".mlgitops/evidence/r1/{trained['package']}",
                        "version": "1",
                        "registry_name": "diabetes-progression",
                        "model_uri": "models:/diabetes-progression/1",
                    }
                }
            }
        )
    )
    monkeypatch.setenv("MLGITOPS_RUN_ID", "r2")
    assert runner.invoke(app, ["--project", str(tmp_path), "train"]).exit_code == 0
    second = runner.invoke(app, ["--project", str(tmp_path), "evaluate", "--env", "staging", "--json"])
    assert second.exit_code == 1  # same data and params: RMSE not lower by 0.5
    ev = json.loads(second.stdout)["evaluations"][0]
    assert (
        ev["candidate"]["version"] == "2"
        and ev["champion"]["version"] == "1"
        and ev["champion"]["source"] == "registry"
    )
    assert ev["reasons"] and "root_mean_squared_error" in ev["reasons"][0]
    assert ev["candidate"]["metrics"]["root_mean_squared_error"] == ev["champion"]["metrics"]["root_mean_squared_error"]
    assert Path(tmp_path / ".mlgitops/evidence/r2/evaluation/progression.png").stat().st_size > 1000
