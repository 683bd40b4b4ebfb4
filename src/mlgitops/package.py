"""A model's identity and its package: the sha256 of its MLflow model directory, and `model.tar.gz`.

The digest is what git records: the same model gives the same digest in any tracking store and on any machine,
so `deploy/<env>.yaml` can say which model an environment serves. The run-specific fields of `MLmodel` are left
out; every other file counts byte for byte. The package holds the directory at the archive root (where the
MLflow SageMaker container reads `/opt/ml/model` from) and is built reproducibly: the same directory gives the
same bytes.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import tarfile
from collections.abc import Iterable, Iterator
from pathlib import Path

from mlgitops.errors import BadInput

PACKAGE = "model.tar.gz"
VOLATILE = ("run_id", "model_uuid", "model_id", "utc_time_created", "artifact_path", "model_size_bytes")
"""Keys of `MLmodel` that name the run, the time or the machine that wrote the model, not the model."""


def _normalised(rel: str, data: bytes) -> bytes:
    if rel != "MLmodel":
        return data
    import yaml

    loader, dumper = getattr(yaml, "CSafeLoader", yaml.SafeLoader), getattr(yaml, "CSafeDumper", yaml.SafeDumper)
    doc = yaml.load(data, Loader=loader) or {}  # noqa: S506 - a safe loader, libyaml's when present
    for key in VOLATILE:
        doc.pop(key, None)
    text: str = yaml.dump(doc, Dumper=dumper, sort_keys=True)
    return text.encode()


def digest_of(files: Iterable[tuple[str, bytes]]) -> str:
    """sha256 over (sorted relative path, sha256 of normalised bytes) pairs."""
    outer = hashlib.sha256()
    for rel, data in sorted(files):
        outer.update(rel.encode() + b"\0" + hashlib.sha256(_normalised(rel, data)).hexdigest().encode() + b"\n")
    return "sha256:" + outer.hexdigest()


def hex_of(digest: str) -> str:
    """The hex part of `sha256:<hex>`, as used in package paths and object keys."""
    return digest.split(":", 1)[-1]


def short(digest: str | None) -> str:
    """`sha256:` and the first 12 hex digits: enough to tell models apart in messages."""
    return digest[:19] if digest else "nothing"


def _dir_files(root: Path) -> Iterator[tuple[str, bytes]]:
    for path in root.rglob("*"):
        if path.is_file():
            yield path.relative_to(root).as_posix(), path.read_bytes()


def model_digest(model_dir: Path) -> str:
    """The identity of the MLflow model in `model_dir`."""
    return digest_of(_model_files(Path(model_dir)))


def _model_files(model_dir: Path) -> list[tuple[str, bytes]]:
    if not (model_dir / "MLmodel").is_file():
        raise BadInput(f"{model_dir}: not an MLflow model directory (no MLmodel file)")
    return sorted(_dir_files(model_dir))


def members(tar_path: Path) -> Iterator[tuple[str, bytes]]:
    """The regular files of a package; BadInput on anything a model archive never holds (links, devices, `..`)."""
    try:
        with tarfile.open(tar_path, "r:gz") as tar:
            for member in tar:
                name = member.name.removeprefix("./")
                if member.isdir():
                    continue
                if not member.isfile() or name.startswith("/") or ".." in Path(name).parts:
                    raise BadInput(
                        f"{tar_path}: member {member.name!r} is not a plain file inside the archive; the package was tampered with"
                    )
                yield name, tar.extractfile(member).read()  # type: ignore[union-attr]
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise BadInput(
            f"{tar_path}: not a readable model package ({exc}); promote the model again to rebuild it"
        ) from None


def package_digest(tar_path: Path) -> str:
    """The identity of the model inside a package (the same as `model_digest` of the directory it was built from)."""
    return digest_of(members(Path(tar_path)))


def build(model_dir: Path, dest: Path) -> str:
    """Write `dest` (model.tar.gz, reproducible) from the MLflow model in `model_dir`; returns the model's digest."""
    files = _model_files(Path(model_dir))  # read once: for the digest and for the archive
    buf = io.BytesIO()
    with (
        gzip.GzipFile(filename="", mode="wb", fileobj=buf, mtime=0) as gz,
        tarfile.open(fileobj=gz, mode="w", format=tarfile.PAX_FORMAT) as tar,
    ):
        for rel, data in files:
            info = tarfile.TarInfo(rel)
            info.size, info.mtime, info.mode, info.uid, info.gid, info.uname, info.gname = (
                len(data),
                0,
                0o644,
                0,
                0,
                "",
                "",
            )
            tar.addfile(info, io.BytesIO(data))
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(f".{dest.name}.tmp")
    tmp.write_bytes(buf.getvalue())
    tmp.replace(dest)  # whole or absent; rebuilt from the model if a crash loses it, so no fsync
    return digest_of(files)


def verify(tar_path: Path, expected: str, where: str) -> None:
    """BadInput unless the package holds the model `expected` names: checked before promoting or serving it."""
    found = package_digest(tar_path)
    if found != expected:
        raise BadInput(
            f"{where}: the package {tar_path} holds model {found}, but {expected} was recorded; it was changed after it "
            "was built. Restore it (or promote the model again) before using it"
        )


def extract(tar_path: Path, dest: Path, expected: str, where: str) -> Path:
    """The verified model directory of a package, extracted once into `dest`."""
    if (dest / "MLmodel").is_file() and model_digest(dest) == expected:
        return dest
    verify(tar_path, expected, where)
    import shutil
    import tempfile

    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=dest.parent, prefix=".extract-"))
    with tarfile.open(tar_path, "r:gz") as tar:
        tar.extractall(tmp, filter="data")
    shutil.rmtree(dest, ignore_errors=True)
    tmp.rename(dest)
    return dest
