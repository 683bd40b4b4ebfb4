"""Two pipelines training at once on one fresh SQLite store: both succeed, distinct versions, store intact."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "churn"


def test_two_concurrent_trainings_share_one_sqlite_store(tmp_path):
    root = tmp_path / "churn"
    shutil.copytree(EXAMPLE, root, ignore=shutil.ignore_patterns(".mlgitops", "deploy"))
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "mlgitops", "--project", str(root), "train", "--json"],
            env={**os.environ, "MLGITOPS_RUN_ID": f"p{i}"},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(2)
    ]
    outs = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], [o[1][-2000:] for o in outs]
    docs = [json.loads(out)["training"][0] for out, _ in outs]
    assert sorted(d["version"] for d in docs) == ["1", "2"]
    assert docs[0]["run_id"] != docs[1]["run_id"]

    from mlflow import MlflowClient

    uri = f"sqlite:///{root / '.mlgitops' / 'mlflow.db'}"
    cl = MlflowClient(tracking_uri=uri, registry_uri=uri)
    assert sorted(str(v.version) for v in cl.search_model_versions("name='churn-churn-classifier'")) == ["1", "2"]
    assert {cl.get_run(d["run_id"]).info.status for d in docs} == {"FINISHED"}
    assert (root / ".mlgitops" / "mlflow.db.lock").exists()
