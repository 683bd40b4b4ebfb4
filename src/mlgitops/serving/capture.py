"""Data capture of the local endpoint, in SageMaker's own format, so `mlgitops monitor` reads local and cloud
traffic alike.

A record is one JSON line: `captureData.endpointInput` / `endpointOutput` (`observedContentType`, `mode`,
`data`, `encoding`: CSV and JSON bodies as text, anything else base64, as SageMaker does with the content types
our endpoint configuration declares), `eventMetadata` (`eventId`, `inferenceTime`, and `inferenceId` when the
request carried an `X-Amzn-SageMaker-Inference-Id` header) and `eventVersion`. Files go under
`.mlgitops/capture/<env>/<endpoint-name>/<variant>/YYYY/MM/DD/HH/`, the layout SageMaker writes below an
endpoint's capture destination, named `<MM>-<SS>-<mmm>-<uuid>.jsonl` like SageMaker's.

The request path pays for a coin toss and, when sampled, one `json.dumps`; a thread writes the buffered lines
every second (and at exit), so serving never waits on the disk.
"""

from __future__ import annotations

import atexit
import base64
import datetime as dt
import json
import os
import random
import threading
import uuid
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mlgitops.config import Project

VARIANT = (
    "AllTraffic"  # the production variant `mlgitops.infra.serving` declares (tests/test_monitor.py checks they agree)
)
INFERENCE_ID_HEADER = "x-amzn-sagemaker-inference-id"
EVENT_VERSION = "0"
DIR_ENV, PERCENT_ENV = (
    "MLGITOPS_CAPTURE_DIR",
    "MLGITOPS_CAPTURE_PERCENT",
)  # how `serving.start` tells the server process


def endpoint_dir(root: Path, env: str, endpoint: str, variant: str = VARIANT) -> Path:
    """Where the local endpoint `endpoint` of `env` writes: `.mlgitops/capture/<env>/<endpoint>/<variant>/`."""
    return Path(root) / ".mlgitops" / "capture" / env / endpoint / variant


def capture_dir(config: Project, model: str) -> Path | None:
    """The capture folder of `model`'s local endpoint in `config.env`; None when its data capture is off."""
    if not config.models[model].serving.data_capture.enabled:
        return None
    return endpoint_dir(config.root, config.env, config.name(model))


def hour_dir(when: dt.datetime) -> str:
    """`YYYY/MM/DD/HH` of a UTC time: the partition SageMaker files a record under."""
    return when.strftime("%Y/%m/%d/%H")


def _payload(data: bytes, content_type: str, mode: str) -> dict[str, str]:
    """One side of a record; CSV and JSON as text (SageMaker's CaptureContentTypeHeader), the rest base64."""
    mime = content_type.split(";", 1)[0].strip().lower()
    encoding = "CSV" if mime == "text/csv" else "JSON" if mime == "application/json" else "BASE64"
    if encoding != "BASE64":
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            encoding = "BASE64"
    if encoding == "BASE64":
        text = base64.b64encode(data).decode("ascii")
    return {"observedContentType": content_type, "mode": mode, "data": text, "encoding": encoding}


def record(
    request: bytes,
    request_type: str,
    response: bytes,
    response_type: str,
    when: dt.datetime,
    inference_id: str | None = None,
    event_id: str | None = None,
) -> dict[str, Any]:
    """A SageMaker data-capture record of one request and its response."""
    meta = {"eventId": event_id or str(uuid.uuid4())}
    if inference_id:
        meta["inferenceId"] = inference_id
    meta["inferenceTime"] = when.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}Z"
    return {
        "captureData": {
            "endpointInput": _payload(request, request_type, "INPUT"),
            "endpointOutput": _payload(response, response_type, "OUTPUT"),
        },
        "eventMetadata": meta,
        "eventVersion": EVENT_VERSION,
    }


