"""Read captured traffic (SageMaker's data-capture JSON Lines) from a local folder or an s3:// prefix into frames.

Both places have the same layout below the endpoint's variant: `YYYY/MM/DD/HH/*.jsonl`. Files of hours before the
window are never opened; records are then kept by their `inferenceTime`. The request bodies parsed are the ones
MLflow's scoring server accepts: CSV with a header, and JSON as `dataframe_split`, `dataframe_records` or `inputs`.
A line that is not such a record is bad input naming its file and line: a monitor that skips what it cannot read
would report on traffic it never saw. The last line of a file without its newline is a write still under way.
"""

from __future__ import annotations

import base64
import datetime as dt
import io
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mlgitops.errors import BadInput

HOUR = re.compile(r"(?:^|/)(\d{4})/(\d{2})/(\d{2})/(\d{2})/[^/]+\.jsonl$")
FIX = "delete the line (or the file) or fix what wrote it; SageMaker's record shape is in docs/monitoring.md"


@dataclass
class Traffic:
    """What the window holds: the inputs (one frame per column set, concatenated by `inputs`), the predictions
    aligned with them (None where a response could not be matched to its rows), and inference ids per row."""

    files: int = 0
    records: int = 0
    parts: list[Any] = field(default_factory=list)
    predictions: list[Any] = field(default_factory=list)
    ids: list[str | None] = field(default_factory=list)

    def inputs(self) -> Any:
        import pandas as pd

        return pd.concat(self.parts, ignore_index=True, sort=False) if self.parts else pd.DataFrame()


def parse_time(text: str) -> dt.datetime:
    """An `inferenceTime` (`2026-01-02T03:04:05Z`, with or without fractions) as an aware UTC datetime."""
    value = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def _hour(key: str) -> dt.datetime | None:
    m = HOUR.search(key)
    if m is None:
        return None
    year, month, day, hour = (int(g) for g in m.groups())
    return dt.datetime(year, month, day, hour, tzinfo=dt.UTC)


def _in_window(key: str, since: dt.datetime, until: dt.datetime) -> bool:
    hour = _hour(key)
    return hour is not None and since - dt.timedelta(hours=1) < hour <= until


def local_files(folder: Path, since: dt.datetime, until: dt.datetime) -> Iterator[tuple[str, bytes]]:
    """(path, bytes) of every capture file of the window under `folder`, oldest hour first."""
    for path in sorted(folder.glob("*/*/*/*/*.jsonl")):
        rel = path.relative_to(folder).as_posix()
        if _in_window(rel, since, until):
            yield str(path), path.read_bytes()


def s3_files(prefix: str, since: dt.datetime, until: dt.datetime) -> Iterator[tuple[str, bytes]]:
    """(s3 URI, bytes) of every capture object of the window below `prefix`, oldest hour first."""
    import boto3
    from botocore.exceptions import BotoCoreError, ClientError

    bucket, _, key_prefix = prefix.removeprefix("s3://").partition("/")
    key_prefix = key_prefix.rstrip("/") + "/" if key_prefix else ""
    s3 = boto3.client("s3")
    try:
        keys = [
            o["Key"]
            for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=key_prefix)
            for o in page.get("Contents", [])
        ]
        for key in sorted(keys):
            if _in_window(key[len(key_prefix) :], since, until):
                yield f"s3://{bucket}/{key}", s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    except (ClientError, BotoCoreError) as exc:
        code = exc.response.get("Error", {}).get("Code", exc) if isinstance(exc, ClientError) else exc
        raise BadInput(
            f"{prefix}: cannot read the captured data ({code}); check --capture and your AWS credentials"
        ) from None


def _body(side: dict[str, Any]) -> tuple[str, str]:
    """(MIME type, text) of one side of a record."""
    data, encoding = side["data"], side.get("encoding", "BASE64")
    if not isinstance(data, str):
        raise ValueError("`data` is not a string")
    text = base64.b64decode(data).decode("utf-8") if encoding == "BASE64" else data
    return str(side.get("observedContentType", "")).split(";", 1)[0].strip().lower(), text


