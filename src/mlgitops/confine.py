"""Path confinement: what `mlgitops.yaml` and `MLGITOPS_RUN_ID` name stays inside the project (or on s3://).

The config arrives in pull requests; a dataset at `../../../../etc/passwd` or a run id of `../../tmp/x` would
make the gates read or write anywhere on the runner. Paths given on the command line (`--out`, `--plan`,
`--program`, `--base`) are the user's own choice and are not confined.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

from mlgitops.errors import BadInput

if TYPE_CHECKING:
    from mlgitops.config import Project
    from mlgitops.config.schema import Problem

RUN_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")


def outside(root: Path, value: str) -> str | None:
    """Why `value` (a dataset or suite path) is not allowed, or None: s3:// URIs and project paths are."""
    if value.startswith("s3://"):
        return None
    if "://" in value:
        return f"'{value}': only project-relative paths and s3:// URIs are allowed"
    base = root.resolve()
    target = (base / value).resolve()  # through symlinks: a link inside the project may point out of it
    if not target.is_relative_to(base):
        return f"'{value}' resolves to {target}, outside the project; keep it inside the project (or on s3://)"
    return None


def entry_point_outside(root: Path, entry_point: str) -> str | None:
    """Why the entry point's module (under `<project>/src`) resolves outside the project, or None."""
    base = root.resolve()
    parts = entry_point.split(":")[0].split(".")
    src = root / "src"
    for n in range(1, len(parts) + 1):  # each package on the way may be a symlink
        for candidate in (src.joinpath(*parts[:n]), src.joinpath(*parts[: n - 1], parts[n - 1] + ".py")):
            if (candidate.exists() or candidate.is_symlink()) and not candidate.resolve().is_relative_to(base):
                return f"'{entry_point}': {candidate.relative_to(root)} resolves to {candidate.resolve()}, outside the project; keep the code under src/"
    if (src.exists() or src.is_symlink()) and not src.resolve().is_relative_to(base):
        return f"'{entry_point}': src/ resolves to {src.resolve()}, outside the project; keep the code under src/"
    return None


def config_problems(config: Project, root: Path) -> list[Problem]:
    """Every dataset, suite, entry-point, ground-truth and retraining path of `config` that leaves the project, as (key path, message)."""
    problems: list[Problem] = []
    for name, ds in config.datasets.items():
        for field in ("path", "suite"):
            value = getattr(ds, field)
            why = outside(root, value) if value else None
            if why:
                problems.append((("datasets", name, field), why))
    for name, model in config.models.items():
        why = entry_point_outside(root, model.entry_point)
        if why:
            problems.append((("models", name, "entry_point"), why))
    labels = config.monitoring.ground_truth
    why = outside(root, labels) if labels else None
    if why:
        problems.append((("monitoring", "ground_truth"), why))
    retrain = config.monitoring.retrain
    why = (
        outside(root, retrain.path.format(date="2000-01-01")) if retrain else None
    )  # what `mlgitops retrain` would write
    if why:
        problems.append((("monitoring", "retrain", "path"), why))
    return problems


def run_id(value: str, source: str = "MLGITOPS_RUN_ID") -> str:
    """A run id names one folder under `.mlgitops/evidence/`: a single safe path component."""
    if not RUN_ID.match(value) or value in (".", ".."):
        raise BadInput(
            f"{source}={value!r}: a run id must be one folder name (letters, digits, '.', '_', '-'; "
            "at most 128, starting with a letter or digit); set it to e.g. the CI run number"
        )
    return value


def project_relative(uri: str | None, root: Path) -> str | None:
    """A `file://` URI or path inside the project as a project-relative path; any other URI as it is.

    Evidence is shared and deploy files are committed: another machine's absolute paths mean nothing there
    and would publish its layout (usernames, temp folders)."""
    from urllib.parse import unquote, urlparse

    if not uri or ("://" in uri and not uri.startswith("file:")):
        return uri
    path = Path(unquote(urlparse(uri).path) if uri.startswith("file:") else uri)
    base = root.resolve()
    resolved = path.resolve() if path.is_absolute() else (base / path).resolve()
    return resolved.relative_to(base).as_posix() if resolved.is_relative_to(base) else uri
