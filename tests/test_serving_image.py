"""The serving image: its Dockerfile passes hadolint, its tag follows its inputs, and its serving command (run here,
outside a container: there is no docker daemon) answers SageMaker's contract on an extracted model.tar.gz."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from mlgitops.image import FILES, context, sources, tag

SERVING = Path(__file__).resolve().parents[1] / "templates" / "project" / "{{cookiecutter.project_slug}}" / "serving"
HADOLINT = Path(sys.executable).with_name("hadolint")


def hadolint(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(HADOLINT), "--no-color", "--failure-threshold", "warning", str(path)], capture_output=True, text=True
    )


def test_the_template_dockerfile_passes_hadolint_and_a_careless_one_does_not(tmp_path):
    assert hadolint(SERVING / "Dockerfile").returncode == 0, hadolint(SERVING / "Dockerfile").stdout
    (tmp_path / "Dockerfile").write_text("FROM python\nRUN pip install mlflow\nCMD mlflow models serve\n")
    careless = hadolint(tmp_path / "Dockerfile")
    assert careless.returncode == 1 and "DL3006" in careless.stdout and "DL3013" in careless.stdout


@pytest.fixture(scope="module")
def package(tmp_path_factory) -> tuple[Path, Path]:
    """(a real sklearn MLflow model's package, the holdout rows), as training writes it."""
    import mlflow.sklearn
    import pandas as pd
    from sklearn.linear_model import LogisticRegression

    from mlgitops.package import build

    tmp = tmp_path_factory.mktemp("image")
    frame = pd.read_csv(Path(__file__).resolve().parents[1] / "examples" / "churn" / "data" / "train.csv")
    features = ["tenure_months", "monthly_charges", "support_tickets"]
    X = frame[features].astype("float64")
    mlflow.sklearn.save_model(
        LogisticRegression(max_iter=500).fit(X, frame["churned"]),
        tmp / "model",
        input_example=X.head(2),
        pip_requirements=["scikit-learn", "pandas"],
    )
    build(tmp / "model", tmp / "model.tar.gz")
    X.head(50).to_csv(tmp / "rows.csv", index=False)
    return tmp / "model.tar.gz", tmp / "rows.csv"


def test_the_tag_follows_the_dockerfile_the_entry_point_and_the_models_requirements(tmp_path, package):
    import tarfile

    pkg, _ = package
    project = tmp_path / "p"
    assert sources(project) == SERVING  # a project without its own serving/ gets the template's
    base = tag(project, pkg)
    assert base.startswith("serving-") and len(base) == len("serving-") + 16 and tag(project, pkg) == base
    shutil.copytree(SERVING, project / "serving")
    assert tag(project, pkg) == base  # the same files: the same image
    (project / "serving" / "Dockerfile").write_text((SERVING / "Dockerfile").read_text() + "LABEL team=ml\n")
    assert tag(project, pkg) != base
    with tarfile.open(pkg) as tar:
        tar.extractall(tmp_path / "m", filter="data")
    (tmp_path / "m" / "requirements.txt").write_text("scikit-learn==1.0\n")
    from mlgitops.package import build

    build(tmp_path / "m", tmp_path / "other.tar.gz")
    assert tag(tmp_path / "q", tmp_path / "other.tar.gz") != base
    ctx = context(tmp_path / "q", tmp_path / "other.tar.gz", tmp_path / "ctx")
    assert sorted(p.name for p in ctx.iterdir()) == sorted([*FILES, "requirements.txt"])
    assert (ctx / "requirements.txt").read_text() == "scikit-learn==1.0\n"


@pytest.mark.slow  # starts MLflow's scoring server
def test_the_images_serving_command_answers_sagemakers_contract_like_the_model_in_process(tmp_path, package):
    import mlflow.pyfunc
    import pandas as pd
    from moto_helpers import wait_until_answers

    from mlgitops.package import extract, package_digest
    from mlgitops.serving import free_port, payload

    pkg, rows = package
    model_path = extract(pkg, tmp_path / "opt" / "ml" / "model", package_digest(pkg), "test")  # as SageMaker mounts it
    port = free_port()
    env = {
        **os.environ,
        "MODEL_PATH": str(model_path),
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        "MLFLOW_DEPLOYMENT_FLAVOR_NAME": "python_function",
        "SERVING_ENVIRONMENT": "SageMaker",
        "MLFLOW_DISABLE_ENV_CREATION": "true",
    }
    proc = subprocess.Popen(
        [str(SERVING / "serve"), "serve"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        wait_until_answers(f"http://127.0.0.1:{port}/ping", proc, 120)  # the serving command answers SageMaker's /ping
        frame = pd.read_csv(rows)
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/invocations", data=payload(frame), headers={"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            served = json.loads(response.read())["predictions"]
    finally:
        os.killpg(proc.pid, 15)
        proc.wait(30)
    assert served == [int(p) for p in mlflow.pyfunc.load_model(str(model_path)).predict(frame)]
    assert subprocess.run([str(SERVING / "serve"), "train"], env=env, capture_output=True).returncode == 2
