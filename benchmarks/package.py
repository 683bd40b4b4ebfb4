"""Packaging and uploading the template's model vs a bare reproducible tar plus a plain boto3 upload, in the same run.

`mlgitops promote` builds model.tar.gz (digest over the normalised directory, sorted entries, fixed mtime/uid/gid)
and uploads it to the environment's models bucket (head checks, SSE-KMS). The baseline is the least anyone could
do: a reproducible `tarfile` of the same directory and one `upload_file` to the same bucket. Issue target: at most
1.3x. S3 is a moto server on 127.0.0.1. Run: `python benchmarks/package.py [N]`.
"""

from __future__ import annotations

import gzip
import io
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))


def bare_tar(model_dir: Path, dest: Path) -> None:
    buf = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=buf, mtime=0) as gz, tarfile.open(fileobj=gz, mode="w") as tar:
        for path in sorted(p for p in model_dir.rglob("*") if p.is_file()):
            info = tar.gettarinfo(str(path), path.relative_to(model_dir).as_posix())
            info.mtime, info.uid, info.gid, info.uname, info.gname = 0, 0, 0, "", ""
            with path.open("rb") as f:
                tar.addfile(info, f)
    dest.write_bytes(buf.getvalue())


def template_model(tmp: Path) -> tuple[Path, Path, str]:
    """(project, the trained model's directory, model name): `mlgitops new`, then `mlgitops train` once."""
    import json

    from mlgitops.registry import local_copy

    project = tmp / "bench"
    subprocess.run(
        [sys.executable, "-m", "mlgitops", "new", str(project), "--no-input", "--no-git"],
        check=True,
        capture_output=True,
    )
    subprocess.run(
        [sys.executable, "-m", "mlgitops", "--project", str(project), "train", "--env", "staging"],
        check=True,
        capture_output=True,
    )
    [record] = (project / ".mlgitops" / "evidence").glob("*/training/*.json")
    doc = json.loads(record.read_text())
    uri = doc["artifact_uri"] if "://" in doc["artifact_uri"] else str(project / doc["artifact_uri"])
    return project, local_copy(uri), doc["model"]


def main(n: int = 30) -> None:
    import boto3
    from gitops_helpers import stack_buckets

    from mlgitops.bucket import object_uri, upload
    from mlgitops.config import load
    from mlgitops.package import build

    tmp = Path(tempfile.mkdtemp(prefix="mlgitops-bench-"))
    project, model_dir, model = template_model(tmp)
    config = load(project, "staging")
    stack_buckets(project, ("staging",))
    s3 = boto3.client("s3")
    bucket, key = object_uri(config, model, "sha256:" + "0" * 64).removeprefix("s3://").split("/", 1)

    def ours() -> None:
        digest = build(model_dir, tmp / "ours.tar.gz")
        upload(config, model, tmp / "ours.tar.gz", digest)

    def baseline() -> None:
        bare_tar(model_dir, tmp / "bare.tar.gz")
        s3.upload_file(str(tmp / "bare.tar.gz"), bucket, key)

    times: dict[str, list[float]] = {"mlgitops": [], "baseline": []}
    for _ in range(n):
        for name, fn in (("baseline", baseline), ("mlgitops", ours)):
            for page in s3.list_objects_v2(Bucket=bucket).get("Contents", []):  # every upload is a first one
                s3.delete_object(Bucket=bucket, Key=page["Key"])
            t0 = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - t0)
    size = sum(p.stat().st_size for p in model_dir.rglob("*") if p.is_file())
    med = {k: statistics.median(v) * 1000 for k, v in times.items()}
    print(
        f"template model: {size / 1024:.0f} KiB in {sum(1 for p in model_dir.rglob('*') if p.is_file())} files, {n} rounds"
    )
    for name, ms in med.items():
        print(f"{name:<9} p50 {ms:7.2f} ms")
    ratio = med["mlgitops"] / med["baseline"]
    print(
        f"package + upload vs bare tar + upload_file: {ratio:.2f}x (target 1.3x: {'met' if ratio <= 1.3 else 'missed'})"
    )


if __name__ == "__main__":
    from moto_helpers import moto_server

    with moto_server():
        main(int(sys.argv[1]) if len(sys.argv) > 1 else 30)
