"""The serving image of a model: its build context and an immutable tag derived from what goes into it.

SageMaker runs the endpoint with network isolation, so the image must hold everything the model needs: the project's
`serving/Dockerfile` and `serving/serve` (the template's copy when a project has none) plus the model's own pinned
`requirements.txt`, taken from its package. The tag is a hash of exactly those inputs and MLflow's version, so the
project's ECR repository (immutable tags) gets one push per distinct image, and `deploy/<env>.yaml` names the image
a model is served with.
"""

from __future__ import annotations

import hashlib
import shutil
import tarfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlgitops.errors import BadInput

if TYPE_CHECKING:
    from mlgitops.config import Project

SERVING_DIR = "serving"
FILES = ("Dockerfile", "serve")
TRAINING_DIR = "training"
TRAINING_FILES = ("Dockerfile", "train")
PROJECT_FILES = ("pyproject.toml", "requirements-mlgitops.txt", "mlgitops.yaml")  # and src/: what a training job runs


def sources(project_dir: Path, kind: str = SERVING_DIR) -> Path:
    """The project's `serving/` (or `training/`) when it has a Dockerfile, else the template's."""
    own = Path(project_dir) / kind
    if (own / "Dockerfile").is_file():
        return own
    from mlgitops.suite import root

    return root() / "templates" / "project" / "{{cookiecutter.project_slug}}" / kind


def _from_package(package: Path) -> tuple[bytes, str]:
    """(requirements.txt, MLflow version) of the model in `package` (a model.tar.gz or an extracted model directory)."""
    import yaml

    def read(name: str) -> bytes | None:
        if package.is_dir():
            return (package / name).read_bytes() if (package / name).is_file() else None
        with tarfile.open(package, "r:gz") as tar:
            return tar.extractfile(name).read() if name in tar.getnames() else None  # type: ignore[union-attr]

    requirements, mlmodel = read("requirements.txt"), read("MLmodel")
    if requirements is None:
        raise BadInput(
            f"{package}: the model has no requirements.txt; log it with pip_requirements so its image can be built"
        )
    return requirements, str((yaml.safe_load(mlmodel or b"") or {}).get("mlflow_version", ""))


def tag(project_dir: Path, package: Path) -> str:
    """`serving-<16 hex>`: sha256 over the Dockerfile, the entry point, the model's requirements and MLflow's version."""
    requirements, mlflow_version = _from_package(package)
    src = sources(project_dir)
    h = hashlib.sha256()
    for part in (*((src / f).read_bytes() for f in FILES), requirements, mlflow_version.encode()):
        h.update(hashlib.sha256(part).digest())
    return f"serving-{h.hexdigest()[:16]}"


def reference(config: Project, image_tag: str) -> str:
    """`<repository>:<tag>` in the environment's ECR repository (the Pulumi program prefixes the registry)."""
    return f"{config.name('images')}:{image_tag}"


def context(project_dir: Path, package: Path, dest: Path) -> Path:
    """A docker build context for the model in `package`: Dockerfile, serve, requirements.txt."""
    requirements, _ = _from_package(package)
    dest.mkdir(parents=True, exist_ok=True)
    for f in FILES:
        shutil.copy2(sources(project_dir) / f, dest / f)
    (dest / "requirements.txt").write_bytes(requirements)
    return dest


def contexts(config: Project, models: list[str], dest: Path) -> list[dict[str, str]]:
    """A build context per promoted model under `dest/<model>/`, checked against the image `deploy/<env>.yaml` records:
    CI builds exactly that tag, or is told to promote again when `serving/` changed since."""
    from mlgitops.bucket import model_dir
    from mlgitops.evidence.state import path_for, read

    state, where = read(config.root, config.env), str(path_for(config.root, config.env))
    out = []
    for name in models:
        entry = state.models.get(name)
        if entry is None:
            continue
        path = model_dir(config, name, entry.digest, entry.artifact_uri, where)
        wanted = reference(config, tag(config.root, path))
        if entry.image != wanted:
            raise BadInput(
                f"{where}: {name} records image {entry.image}, but serving/ and its requirements build {wanted} now; "
                f"promote it again (`mlgitops promote --env {config.env} --model {name} --digest {entry.digest}`)"
            )
        context(config.root, path, dest / name)
        repository, image_tag = wanted.split(":", 1)
        out.append({"model": name, "repository": repository, "tag": image_tag, "context": str(dest / name)})
    return out


def training_inputs(project_dir: Path) -> dict[str, bytes]:
    """What goes into the training image, by path in its build context: `training/`'s Dockerfile and entry point, the
    project's requirements and config, and `src/`. A project without requirements-mlgitops.txt installs mlgitops unpinned."""
    root, src = Path(project_dir), sources(project_dir, TRAINING_DIR)
    files = {name: (src / name).read_bytes() for name in TRAINING_FILES}
    for name in PROJECT_FILES:
        path = root / name
        files[name] = (
            path.read_bytes() if path.is_file() else (b"mlgitops\n" if name.startswith("requirements") else b"")
        )
    for path in sorted((root / "src").rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc":
            files[path.relative_to(root).as_posix()] = path.read_bytes()
    return files


def training_tag(project_dir: Path) -> str:
    """`training-<16 hex>`: sha256 over every input of the training image, by path."""
    h = hashlib.sha256()
    for name, data in sorted(training_inputs(project_dir).items()):
        h.update(name.encode() + b"\0" + hashlib.sha256(data).digest())
    return f"training-{h.hexdigest()[:16]}"


def training_context(config: Project, dest: Path) -> dict[str, str | None]:
    """The training image's build context under `dest/training/`, and the repository and tag to push it as."""
    out = dest / TRAINING_DIR
    shutil.rmtree(out, ignore_errors=True)
    for name, data in training_inputs(config.root).items():
        (out / name).parent.mkdir(parents=True, exist_ok=True)
        (out / name).write_bytes(data)
    (out / "train").chmod(0o755)
    repository, image_tag = reference(config, training_tag(config.root)).split(":", 1)
    return {"model": None, "repository": repository, "tag": image_tag, "context": str(out)}


@dataclass(frozen=True)
class Images:
    """What `mlgitops image` wrote: per image its model (None for the training image), repository, tag and context."""

    env: str
    images: list[dict[str, str]] | list[dict[str, str | None]]

    def to_dict(self) -> dict[str, Any]:
        return {"env": self.env, "images": self.images}


def build_contexts(config: Project, model: str | None, dest: Path, training: bool = False) -> Images:
    """The serving image's build context of each promoted model (or one), or with `training` the training image's."""
    return Images(
        config.env,
        [training_context(config, dest)] if training else contexts(config, config.select_models(model), dest),
    )


def render_text(result: Images) -> str:
    """A `docker build` line per image."""
    return "".join(
        f"{b['model'] or 'training'}: docker build -t {b['repository']}:{b['tag']} {b['context']}\n"
        for b in result.images
    )
