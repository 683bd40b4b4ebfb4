"""Reading and writing records: atomic writes, and one set of errors for every reader.

A missing file is the caller's business (evidence nobody produced); a file that is there but is not the
record it should be (corrupt, foreign, written by a newer mlgitops) is bad input naming the file.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any, TypeVar

from mlgitops.errors import BadInput
from mlgitops.evidence.records import SCHEMA_VERSION, Record

R = TypeVar("R", bound=Record)


def atomic_write(path: Path, data: str | bytes) -> Path:
    """Write via a temp file in the same folder, fsync, rename: readers see the old or the new file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    raw = data.encode() if isinstance(data, str) else data
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(raw)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def dump(record: Record) -> str:
    return json.dumps(record.model_dump(mode="json"), indent=2, sort_keys=True) + "\n"


def write(path: Path, record: Record) -> Path:
    return atomic_write(path, dump(record))


def validate(doc: Any, kind: type[R], where: str, fix: str) -> R:
    """`doc` as a `kind` record; BadInput naming `where` when it is another kind, too new, or malformed."""
    from pydantic import ValidationError

    name = kind.__name__
    if not isinstance(doc, dict):
        raise BadInput(f"{where}: not a valid {name}: expected a JSON object, found {type(doc).__name__}; {fix}")
    found = doc.get("kind", name)
    if found != name:
        raise BadInput(f"{where}: holds a record of kind {found!r} where a {name} belongs; {fix}")
    version = doc.get("schema_version", SCHEMA_VERSION)
    if not isinstance(version, int) or version > SCHEMA_VERSION:
        raise BadInput(
            f"{where}: {name} schema_version {version!r} is newer than this mlgitops reads ({SCHEMA_VERSION}); "
            "upgrade mlgitops or re-run the step that wrote it"
        )
    try:
        return kind.model_validate(doc)
    except ValidationError as exc:
        err = exc.errors()[0]
        at = ".".join(str(p) for p in err["loc"]) or "(top level)"
        more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
        raise BadInput(f"{where}: not a valid {name}: {at}: {err['msg']}{more}; {fix}") from None


FIX = "re-run the step that writes it"


def parse(text: str | bytes, kind: type[R], where: str, fix: str = FIX) -> R:
    """The `kind` record in JSON text read from `where`."""
    from mlgitops import files

    return validate(
        files.parse_json(files.decode(text, where, fix) if isinstance(text, bytes) else text, where, fix),
        kind,
        where,
        fix,
    )


def load(path: Path, kind: type[R], fix: str | None = None) -> R:
    """The `kind` record in the JSON file at `path`: a regular file, bounded in size and depth (see `mlgitops.files`)."""
    from mlgitops import files

    fix = fix or FIX
    if not path.exists() and not path.is_symlink():
        raise BadInput(f"{path}: no such {kind.__name__} file; {fix}")
    return validate(files.load_json(path, fix=fix), kind, str(path), fix)


def load_optional(path: Path, kind: type[R], fix: str | None = None) -> R | None:
    """Like `load`, but None when there is no such file."""
    return load(path, kind, fix) if path.exists() or path.is_symlink() else None
