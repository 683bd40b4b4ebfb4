"""Each task end to end as a user runs it: `pipeline pr --env local`, `promote --env local`, `report`, `serve`.

Binary (the template, its model renamed), multiclass (string labels, a categorical column, missing values,
`metrics.average: macro`) and regression (the template's regressor without a `metrics:` block).
"""

from __future__ import annotations

import json
import signal
import subprocess
import urllib.request

import pytest
from pipeline_helpers import MLGITOPS, cli, read_json
from task_helpers import MODELS, TASKS, make

PRIMARY = {"binary": "roc_auc", "multiclass": "f1_score", "regression": "root_mean_squared_error"}
AVERAGE = {"binary": "binary", "multiclass": "macro", "regression": None}


def serve_and_score(root, rows: list[dict]) -> list:
    """`mlgitops serve --env local` in a child process, score `rows` on it, stop it with Ctrl-C."""
    proc = subprocess.Popen(
        [*MLGITOPS, "--project", str(root), "serve", "--env", "local"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        stdin=subprocess.DEVNULL,
        text=True,
    )
    try:
        line = proc.stdout.readline()
        assert " (local) at http://127.0.0.1:" in line, line
        url = line.split(" at ")[1].strip()
        body = json.dumps({"dataframe_records": rows}, allow_nan=False).encode()
        request = urllib.request.Request(url, body, {"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=60) as response:
            return json.loads(response.read())["predictions"]
    finally:
        if proc.poll() is None:  # SIGINT, so the CLI stops the server's process group
            proc.send_signal(signal.SIGINT)
            proc.wait(60)


@pytest.mark.slow
@pytest.mark.parametrize("task", TASKS)
def test_each_task_runs_the_pipeline_promotes_and_serves(tmp_path, task):
    import pandas as pd

    root = make(task, tmp_path / f"{task}-e2e")
    model = MODELS[task]

    proc = cli("--project", str(root), "pipeline", "pr", "--env", "local", "--json")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    run = root / ".mlgitops" / "evidence" / "local"
    ev = read_json(run / "evaluation" / f"{model}.json")
    assert (ev["primary"], ev["average"], ev["verdict"]) == (PRIMARY[task], AVERAGE[task], "pass")
    assert ev["task"] == ("regression" if task == "regression" else "classification")
    report = (run / "report.md").read_text()
    if task == "multiclass":
        assert ev["classes"] == ["Adelie", "Chinstrap", "Gentoo"]
        assert "precision, recall, F1 and ROC AUC are macro averages over 3 classes (metrics.average)" in ev["notes"]
        assert f"| ✅ `{model}` | v1 | none | f1_score (macro average) |" in report
    assert "holdout pass" in next(s["summary"] for s in json.loads(proc.stdout)["steps"] if s["name"] == "data")
    assert not read_json(run / "data" / "holdout.json")["warnings"]  # the training suite's row bounds fit the holdout

    promoted = cli("--project", str(root), "promote", "--env", "local", "--json")
    assert promoted.returncode == 0, promoted.stdout + promoted.stderr
    after = cli("--project", str(root), "report")
    assert after.returncode == 0, after.stderr
    assert f"`{model}` v1 serves `local`" in after.stdout  # the report reflects the promotion

    config = json.loads(cli("--project", str(root), "config", "show", "--json").stdout)
    spec = config["models"][model]
    holdout = pd.read_csv(root / config["datasets"][spec["holdout"]]["path"]).drop(columns=[spec["target"]])
    rows = holdout.loc[holdout.isna().sum(axis=1).sort_values(ascending=False, kind="stable").index].head(
        5
    )  # rows with gaps first
    records = [{k: (None if pd.isna(v) else v) for k, v in r.items()} for r in rows.to_dict("records")]
    predictions = serve_and_score(root, records)
    assert len(predictions) == 5
    if task == "multiclass":
        assert set(predictions) <= {"Adelie", "Chinstrap", "Gentoo"}
        assert any(
            v is None for r in records for v in r.values()
        )  # missing values reach the model and are imputed there
