"""Promotion through a shared tracking server: a real `mlflow server` on 127.0.0.1 backed by PostgreSQL, its artifacts
on the moto S3 server, driven by two fresh-clone CI runs. The registry alias follows git by digest."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from gitops_helpers import s3_bucket
from moto_helpers import wait_until_answers
from test_promotion_ci import STRONG, WEAK, deployed, fresh_clone, git, mlgitops, push_seed

from mlgitops.serving import free_port

pytestmark = pytest.mark.slow  # starts PostgreSQL and an MLflow server

MODEL = "churn-classifier"
NOBODY = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]  # PostgreSQL refuses to run as root


@contextlib.contextmanager
def postgres() -> Iterator[str]:
    data = Path(tempfile.mkdtemp(prefix="mlgitops-pg-"))
    os.chown(data, 65534, 65534)
    port = free_port()
    as_nobody = NOBODY if os.geteuid() == 0 else []
    subprocess.run(
        [*as_nobody, "initdb", "-D", str(data / "db"), "-U", "mlflow", "--auth=trust", "-E", "UTF8"],
        check=True,
        capture_output=True,
    )
    subprocess.run(
        [
            *as_nobody,
            "pg_ctl",
            "-D",
            str(data / "db"),
            "-l",
            str(data / "log"),
            "-w",
            "start",
            "-o",
            f"-h 127.0.0.1 -p {port} -k {data}",
        ],
        check=True,
        capture_output=True,
    )
    try:
        yield f"postgresql+psycopg2://mlflow@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run([*as_nobody, "pg_ctl", "-D", str(data / "db"), "-m", "fast", "-w", "stop"], capture_output=True)
        shutil.rmtree(data, ignore_errors=True)


@contextlib.contextmanager
def mlflow_server(backend: str, artifacts: str) -> Iterator[str]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "mlflow",
            "server",
            "--backend-store-uri",
            backend,
            "--default-artifact-root",
            artifacts,
            "--no-serve-artifacts",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            "1",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        wait_until_answers(f"{url}/health", proc, 180)
        yield url
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, 15)
        proc.wait(30)


@pytest.fixture
def origin(tmp_path, moto_s3, monkeypatch) -> Iterator[tuple[Path, str]]:
    """The project's remote, its `tracking.uri` the shared server."""
    with postgres() as backend, mlflow_server(backend, f"{s3_bucket('mlflow')}/artifacts") as url:
        yield push_seed(tmp_path, monkeypatch, tracking_uri=url), url


def alias(url: str, env: str) -> str | None:
    from mlflow import MlflowClient
    from mlflow.exceptions import MlflowException

    try:
        return str(MlflowClient(url, url).get_model_version_by_alias(f"churn-{MODEL}", env).version)
    except MlflowException:
        return None


def test_two_fresh_clone_runs_through_a_shared_tracking_server(origin):
    remote, url = origin
    run1 = fresh_clone(remote, "run1")
    pr = mlgitops(run1, "pipeline", "pr", "--env", "staging")
    assert pr.returncode == 0, pr.stdout + pr.stderr
    assert mlgitops(run1, "promote", "--env", "staging", "--commit").returncode == 0
    first = deployed(run1, "staging")
    assert alias(url, "staging") == first["version"]
    drift = mlgitops(run1, "drift", "--env", "staging", "--json")
    assert drift.returncode == 0 and json.loads(drift.stdout)["drift"][0]["status"] == "in-sync"
    git(run1, "push", "-q", "origin", "main")

    change = fresh_clone(remote, "change")
    (change / "mlgitops.yaml").write_text((change / "mlgitops.yaml").read_text().replace(WEAK, STRONG))
    git(change, "commit", "-q", "-am", "stronger model")
    git(change, "push", "-q", "origin", "main")

    run2 = fresh_clone(remote, "run2")  # its .mlgitops/ is empty; the registry is the server's
    pr = mlgitops(run2, "pipeline", "pr", "--env", "staging")
    assert pr.returncode == 0, pr.stdout + pr.stderr
    [evaluation] = [
        json.loads(p.read_text()) for p in (run2 / ".mlgitops" / "evidence").glob(f"*/evaluation/{MODEL}.json")
    ]
    assert evaluation["champion"]["source"] == "registry" and evaluation["champion"]["version"] == first["version"]
    assert mlgitops(run2, "promote", "--env", "staging", "--commit").returncode == 0
    second = deployed(run2, "staging")
    assert second["replaces"] == first["digest"] and second["version"] != first["version"]
    assert alias(url, "staging") == second["version"]
    assert mlgitops(run2, "drift", "--env", "staging").returncode == 0

    from mlflow import MlflowClient

    MlflowClient(url, url).set_registered_model_alias(f"churn-{MODEL}", "staging", first["version"])  # moved by hand
    drift = mlgitops(run2, "drift", "--env", "staging", "--json")
    assert drift.returncode == 1 and json.loads(drift.stdout)["drift"][0]["drifted"] is True
    fixed = mlgitops(run2, "drift", "--env", "staging", "--fix")
    assert fixed.returncode == 0 and alias(url, "staging") == second["version"]
    assert "file:" not in yaml.safe_dump(deployed(run2, "staging"))
