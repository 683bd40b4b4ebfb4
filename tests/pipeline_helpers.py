"""One project scaffolded from the template and one green `mlgitops pipeline pr` run, shared by the whole session.

The run is expensive (GX, MLflow, Pulumi), so it happens once: under pytest-xdist the first worker builds it
under a file lock in the session's shared temp folder and the others reuse it. Tests that change something
work on a copy (`copy_project`), never on the shared project.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from mlgitops.evidence import DeployEntry, Evaluation, TrainingRecord

MLGITOPS = [sys.executable, "-m", "mlgitops"]
MODEL = "classifier"  # the template's model for problem_type binary_classification
TRAIN_CSV = Path("data") / "breast_cancer" / "train.csv"


@dataclass
class Green:
    root: Path  # the project; read it, do not change it
    summary: dict  # `pipeline pr --json` output
    stderr: str

    @property
    def run(self) -> Path:
        return self.root / ".mlgitops" / "evidence" / "local"


def read_json(path: Path) -> Any:
    """An evidence file as the raw JSON a reviewer or another tool would read."""
    return json.loads(path.read_text(encoding="utf-8"))


def cli(*args: str, cwd: Path | None = None, **env: str | None) -> subprocess.CompletedProcess[str]:
    """`mlgitops ARGS` in a child process; `env` overrides the environment (None removes a variable)."""
    merged = {**os.environ, "MLGITOPS_RUN_ID": None, **env}
    environ = {k: v for k, v in merged.items() if v is not None}
    return subprocess.run(
        [*MLGITOPS, *args], capture_output=True, text=True, cwd=cwd, env=environ, stdin=subprocess.DEVNULL
    )


def _build(folder: Path) -> Green:
    from mlgitops.scaffold import new

    root = folder / "green"
    done = folder / "green.json"
    if not done.is_file():
        shutil.rmtree(root, ignore_errors=True)
        new(root)
        proc = cli("--project", str(root), "pipeline", "pr", "--json")
        assert proc.returncode == 0, proc.stdout + proc.stderr
        done.write_text(json.dumps({"summary": json.loads(proc.stdout), "stderr": proc.stderr}))
    return Green(root, **json.loads(done.read_text()))


@pytest.fixture(scope="session")
def green(tmp_path_factory: pytest.TempPathFactory, worker_id: str) -> Green:
    if worker_id == "master":
        return _build(tmp_path_factory.getbasetemp())
    from filelock import FileLock

    shared = tmp_path_factory.getbasetemp().parent
    with FileLock(str(shared / "green.lock")):
        return _build(shared)


def copy_project(green: Green, dest: Path, store: bool = False) -> Path:
    """A copy of the green project; `store=True` keeps its MLflow store and evidence (the registered v1).

    The copied store still records artifact locations inside the green project, which outlives every test."""
    shutil.copytree(green.root, dest, ignore=None if store else shutil.ignore_patterns(".mlgitops"))
    return dest


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1))


@pytest.fixture(autouse=True)
def _no_run_id(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MLGITOPS_RUN_ID", raising=False)


def serve_from_bucket(root: Path, env: str) -> DeployEntry:
    """`deploy/<env>.yaml` serving the green run's model, its package uploaded to the environment's models bucket on the
    moto server (the test needs the `moto_s3` fixture), as `mlgitops promote` records it."""
    from gitops_helpers import stack_buckets

    from mlgitops.bucket import upload
    from mlgitops.config import load
    from mlgitops.evidence import PromotionEvidence, Run
    from mlgitops.evidence.state import read, write

    run = Run(root / ".mlgitops" / "evidence" / "local")
    training, evaluation = (run.read(kind, MODEL) for kind in (TrainingRecord, Evaluation))
    assert training and evaluation and training.digest and training.package
    stack_buckets(root)
    uri = upload(load(root, env), MODEL, run.dir / training.package, training.digest)
    entry = DeployEntry(
        digest=training.digest,
        artifact_uri=uri,
        version=training.version,
        registry_name=training.registry_name,
        model_uri=training.model_uri,
        run_id=training.run_id,
        data_digests=training.dataset_digests,
        evidence=PromotionEvidence(data_gate="pass", metrics=evaluation.candidate.metrics, policy_verdict="pass"),
    )
    state = read(root, env)
    state.models[MODEL] = entry
    write(root, state)
    return entry
