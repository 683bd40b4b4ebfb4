"""The local scoring server serves the promoted version and answers like in-process predict."""

from __future__ import annotations

import pandas as pd
import pytest
from gitops_helpers import FEATURES, MODEL, make_registry, stack_buckets

from mlgitops.errors import BadInput
from mlgitops.gitops import promote
from mlgitops.serving import predict, read_rows, served_version, start


@pytest.fixture(scope="module")
def served(tmp_path_factory, moto_s3):
    reg = make_registry(tmp_path_factory.mktemp("serving"))
    stack_buckets(reg.root)
    cfg = reg.config("staging")
    promote(cfg, MODEL, version=2, force=True)
    name, entry, path = served_version(cfg, None)
    server = start(path, cfg.tracking_uri())
    yield reg, cfg, entry, server
    server.stop()
    assert server.process.poll() is not None


def test_server_matches_in_process_predict(served):
    import mlflow.pyfunc

    reg, cfg, entry, server = served
    assert entry.version == "2" and server.url.startswith("http://127.0.0.1:")
    rows = pd.read_csv(reg.root / "data" / "holdout.csv")[FEATURES].astype("float64")
    mlflow.set_tracking_uri(cfg.tracking_uri())
    local = mlflow.pyfunc.load_model(entry.model_uri).predict(rows)
    remote = predict(server.url, rows)
    assert len(remote) == len(rows) == 300
    assert list(remote) == [int(x) for x in local]
    assert len(set(remote)) == 2  # a real classifier, not a constant


def test_predict_from_csv_file_drops_target(served):
    reg, cfg, entry, server = served
    frame = read_rows(reg.root / "data" / "holdout.csv", drop="churned")
    assert "churned" not in frame.columns
    assert len(predict(server.url, frame[FEATURES].head(5))) == 5


def test_bad_rows_and_files_are_bad_input(served, tmp_path):
    reg, cfg, entry, server = served
    with pytest.raises(BadInput, match="rejected"):
        predict(server.url, pd.DataFrame({"nope": ["x"]}))
    with pytest.raises(BadInput, match="no such file"):
        read_rows(tmp_path / "missing.csv")
    (tmp_path / "rows.txt").write_text("a\n")
    with pytest.raises(BadInput, match="unsupported file type"):
        read_rows(tmp_path / "rows.txt")


def test_nothing_promoted_is_bad_input(served):
    reg, cfg, entry, server = served
    with pytest.raises(BadInput, match="has not been promoted to prod"):
        served_version(reg.config("prod"), MODEL)


def test_serve_command_prints_url_and_stops_cleanly_on_ctrl_c(served):
    import signal
    import subprocess
    import sys
    import urllib.request

    reg, cfg, entry, server = served
    proc = subprocess.Popen(
        [sys.executable, "-m", "mlgitops", "--project", str(reg.root), "serve", "--env", "staging"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        line = proc.stdout.readline()
        assert line.startswith(f"serving {MODEL} {entry.digest[:19]} (staging) at http://127.0.0.1:"), line
        url = line.split(" at ")[1].strip().removesuffix("/invocations")
        assert urllib.request.urlopen(url + "/ping", timeout=5).status == 200
        proc.send_signal(signal.SIGINT)
        assert proc.wait(30) == 130
    finally:
        if proc.poll() is None:  # SIGINT, not SIGKILL, so the CLI still stops the server's process group
            proc.send_signal(signal.SIGINT)
            proc.wait(30)
    with pytest.raises(OSError):  # the server's whole process group is gone
        urllib.request.urlopen(url + "/ping", timeout=2)
