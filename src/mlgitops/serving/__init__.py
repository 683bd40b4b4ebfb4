"""Local scoring endpoint for the version in deploy/<env>.yaml, via MLflow's own scoring server.

We run MLflow's scoring app under uvicorn on 127.0.0.1, as `mlflow models serve --env-manager local` does (the
same app the SageMaker image runs), so local predictions match the endpoint's; `mlgitops.serving.app` adds data
capture around it when the model's endpoint captures (`mlgitops.serving.capture`). The server gets its own
process group and is stopped as a whole (uvicorn workers included).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlgitops.errors import BadInput

if TYPE_CHECKING:
    from mlgitops.config import Project
    from mlgitops.evidence import DeployEntry


@dataclass
class Server:
    url: str
    model_uri: str
    process: subprocess.Popen
    log: Any = None
    relay: _Relay | None = None

    def stop(self, timeout: float = 10) -> None:
        """SIGTERM the whole process group, SIGKILL after `timeout`; return only once the port is closed.

        The `mlflow` CLI exits before its uvicorn child has finished shutting down, so waiting for the
        group leader alone would leave the port answering for a moment after we say the server stopped.
        """
        deadline = time.monotonic() + timeout
        try:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(timeout)
            while _listening(self.url) and time.monotonic() < deadline:
                time.sleep(0.05)
            if _listening(self.url):
                raise subprocess.TimeoutExpired(self.process.args, timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
            while _listening(self.url) and time.monotonic() < deadline + timeout:
                time.sleep(0.05)
        except ProcessLookupError:
            pass
        finally:
            if self.log is not None:
                self.log.close()

    def wait(self) -> int:
        """Block until the server exits; Ctrl-C or SIGTERM stop it (and its workers) before returning."""

        def _term(*_: object) -> None:
            raise KeyboardInterrupt

        previous = signal.signal(signal.SIGTERM, _term)
        try:
            return self.process.wait()
        finally:
            self.stop()
            signal.signal(signal.SIGTERM, previous)

    def __enter__(self) -> Server:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def served_version(config: Project, model: str | None) -> tuple[str, DeployEntry, str]:
    """(model name, deploy entry, verified local model directory) of the model to serve in `config.env`; BadInput when
    nothing is promoted, or when its package is not the model the file records."""
    from mlgitops.bucket import model_dir
    from mlgitops.evidence.state import path_for, read

    if model is None:
        if len(config.models) != 1:
            raise BadInput(
                f"mlgitops.yaml declares {len(config.models)} models; pick one with --model ({', '.join(config.models)})"
            )
        model = next(iter(config.models))
    config.select_models(model)
    entry = read(config.root, config.env).models.get(model)
    if entry is None:
        raise BadInput(
            f"{path_for(config.root, config.env)}: '{model}' has not been promoted to {config.env}; run `mlgitops promote --env {config.env} --model {model}` first"
        )
    return model, entry, str(model_dir(config, model, entry.digest, entry.artifact_uri, f"deploy/{config.env}.yaml"))


def _listening(url: str) -> bool:
    """Whether something still accepts connections on the server's 127.0.0.1 port."""
    try:
        with socket.create_connection(("127.0.0.1", int(url.rsplit(":", 1)[1])), timeout=0.5):
            return True
    except OSError:
        return False


class _Relay:
    """The server's output, held back until it answers (a failed start is then told in one line, not as a
    traceback), copied to our stderr after that. A thread drains the pipe so the server never blocks on it."""

    def __init__(self, stream: Any) -> None:
        self.lines: list[bytes] = []
        self.live = False
        self.lock = threading.Lock()
        self.thread = threading.Thread(target=self._run, args=(stream,), daemon=True)
        self.thread.start()

    def _run(self, stream: Any) -> None:
        for line in iter(stream.readline, b""):
            with self.lock:
                if self.live:
                    _to_stderr(line)
                else:
                    self.lines = [*self.lines[-199:], line]
        stream.close()

    def go_live(self) -> None:
        with self.lock:
            for line in self.lines:
                _to_stderr(line)
            self.live = True

    def text(self) -> str:
        self.thread.join(2)
        with self.lock:
            return b"".join(self.lines).decode(errors="replace")


def _to_stderr(line: bytes) -> None:
    with contextlib.suppress(OSError, ValueError):
        sys.stderr.buffer.write(line)
        sys.stderr.flush()


def failure_reason(output: str) -> str:
    """The one line of a failed server start that says why (not its traceback)."""
    lines = [ln.strip() for ln in output.splitlines() if ln.strip()]
    if any("address already in use" in ln.lower() for ln in lines):
        return "address already in use"
    for ln in reversed(lines):
        if "Error" in ln or "Exception" in ln or "ERROR" in ln:
            return ln[:300]
    return lines[-1][:300] if lines else "no output"


def check_port(port: int) -> None:
    """A port we can listen on at 127.0.0.1, checked before the server starts (its own error is a traceback)."""
    if not 1 <= port <= 65535:
        raise BadInput(f"--port {port}: not a TCP port; use 1-65535 (or leave --port out for a free one)")
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn does: a port in TIME_WAIT is free
        try:
            s.bind(("127.0.0.1", port))
        except OSError as exc:
            raise BadInput(
                f"--port {port}: 127.0.0.1:{port} is not free ({(exc.strerror or str(exc)).lower()}); "
                "stop what uses it or pick another port"
            ) from None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def capture_for(config: Project, model: str) -> tuple[Path | None, int]:
    """(capture folder, sample percent) of `model`'s local endpoint in `config.env`; (None, 0) when it captures nothing."""
    from mlgitops.serving.capture import capture_dir

    return capture_dir(config, model), config.models[model].serving.data_capture.sample_percent