def _rows(mime: str, text: str, columns: list[str]) -> tuple[list[str] | None, Any]:
    """(column names, rows as a list of lists) or (None, DataFrame) of a request body."""
    if mime == "text/csv":
        import pandas as pd

        first = text.split("\n", 1)[0].strip().split(",")
        header = all(
            f.strip().strip('"') in columns for f in first
        )  # MLflow's CSV has a header; SageMaker's algorithms' none
        return None, pd.read_csv(io.StringIO(text), header=0 if header else None, names=None if header else columns)
    doc = json.loads(text)
    if not isinstance(doc, dict):
        raise ValueError("a JSON request must be an object with dataframe_split, dataframe_records or inputs")
    if "dataframe_split" in doc:
        split = doc["dataframe_split"]
        return list(split["columns"]), split["data"]
    if "dataframe_records" in doc:
        records = doc["dataframe_records"]
        names = list(dict.fromkeys(k for r in records for k in r))
        return names, [[r.get(k) for k in names] for r in records]
    if "inputs" in doc:
        inputs = doc["inputs"]
        if isinstance(inputs, dict):  # columns -> values
            names = list(inputs)
            values = [v if isinstance(v, list) else [v] for v in inputs.values()]
            return names, [list(r) for r in zip(*values, strict=False)]
        if inputs and isinstance(inputs[0], dict):
            names = list(dict.fromkeys(k for r in inputs for k in r))
            return names, [[r.get(k) for k in names] for r in inputs]
        rows = [r if isinstance(r, list) else [r] for r in inputs]
        if rows and len(rows[0]) != len(columns):
            raise ValueError(
                f"`inputs` rows have {len(rows[0])} values but the model takes {len(columns)} columns ({', '.join(columns)})"
            )
        return list(columns), rows
    raise ValueError("a JSON request needs dataframe_split, dataframe_records or inputs")


def _predictions(mime: str, text: str) -> list[Any]:
    if mime == "text/csv":
        return [ln.split(",")[0] for ln in text.splitlines() if ln.strip()]
    doc = json.loads(text)
    preds = doc.get("predictions", doc) if isinstance(doc, dict) else doc
    if isinstance(preds, dict):  # a frame of outputs, column-oriented: its first column
        preds = next(iter(preds.values()), [])
    return [
        p[0] if isinstance(p, list) and p else next(iter(p.values()), None) if isinstance(p, dict) else p for p in preds
    ]


def read(files: Iterator[tuple[str, bytes]], since: dt.datetime, until: dt.datetime, columns: list[str]) -> Traffic:
    """Parse every record of the window; rows of one column set are gathered into one frame."""
    import pandas as pd

    out = Traffic()
    groups: dict[tuple[str, ...], list[Any]] = {}
    frames: list[Any] = []
    preds: dict[tuple[str, ...] | int, list[Any]] = {}
    ids: dict[tuple[str, ...] | int, list[str | None]] = {}
    for where, raw in files:
        out.files += 1
        lines = raw.split(b"\n")
        if lines and lines[-1] != b"":
            lines[-1] = b""  # a line without its newline is still being written: read it next time
        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
                when = parse_time(rec["eventMetadata"]["inferenceTime"])
                if not since <= when <= until:
                    continue
                capture = rec["captureData"]
                mime, text = _body(capture["endpointInput"])
                names, rows = _rows(mime, text, columns)
                output = capture.get("endpointOutput")
                predicted = _predictions(*_body(output)) if output else []
                inference_id = rec["eventMetadata"].get("inferenceId")
            except (ValueError, KeyError, TypeError, IndexError, AttributeError, pd.errors.ParserError) as exc:
                detail = (
                    exc.args[0]
                    if isinstance(exc, KeyError)
                    else str(exc).splitlines()[0]
                    if str(exc)
                    else type(exc).__name__
                )
                what = f"missing key {detail!r}" if isinstance(exc, KeyError) else detail
                raise BadInput(f"{where}:{number}: not a SageMaker data-capture record ({what}); {FIX}") from None
            out.records += 1
            key: tuple[str, ...] | int
            if names is None:  # a CSV body: already a frame
                key = len(frames)
                frames.append(rows)
                n = len(rows)
            else:
                key = tuple(names)
                groups.setdefault(key, []).extend(rows)
                n = len(rows)
            preds.setdefault(key, []).extend(predicted if len(predicted) == n else [None] * n)
            ids.setdefault(key, []).extend([inference_id] * n)
    for key, rows in groups.items():
        out.parts.append(pd.DataFrame(rows, columns=list(key)))
        out.predictions.extend(preds[key])
        out.ids.extend(ids[key])
    for i, frame in enumerate(frames):
        out.parts.append(frame)
        out.predictions.extend(preds[i])
        out.ids.extend(ids[i])
    return out
