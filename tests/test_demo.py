"""`mlgitops demo`, end to end as a newcomer runs it: scaffold, pipeline, promote by commit, serve, score, stop."""

from __future__ import annotations

import os
import re
import subprocess
import urllib.error
import urllib.request

import pytest
import yaml
from pipeline_helpers import _no_run_id, cli  # noqa: F401


@pytest.mark.slow
def test_demo_runs_end_to_end_and_stops_its_server(tmp_path):
    root = tmp_path / "demo"
    # a fresh machine: git has no identity (the demo gives its repository one, or promotion could not commit)
    proc = cli(
        "demo",
        str(root),
        GIT_CONFIG_GLOBAL=os.devnull,
        GIT_CONFIG_NOSYSTEM="1",
        EMAIL=None,
        GIT_AUTHOR_NAME=None,
        GIT_AUTHOR_EMAIL=None,
        GIT_COMMITTER_NAME=None,
        GIT_COMMITTER_EMAIL=None,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr

    out = proc.stdout
    assert f"1. scaffolded the project template into {root} (git repository, first commit)" in out
    assert re.search(r"✓ report +\d+\.\d+s", proc.stderr)  # the pipeline's progress, one line per step
    pairs = re.search(r"5\. scored 5 holdout rows \(malignant: predicted / actual\): (.*)", out).group(1).split(", ")
    assert len(pairs) == 5 and all(re.fullmatch(r"[01]/[01]", p) for p in pairs)
    assert sum(p[0] == p[-1] for p in pairs) >= 4  # a good model
    committed = (root / "deploy" / "local.yaml").read_text()
    deployed = yaml.safe_load(committed)["models"]["classifier"]
    assert (
        deployed["artifact_uri"].startswith(".mlgitops/packages/classifier/") and str(root) not in committed
    )  # no path of this machine
    assert f"3. promoted classifier {deployed['digest'][:19]} to local: deploy/local.yaml, commit" in out
    log = subprocess.run(
        ["git", "log", "--format=%s", "-2"], cwd=root, capture_output=True, text=True
    ).stdout.splitlines()
    assert log == [f"promote: classifier {deployed['digest'][:19]} to local", "scaffold from the mlgitops template"]
    report = root / ".mlgitops" / "evidence" / "local" / "report.md"
    assert f"Report: {report}" in out and report.read_text().startswith("## ✅ mlgitops: PASS")

    # the demo ends by sending a shifted batch and catching it: one feature named, the evidence and report updated
    shifted = re.search(
        r"6\. sent 150 requests of 10 training rows with `(\w+)` shifted by two standard deviations", out
    ).group(1)
    assert (
        "7. mlgitops monitor --env local" in out and f"caught the shift of {shifted} (exit code 1 from the CLI)" in out
    )
    monitored = yaml.safe_load((root / ".mlgitops" / "evidence" / "local" / "monitor" / "classifier.json").read_text())
    assert monitored["drifted"] is True and [f["name"] for f in monitored["features"] if f["drifted"]] == [shifted]
    assert (
        f"| `{shifted}` |" in report.read_text()
        and "### Monitoring: served traffic vs training data" in report.read_text()
    )
    captured = list((root / ".mlgitops" / "capture" / "local").rglob("*.jsonl"))
    assert (
        captured
        and subprocess.run(
            ["git", "status", "--porcelain", "--ignored=no"], cwd=root, capture_output=True, text=True
        ).stdout
        == ""
    )  # captured traffic stays out of git

    url = re.search(r"4\. serving it at (http://127\.0\.0\.1:\d+)/invocations", out).group(1)
    with pytest.raises(urllib.error.URLError):
        urllib.request.urlopen(url + "/ping", timeout=2)  # stopped


def test_demo_refuses_a_directory_in_use(tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    proc = cli("demo", str(tmp_path))
    assert proc.returncode == 2 and "already exists and is not an empty directory" in proc.stderr
    assert [p.name for p in tmp_path.iterdir()] == ["notes.txt"]
