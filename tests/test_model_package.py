"""A model's identity and its package: the digest ignores only run-specific metadata, the archive is reproducible."""

from __future__ import annotations

import io
import os
import tarfile
import time
from pathlib import Path

import pytest
import yaml

from mlgitops.errors import BadInput
from mlgitops.package import build, extract, model_digest, package_digest

MLMODEL = {
    "artifact_path": "/home/alice/mlruns/1/models/m-1/artifacts",
    "flavors": {"python_function": {"loader_module": "mlflow.sklearn"}},
    "mlflow_version": "3.17.2",
    "model_id": "m-1",
    "model_uuid": "m-1",
    "run_id": "r1",
    "utc_time_created": "2026-12-01 10:00:00",
}


def model(root: Path, weights: bytes = b"weights", **mlmodel: object) -> Path:
    (root / "sub").mkdir(parents=True, exist_ok=True)
    (root / "MLmodel").write_text(yaml.safe_dump({**MLMODEL, **mlmodel}))
    (root / "model.skops").write_bytes(weights)
    (root / "sub" / "requirements.txt").write_text("scikit-learn==1.9.1\n")
    return root


def test_the_digest_is_the_model_not_the_run_or_the_machine(tmp_path):
    a = model_digest(model(tmp_path / "a"))
    other_run = model_digest(
        model(
            tmp_path / "b",
            run_id="r2",
            model_id="m-2",
            model_uuid="m-2",
            utc_time_created="2026-12-02",
            artifact_path="/tmp/ci/x",
        )
    )
    other_weights = model_digest(model(tmp_path / "c", weights=b"weights2"))
    other_flavor = model_digest(model(tmp_path / "d", mlflow_version="3.18.0"))
    assert a == other_run and a.startswith("sha256:") and len(a) == 71
    assert len({a, other_weights, other_flavor}) == 3


def test_the_package_is_reproducible_and_holds_the_model_at_its_root(tmp_path):
    src = model(tmp_path / "m")
    d1 = build(src, tmp_path / "1" / "model.tar.gz")
    os.utime(src / "model.skops", (time.time() + 100, time.time() + 100))  # another checkout, other mtimes
    d2 = build(src, tmp_path / "2" / "model.tar.gz")
    assert d1 == d2 == package_digest(tmp_path / "1" / "model.tar.gz")
    assert (tmp_path / "1" / "model.tar.gz").read_bytes() == (tmp_path / "2" / "model.tar.gz").read_bytes()
    with tarfile.open(tmp_path / "1" / "model.tar.gz") as tar:
        members = tar.getmembers()
    assert [m.name for m in members] == ["MLmodel", "model.skops", "sub/requirements.txt"]
    assert {(m.mtime, m.uid, m.gid, m.uname, m.gname) for m in members} == {(0, 0, 0, "", "")}
    out = extract(tmp_path / "1" / "model.tar.gz", tmp_path / "x" / "model", d1, "here")
    assert model_digest(out) == d1 and (out / "MLmodel").is_file()


def test_a_package_that_is_not_the_recorded_model_or_not_a_plain_archive_is_refused(tmp_path):
    src = model(tmp_path / "m")
    digest = build(src, tmp_path / "model.tar.gz")
    with pytest.raises(BadInput, match="holds model sha256:.*, but sha256:0+ was recorded"):
        extract(tmp_path / "model.tar.gz", tmp_path / "x", "sha256:" + "0" * 64, "deploy/staging.yaml")
    assert not (tmp_path / "x").exists()
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        info = tarfile.TarInfo("../escape")
        info.size = 1
        tar.addfile(info, io.BytesIO(b"x"))
    (tmp_path / "evil.tar.gz").write_bytes(buf.getvalue())
    with pytest.raises(BadInput, match="not a plain file inside the archive"):
        extract(tmp_path / "evil.tar.gz", tmp_path / "y", digest, "here")
    (tmp_path / "junk.tar.gz").write_bytes(b"junk")
    with pytest.raises(BadInput, match="not a readable model package"):
        package_digest(tmp_path / "junk.tar.gz")


@pytest.mark.parametrize("uri", ["/etc/passwd", "../outside/model.tar.gz", "file:///tmp/x/model.tar.gz"])
def test_a_deploy_file_cannot_point_serving_outside_the_project(tmp_path, uri):
    from types import SimpleNamespace

    from mlgitops.bucket import model_dir

    config = SimpleNamespace(root=tmp_path, cloud=SimpleNamespace(region="eu-west-1"))
    with pytest.raises(BadInput, match="neither an s3:// URI nor a path inside the project"):
        model_dir(config, "m", "sha256:" + "0" * 64, uri, "deploy/local.yaml")
