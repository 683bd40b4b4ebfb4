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
MAX_BYTES = 64 * 1024 * 1024  # a plan of thousands of resources is a few MB


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
        raise BadInput(f"{where}: not a {name} record (expected a mapping, found {type(doc).__name__}); {fix}")
    found = doc.get("kind", name)
    if found != name:
        raise BadInput(f"{where}: holds a {found!r} record where a {name} belongs; {fix}")
    version = doc.get("schema_version", SCHEMA_VERSION)
    if not isinstance(version, int) or version > SCHEMA_VERSION:
        raise BadInput(f"{where}: {name} schema_version {version!r} is newer than this mlgitops reads ({SCHEMA_VERSION}); "
                       "upgrade mlgitops or re-run the step that wrote it")
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
    try:
        doc = json.loads(text.decode("utf-8") if isinstance(text, bytes) else text)
    except UnicodeDecodeError as exc:
        raise BadInput(f"{where}: not UTF-8 (byte {exc.start}); {fix}") from None
    except json.JSONDecodeError as exc:
        raise BadInput(f"{where}:{exc.lineno}:{exc.colno}: invalid JSON ({exc.msg}); {fix}") from None
    except RecursionError:
        raise BadInput(f"{where}: JSON nested too deeply; {fix}") from None
    return validate(doc, kind, where, fix)


def load(path: Path, kind: type[R], fix: str | None = None) -> R:
    """The `kind` record in the JSON file at `path` (which must exist and be a regular file)."""
    fix = fix or FIX
    try:
        info = path.stat()
        if not path.is_file():
            raise BadInput(f"{path}: not a regular file, so not a {kind.__name__}; {fix}")
        if info.st_size > MAX_BYTES:
            raise BadInput(f"{path}: larger than {MAX_BYTES // 2**20} MiB, so not a {kind.__name__} mlgitops wrote; {fix}")
        raw = path.read_bytes()
    except FileNotFoundError:
        raise BadInput(f"{path}: no such {kind.__name__} file; {fix}") from None
    except OSError as exc:
        raise BadInput(f"{path}: cannot be read ({exc.strerror}); {fix}") from None
    return parse(raw, kind, str(path), fix)


def load_optional(path: Path, kind: type[R], fix: str | None = None) -> R | None:
    """Like `load`, but None when there is no such file."""
    return load(path, kind, fix) if path.exists() else None
