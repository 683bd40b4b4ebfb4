"""Servers on 127.0.0.1 for tests and benchmarks: a moto server (real AWS APIs: S3, KMS, ... over HTTP, no AWS
account), and the wait for any server the tests start to answer."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path


@contextlib.contextmanager
def moto_server() -> Iterator[str]:
    """Start `moto_server`, point this process's (and its children's) boto3 and MLflow at it; stop it and restore after."""
    from mlgitops.serving import free_port

    port = free_port()
    server = subprocess.Popen(
        [str(Path(sys.executable).with_name("moto_server")), "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_answers(url, server, 60)
    except RuntimeError:
        server.kill()
        raise
    env = {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "eu-west-1",
        "AWS_ENDPOINT_URL": url,
        "MLFLOW_S3_ENDPOINT_URL": url,
    }
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        yield url
    finally:
        server.terminate()
        server.wait(10)
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def wait_until_answers(url: str, proc: subprocess.Popen, timeout: float) -> None:
    """Return once `url` answers HTTP; RuntimeError when `proc` exits first or `timeout` seconds pass."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            urllib.request.urlopen(url, timeout=2).close()
            return
        except OSError:
            if time.monotonic() > deadline or proc.poll() is not None:
                raise RuntimeError(f"{url} did not answer (exit code {proc.poll()})") from None
            time.sleep(0.2)
