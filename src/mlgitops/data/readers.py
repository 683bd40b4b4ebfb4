"""Read a dataset's bytes (local path or s3://), digest them, parse CSV/Parquet into pandas.

The digest is sha256 of the exact bytes so evidence pins the data a model was trained and gated on.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
from concurrent.futures import Executor, Future
from pathlib import Path
from typing import Any

from mlgitops.errors import BadInput


def _s3_body(loc: str) -> Any:
    """The streaming body of an s3://bucket/key object; BadInput when it cannot be read."""
    import boto3
    from botocore.exceptions import ClientError

    bucket, _, key = loc[5:].partition("/")
    try:
        return boto3.client("s3").get_object(Bucket=bucket, Key=key)["Body"]
    except ClientError as exc:
        raise BadInput(
            f"{loc}: cannot read S3 object ({exc.response.get('Error', {}).get('Code', exc)}); "
            "check the dataset path in mlgitops.yaml and your AWS credentials"
        ) from None


def _local_file(loc: str) -> Path:
    path = Path(loc)
    if not path.is_file():
        raise BadInput(f"{path}: data file not found; fix the dataset path in mlgitops.yaml or add the file")
    return path


def read_bytes(location: str | Path) -> bytes:
    """The raw bytes of a local file or an s3://bucket/key object; BadInput when it does not exist."""
    loc = str(location)
    if loc.startswith("s3://"):
        return _s3_body(loc).read()
    return _local_file(loc).read_bytes()


def read_frame(
    location: str | Path, fmt: str, tokens: list[str] | None = None, strings: list[str] | None = None
) -> Any:
    """The dataset as a pandas DataFrame (local file or S3 object), without a digest."""
    loc = str(location)
    return parse(read_bytes(loc) if loc.startswith("s3://") else _local_file(loc), fmt, loc, tokens, strings)


def load(
    location: str | Path, fmt: str, hasher: Executor, tokens: list[str] | None = None, strings: list[str] | None = None
) -> tuple[Any, Future[str]]:
    """(DataFrame, its sha256 to come): `hasher` digests the bytes while the caller validates the frame
    (hashlib releases the GIL). An S3 object is read once; a local file is streamed after the parse,
    which already keeps both cores busy."""
    loc = str(location)
    if loc.startswith("s3://"):
        raw = read_bytes(loc)
        return parse(raw, fmt, loc, tokens, strings), hasher.submit(digest, raw)
    frame = parse(_local_file(loc), fmt, loc, tokens, strings)
    return frame, hasher.submit(stream_digest, loc)


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def stream_digest(location: str | Path, chunk: int = 1 << 20) -> str:
    """sha256 of a local file or S3 object read in chunks, for data larger than memory (Spark engine)."""
    loc = str(location)
    h = hashlib.sha256()
    with contextlib.closing(_s3_body(loc)) if loc.startswith("s3://") else _local_file(loc).open("rb") as f:
        for part in iter(lambda: f.read(chunk), b""):
            h.update(part)
    return h.hexdigest()


def parse(
    data: bytes | Path, fmt: str, where: str, tokens: list[str] | None = None, strings: list[str] | None = None
) -> Any:
    """bytes (or a local file) -> pandas.DataFrame; unreadable or empty data is BadInput (not a verdict).

    A CSV's nulls are exactly `tokens` (default: the gate's NULL_TOKENS, the same the Spark engine uses);
    `strings` are columns read as text (a suite or schema says so)."""
    import pandas as pd

    from mlgitops.data.columns import null_tokens

    source = data if isinstance(data, Path) else io.BytesIO(data)
    try:
        if fmt == "parquet":
            frame = pd.read_parquet(source)
        else:
            frame = pd.read_csv(
                source,
                keep_default_na=False,
                na_values=null_tokens(tokens),
                dtype={c: "str" for c in strings or []} or None,
            )
    except pd.errors.EmptyDataError:
        raise BadInput(f"{where}: dataset is empty; provide data with a header and at least one row") from None
    except Exception as exc:  # noqa: BLE001 - any parser error is a bad file
        raise BadInput(
            f"{where}: cannot read as {fmt} ({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}); "
            f"check the file or set format: in mlgitops.yaml"
        ) from None
    if len(frame) == 0:
        raise BadInput(f"{where}: dataset is empty (0 rows); provide at least one row")
    return frame