class Writer:
    """Buffered JSON Lines under one endpoint's capture folder: `add` only appends to a list; a thread writes
    whole lines every `interval` seconds, one file per process and hour (several workers never share a file)."""

    def __init__(self, folder: Path, interval: float = 1.0) -> None:
        self.folder = Path(folder)
        self.pending: list[tuple[str, str]] = []
        self.files: dict[str, Path] = {}
        self.lock = threading.Lock()
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._run, args=(interval,), name="mlgitops-capture", daemon=True)
        self.thread.start()
        atexit.register(self.close)

    def add(self, rec: dict[str, Any], when: dt.datetime) -> None:
        line = json.dumps(rec, separators=(",", ":")) + "\n"
        with self.lock:
            self.pending.append((hour_dir(when), line))

    def _run(self, interval: float) -> None:
        while not self.stopped.wait(interval):
            self.flush()

    def flush(self) -> None:
        """Append what is pending, each hour's lines in one write (a reader sees whole lines)."""
        with self.lock:
            pending, self.pending = self.pending, []
        by_hour: dict[str, list[str]] = {}
        for hour, line in pending:
            by_hour.setdefault(hour, []).append(line)
        for hour, lines in by_hour.items():
            path = self.files.get(hour)
            if path is None:
                now = dt.datetime.now(dt.UTC)
                path = self.folder / hour / f"{now:%M-%S}-{now.microsecond // 1000:03d}-{uuid.uuid4()}.jsonl"
                path.parent.mkdir(parents=True, exist_ok=True)
                self.files = {hour: path}  # one open hour at a time: older ones are complete
            fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                os.write(fd, "".join(lines).encode())
            finally:
                os.close(fd)

    def close(self) -> None:
        self.stopped.set()
        self.flush()


Scope = dict[str, Any]
Message = dict[str, Any]
ASGIApp = Callable[[Scope, Callable[[], Awaitable[Message]], Callable[[Message], Awaitable[None]]], Awaitable[None]]


class CaptureMiddleware:
    """ASGI middleware around MLflow's scoring app: a sampled successful POST /invocations is recorded with its response."""

    def __init__(self, app: ASGIApp, writer: Writer, percent: float, coin: Callable[[], float] = random.random) -> None:
        self.app, self.writer, self.percent, self.coin = app, writer, percent, coin

    async def __call__(
        self, scope: Scope, receive: Callable[[], Awaitable[Message]], send: Callable[[Message], Awaitable[None]]
    ) -> None:
        if scope["type"] != "http" or scope.get("path") != "/invocations" or self.coin() * 100 >= self.percent:
            await self.app(scope, receive, send)
            return
        request: list[bytes] = []
        response: list[bytes] = []
        started: dict[str, Any] = {}

        async def receive_and_keep() -> Message:
            message = await receive()
            if message["type"] == "http.request":
                request.append(message.get("body", b""))
            return message

        async def send_and_keep(message: Message) -> None:
            if message["type"] == "http.response.start":
                started.update(status=message["status"], headers=message.get("headers") or [])
            elif message["type"] == "http.response.body":
                response.append(message.get("body", b""))
            await send(message)

        await self.app(scope, receive_and_keep, send_and_keep)
        if started.get("status") != 200:
            return  # a refused request is the client's problem, not traffic the model served
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers") or []}
        out_type = next(
            (v.decode("latin-1") for k, v in started["headers"] if k.lower() == b"content-type"), "application/json"
        )
        when = dt.datetime.now(dt.UTC)
        self.writer.add(
            record(
                b"".join(request),
                headers.get("content-type", "application/json"),
                b"".join(response),
                out_type,
                when,
                headers.get(INFERENCE_ID_HEADER),
            ),
            when,
        )


def wrap(app: ASGIApp, environ: Mapping[str, str] = os.environ) -> ASGIApp:
    """`app` with capture when the server was started with a capture folder (`DIR_ENV`), else `app` itself."""
    folder = environ.get(DIR_ENV)
    if not folder:
        return app
    return CaptureMiddleware(app, Writer(Path(folder)), float(environ.get(PERCENT_ENV, "100")))