def start(
    model_uri: str,
    tracking_uri: str,
    port: int | None = None,
    workers: int = 1,
    timeout: float = 120,
    quiet: bool = True,
    capture: Path | None = None,
    sample_percent: float = 100,
) -> Server:
    """Start the scoring server on 127.0.0.1 and return once GET /ping answers 200; with `capture`, it records
    `sample_percent` of the requests it serves there (SageMaker's data-capture format)."""
    from mlgitops.serving.capture import DIR_ENV, PERCENT_ENV

    if port is not None:
        check_port(port)
    port = port or free_port()
    path = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    local = Path(model_uri)
    env = {
        **os.environ,
        "PATH": path,
        "MLFLOW_TRACKING_URI": tracking_uri,
        "MLFLOW_REGISTRY_URI": tracking_uri,
        "__pyfunc_model_path__": local.resolve().as_uri() if local.exists() else model_uri,
    }  # MLflow's scoring_server._SERVER_MODEL_PATH
    env.pop(DIR_ENV, None)
    if capture is not None:
        env.update({DIR_ENV: str(capture), PERCENT_ENV: str(sample_percent)})
    cmd = [
        sys.executable,
        "-m",
        "uvicorn",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        str(workers),
        "mlgitops.serving.app:app",
    ]
    # Server logs never go to our stdout (reserved for results/--json). Quiet: to a temp file (not a pipe,
    # which would fill up and block the server), read back only if it fails to start.
    log = tempfile.TemporaryFile() if quiet else None
    proc = subprocess.Popen(
        cmd,
        env=env,
        stdout=log if quiet else subprocess.PIPE,
        stderr=log if quiet else subprocess.STDOUT,
        start_new_session=True,
    )
    server = Server(f"http://127.0.0.1:{port}", model_uri, proc, log, None if quiet else _Relay(proc.stdout))
    try:
        wait_ready(server, timeout)
        if server.relay is not None:
            server.relay.go_live()
    except BaseException:
        server.stop()
        raise
    return server


def wait_ready(server: Server, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            tail = ""
            if server.log is not None:
                server.log.seek(0)
                tail = server.log.read().decode(errors="replace")[-20000:]
            elif server.relay is not None:
                tail = server.relay.text()
            raise BadInput(
                f"the scoring server for {server.model_uri} exited with {server.process.returncode}: {failure_reason(tail)}"
            )
        try:
            with urllib.request.urlopen(server.url + "/ping", timeout=2) as r:
                if r.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.2)
    raise BadInput(f"the scoring server for {server.model_uri} did not answer {server.url}/ping within {timeout:.0f}s")


def payload(frame: Any) -> bytes:
    """MLflow's `dataframe_split` request body for a pandas DataFrame."""
    return json.dumps({"dataframe_split": json.loads(frame.to_json(orient="split", index=False))}).encode()


def predict(url: str, frame: Any, timeout: float = 60) -> list[Any]:
    """POST rows to /invocations and return the predictions list."""
    req = urllib.request.Request(
        url.rstrip("/") + "/invocations", data=payload(frame), headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            body = json.loads(r.read())
    except urllib.error.HTTPError as exc:
        raise BadInput(
            f"{url}/invocations rejected the rows ({exc.code}): {exc.read().decode(errors='replace')[:1000]}"
        ) from None
    except urllib.error.URLError as exc:
        raise BadInput(f"cannot reach {url}: {exc.reason}; start it with `mlgitops serve`") from None
    return body["predictions"] if isinstance(body, dict) else body


def read_rows(path: Path, drop: str | None = None) -> Any:
    """Rows to score from a .csv, .json (records) or .parquet file; the target column, if present, is dropped."""
    import pandas as pd

    if not path.is_file():
        raise BadInput(f"{path}: no such file; pass a .csv, .json or .parquet file of rows")
    readers = {".csv": pd.read_csv, ".json": lambda p: pd.read_json(p, orient="records"), ".parquet": pd.read_parquet}
    reader = readers.get(path.suffix.lower())
    if reader is None:
        raise BadInput(f"{path}: unsupported file type '{path.suffix}'; use .csv, .json (records) or .parquet")
    try:
        frame = reader(path)
    except ValueError as exc:
        raise BadInput(f"{path}: cannot read rows: {exc}") from None
    return frame.drop(columns=[drop]) if drop and drop in frame.columns else frame


@dataclass(frozen=True)
class Predictions:
    """What `mlgitops predict` got: a prediction per row from the model `deploy/<env>.yaml` serves."""

    model: str
    digest: str
    version: str | None
    predictions: list[Any]

    def to_dict(self) -> dict[str, Any]:
        return {"model": self.model, "digest": self.digest, "version": self.version, "predictions": self.predictions}


def score(config: Project, model: str | None, rows: Path, url: str | None = None) -> Predictions:
    """Score the rows of a file with the promoted model: at `url` (a running `mlgitops serve`), else on a server
    started for this call and stopped after it (capturing the requests as the endpoint would)."""
    name, entry, path = served_version(config, model)
    frame = read_rows(rows, drop=config.models[name].target)
    if url:
        return Predictions(name, entry.digest, entry.version, predict(url, frame))
    folder, percent = capture_for(config, name)
    with start(path, config.tracking_uri(), capture=folder, sample_percent=percent) as server:
        return Predictions(name, entry.digest, entry.version, predict(server.url, frame))


def render_text(result: Predictions) -> str:
    """A prediction per line."""
    return "".join(f"{p}\n" for p in result.predictions)
