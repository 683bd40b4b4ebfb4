"""Monitoring against a real served model: the local endpoint captures what it serves in SageMaker's format, and
`mlgitops monitor` compares it with the training data the promoted model was trained on."""

from __future__ import annotations

import datetime as dt
import json
import re
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pandas as pd
import pytest
from gitops_helpers import FEATURES, MODEL, make_registry, write_evidence

from mlgitops.errors import BadInput

SERVED = pytest.mark.slow  # these start the scoring server of a promoted model

# A record as SageMaker documents it ("Data capture": the captured data's format; the Model Monitor examples).
SAGEMAKER_RECORD = (
    '{"captureData":{"endpointInput":{"observedContentType":"text/csv","mode":"INPUT","data":"3,74.65,0","encoding":"CSV"},'
    '"endpointOutput":{"observedContentType":"text/csv; charset=utf-8","mode":"OUTPUT","data":"1","encoding":"CSV"}},'
    '"eventMetadata":{"eventId":"8f45e35c-fa44-40d2-8ed3-1bcab3a596f3","inferenceId":"abc-1","inferenceTime":"2020-07-30T13:36:30Z"},'
    '"eventVersion":"0"}'
)
# Below the capture destination: <endpoint-name>/<variant-name>/yyyy/mm/dd/hh/<file>.jsonl
SAGEMAKER_PATH = re.compile(
    r"^(?P<endpoint>[^/]+)/(?P<variant>[^/]+)/\d{4}/\d{2}/\d{2}/\d{2}/\d{2}-\d{2}-\d{3}-[0-9a-f-]{36}\.jsonl$"
)


def sha256(path: Path) -> str:
    import hashlib

    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """The example promoted to `local` from a pipeline run's evidence (its training-data digest recorded), served with
    data capture on at 100% so every request is a record."""
    from mlgitops.evidence import Run
    from mlgitops.gitops import promote
    from mlgitops.serving import capture_for, served_version, start

    reg = make_registry(tmp_path_factory.mktemp("monitor"))
    write_evidence(reg.root, "2", env="local", target="local")
    run = Run(reg.root / ".mlgitops" / "evidence" / "local")
    digests = {"train": sha256(reg.root / "data" / "train.csv"), "holdout": sha256(reg.root / "data" / "holdout.csv")}
    for ds in ("train", "holdout"):  # the gate's digests of the real files, as `pipeline pr` records them
        run.write(run.data(ds).model_copy(update={"digest": digests[ds]}))
    run.write(run.training(MODEL).model_copy(update={"dataset_digests": digests}))
    config = reg.config("local")
    promote(config, MODEL)
    _, entry, path = served_version(config, MODEL)
    folder, percent = capture_for(config, MODEL)
    assert (
        percent == 20
        and folder == reg.root / ".mlgitops" / "capture" / "local" / "churn-local-churn-classifier" / "AllTraffic"
    )
    server = start(path, config.tracking_uri(), capture=folder, sample_percent=100)
    yield reg, config, entry, server, folder
    server.stop()


def post(url: str, body: bytes, content_type: str, inference_id: str | None = None) -> bytes:
    headers = {
        "Content-Type": content_type,
        **({"X-Amzn-SageMaker-Inference-Id": inference_id} if inference_id else {}),
    }
    with urllib.request.urlopen(
        urllib.request.Request(url + "/invocations", data=body, headers=headers), timeout=60
    ) as r:
        return r.read()


def send(url: str, frame: pd.DataFrame, per_request: int = 10, ids: str | None = None) -> int:
    """Rows in requests of every format MLflow's server takes, in turn; returns the number of requests."""
    formats = ["split", "records", "inputs", "csv"]
    n = 0
    for n, start in enumerate(range(0, len(frame), per_request), 1):
        part = frame.iloc[start : start + per_request]
        kind = formats[n % len(formats)]
        inference_id = f"{ids}-{n}" if ids else None
        if kind == "csv":
            post(url, part.to_csv(index=False).encode(), "text/csv", inference_id)
            continue
        body = {
            "split": {"dataframe_split": json.loads(part.to_json(orient="split", index=False))},
            "records": {"dataframe_records": json.loads(part.to_json(orient="records"))},
            "inputs": {"inputs": {c: part[c].tolist() for c in part.columns}},
        }[kind]
        post(url, json.dumps(body).encode(), "application/json", inference_id)
    return n


def records(folder: Path) -> list[tuple[Path, dict]]:
    return [
        (p, json.loads(line)) for p in sorted(folder.rglob("*.jsonl")) for line in p.read_text().splitlines() if line
    ]


def wait_for(folder: Path, count: int, timeout: float = 20) -> None:
    """The writer flushes every second: wait until `count` records are on disk."""
    deadline = time.monotonic() + timeout
    while len(records(folder)) < count:
        assert time.monotonic() < deadline, f"{len(records(folder))} of {count} records captured"
        time.sleep(0.2)


def monitor(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mlgitops", "--project", str(root), "monitor", "--env", "local", *args],
        capture_output=True,
        text=True,
        timeout=300,
    )


def now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def holdout(root: Path) -> pd.DataFrame:
    return pd.read_csv(root / "data" / "holdout.csv")[FEATURES].astype("float64")


@SERVED
def test_normal_holdout_traffic_is_not_drift(served):
    reg, config, entry, server, folder = served
    since, before = now(), len(records(folder))
    sent = send(server.url, holdout(reg.root))
    wait_for(folder, before + sent)
    out = monitor(reg.root, "--since", since, "--json")
    assert out.returncode == 0, out.stderr + out.stdout
    doc = json.loads(out.stdout)
    assert doc["drifted"] is False and doc["rows"] == 300 and doc["records"] == sent
    assert {f["name"] for f in doc["features"]} == set(FEATURES)
    for f in doc["features"]:
        assert set(f) >= {"name", "drifted", "psi", "p_value", "reference_n", "live_n"}
        assert f["reference_n"] == 800 and f["live_n"] == 300 and f["psi"] < 0.2
    assert doc["prediction"]["drifted"] is False and doc["schema_failures"] == []
    assert any("contract" in n for n in doc["notes"])  # a training column the model does not take: said, not compared
    saved = json.loads((reg.root / ".mlgitops" / "evidence" / "local" / "monitor" / f"{MODEL}.json").read_text())
    assert saved["kind"] == "MonitorReport" and saved["drifted"] is False


@SERVED
def test_one_shifted_feature_is_exit_1_naming_that_feature_only(served):
    reg, config, entry, server, folder = served
    shifted = holdout(reg.root)
    shifted["monthly_charges"] = shifted["monthly_charges"] * 1.6 + 25
    since, before = now(), len(records(folder))
    sent = send(server.url, shifted, per_request=15)
    wait_for(folder, before + sent)
    out = monitor(reg.root, "--since", since, "--json")
    assert out.returncode == 1, out.stderr + out.stdout
    doc = json.loads(out.stdout)
    assert doc["drifted"] is True
    assert [f["name"] for f in doc["features"] if f["drifted"]] == ["monthly_charges"]
    assert doc["features"][0]["name"] == "monthly_charges"  # drifted first
    plot = reg.root / ".mlgitops" / "evidence" / "local" / doc["features"][0]["plot"]
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    text = monitor(reg.root, "--since", since)
    assert text.returncode == 1 and text.stdout.startswith(f"DRIFT {MODEL}") and "monthly_charges" in text.stdout
    assert re.search(r"monthly_charges .* DRIFTED", text.stdout) and not re.search(
        r"(tenure_months|support_tickets) .* DRIFTED", text.stdout
    )

    from mlgitops.evidence import Run
    from mlgitops.report import build, render

    md = render(build(Run(reg.root / ".mlgitops" / "evidence" / "local"), reg.root))
    section = md[md.index("### Monitoring: served traffic vs training data") :]
    assert "| ❌ `churn-classifier` | `local` |" in section and "| `monthly_charges` |" in section
    rows = [
        ln
        for ln in section.splitlines()
        if ln.startswith("| ") and ("✅ `" in ln or "❌ `" in ln) and "`local`" not in ln
    ]
    assert rows[0].startswith("| ❌ `monthly_charges` |")  # drifted first
    assert f"![monthly_charges: reference vs live]({doc['features'][0]['plot']})" in section


@SERVED
def test_nothing_captured_or_promoted_is_exit_2(served, tmp_path):
    reg, config, entry, server, folder = served
    out = monitor(reg.root, "--capture", str(tmp_path))
    assert out.returncode == 2 and "nothing captured since" in out.stderr and "Traceback" not in out.stderr
    future = (dt.datetime.now(dt.UTC) + dt.timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M:%SZ")
    out = monitor(reg.root, "--since", future)
    assert out.returncode == 2 and "nothing captured since" in out.stderr
    out = subprocess.run(
        [sys.executable, "-m", "mlgitops", "--project", str(reg.root), "monitor", "--env", "staging"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 2 and "has not been promoted to staging" in out.stderr
    out = monitor(reg.root, "--since", "yesterday")
    assert out.returncode == 2 and "--since yesterday" in out.stderr


@SERVED
def test_a_malformed_capture_line_is_named_by_file_and_line(served, tmp_path):
    reg, config, entry, server, folder = served
    before = len(records(folder))
    wait_for(folder, before + send(server.url, holdout(reg.root).head(20), per_request=5))
    copy = tmp_path / "capture"
    shutil.copytree(folder, copy)
    victim = sorted(copy.rglob("*.jsonl"))[-1]
    lines = victim.read_text().splitlines(keepends=True)
    broken = json.loads(lines[-1])
    del broken["captureData"]["endpointInput"]["data"]
    victim.write_text("".join([*lines, json.dumps(broken) + "\n", lines[0]]))
    out = monitor(reg.root, "--capture", str(copy))
    assert out.returncode == 2, out.stderr
    assert f"{victim}:{len(lines) + 1}: not a SageMaker data-capture record (missing key 'data')" in out.stderr
    victim.write_text("".join([*lines, "{not json\n"]))
    out = monitor(reg.root, "--capture", str(copy))
    assert out.returncode == 2 and f"{victim}:{len(lines) + 1}:" in out.stderr and "Traceback" not in out.stderr


def _shape(value: object) -> object:
    """A JSON document's keys and value types, recursively."""
    if isinstance(value, dict):
        return {k: _shape(v) for k, v in value.items()}
    return type(value).__name__


@SERVED
def test_the_capture_has_sagemakers_record_shape_and_layout(served):
    reg, config, entry, server, folder = served
    before = len(records(folder))
    frame = holdout(reg.root).head(2)
    post(server.url, frame.to_csv(index=False).encode(), "text/csv", inference_id="abc-1")
    answer = post(
        server.url,
        json.dumps({"dataframe_split": json.loads(frame.to_json(orient="split", index=False))}).encode(),
        "application/json",
    )
    wait_for(folder, before + 2)
    captured = records(folder)
    csv_rec = next(r for _, r in captured if r["eventMetadata"].get("inferenceId") == "abc-1")
    documented = json.loads(SAGEMAKER_RECORD)
    assert _shape(csv_rec) == _shape(documented)  # the same keys, the same types, nothing more or less
    assert csv_rec["captureData"]["endpointInput"]["data"] == frame.to_csv(index=False)
    json_rec = [r for _, r in captured][-1]
    assert json_rec["captureData"]["endpointOutput"] == {
        "observedContentType": "application/json",
        "mode": "OUTPUT",
        "data": answer.decode(),
        "encoding": "JSON",
    }
    assert "inferenceId" not in json_rec["eventMetadata"]  # only when the request carries one
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z", json_rec["eventMetadata"]["inferenceTime"])
    for path, _ in captured:
        rel = path.relative_to(folder.parents[1]).as_posix()
        m = SAGEMAKER_PATH.match(rel)
        assert m and m["endpoint"] == "churn-local-churn-classifier" and m["variant"] == "AllTraffic", rel
    from mlgitops.infra.serving import VARIANT
    from mlgitops.serving.capture import VARIANT as CAPTURED

    assert CAPTURED == VARIANT  # the local layout is the endpoint's


def test_the_documented_record_is_read_headerless_csv_included(tmp_path):
    from mlgitops.monitoring.capture import local_files, read

    hour = tmp_path / "2020" / "07" / "30" / "13"
    hour.mkdir(parents=True)
    (hour / "36-30-350-8f45e35c-fa44-40d2-8ed3-1bcab3a596f3.jsonl").write_text(
        SAGEMAKER_RECORD + "\n" + SAGEMAKER_RECORD[:40]
    )
    since, until = dt.datetime(2020, 7, 30, 13, tzinfo=dt.UTC), dt.datetime(2020, 7, 30, 14, tzinfo=dt.UTC)
    seen = read(local_files(tmp_path, since, until), since, until, FEATURES)
    assert seen.records == 1  # the unfinished last line is a write under way, read next time
    assert seen.inputs().to_dict("records") == [{"tenure_months": 3, "monthly_charges": 74.65, "support_tickets": 0}]
    assert seen.predictions == ["1"] and seen.ids == ["abc-1"]
    assert (
        read(
            local_files(tmp_path, until, until + dt.timedelta(hours=1)), until, until + dt.timedelta(hours=1), FEATURES
        ).records
        == 0
    )


@SERVED
def test_capture_read_from_an_s3_prefix_gives_the_local_verdict(served, moto_s3):
    import boto3

    reg, config, entry, server, folder = served
    before = len(records(folder))
    wait_for(folder, before + send(server.url, holdout(reg.root), per_request=20))
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket="capture-test", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    for path in folder.rglob("*.jsonl"):
        s3.upload_file(
            str(path), "capture-test", f"data-capture/{MODEL}/{path.relative_to(folder.parents[1]).as_posix()}"
        )
    prefix = f"s3://capture-test/data-capture/{MODEL}/churn-local-churn-classifier/AllTraffic/"
    env_out = monitor(reg.root, "--capture", prefix, "--json")
    local_out = monitor(reg.root, "--json")
    assert env_out.returncode == local_out.returncode, env_out.stderr
    remote, local = json.loads(env_out.stdout), json.loads(local_out.stdout)
    assert remote["capture"] == prefix and local["capture"].startswith(".mlgitops/capture/local/")
    assert [(f["name"], f["psi"], f["live_n"]) for f in remote["features"]] == [
        (f["name"], f["psi"], f["live_n"]) for f in local["features"]
    ]


@SERVED
def test_a_reference_whose_bytes_changed_is_bad_input(served):
    from mlgitops.monitoring.reference import training_data

    reg, config, entry, server, folder = served
    frame, digest = training_data(config, MODEL, entry)
    assert len(frame) == 800 and digest == entry.data_digests["train"]
    with pytest.raises(
        BadInput,
        match=r"data/train.csv: its bytes \(sha256 [0-9a-f]{12}\) are not the training data of churn-classifier",
    ):
        training_data(config, MODEL, entry.model_copy(update={"data_digests": {"train": "sha256:" + "0" * 64}}))
    with pytest.raises(BadInput, match="records no training data digest"):
        training_data(config, MODEL, entry.model_copy(update={"data_digests": {}}))


def test_default_thresholds_leave_fresh_samples_of_the_training_distribution_alone_and_catch_a_shift():
    """30 features, 40 fresh samples each: not one false alarm; one shifted feature among them is caught alone."""
    import numpy as np

    from mlgitops.config.schema import Monitoring
    from mlgitops.monitoring import drift

    rng = np.random.default_rng(7)
    settings = Monitoring()
    names = [f"x{i}" for i in range(30)]
    ref = pd.DataFrame(
        {
            n: rng.normal(size=800) if i % 3 else rng.choice(["a", "b", "c"], 800, p=[0.5, 0.3, 0.2])
            for i, n in enumerate(names)
        }
    )
    for _ in range(40):
        live = pd.DataFrame(
            {
                n: rng.normal(size=150) if i % 3 else rng.choice(["a", "b", "c"], 150, p=[0.5, 0.3, 0.2])
                for i, n in enumerate(names)
            }
        )
        found = drift.verdicts(names, [drift.compare(ref[n], live[n], settings.bins) for n in names], settings)
        assert not [f.name for f in found if f.drifted]
    live["x4"] = live["x4"] + 1.0
    live["x3"] = rng.choice(["a", "b", "c"], 150, p=[0.2, 0.3, 0.5])
    found = drift.verdicts(names, [drift.compare(ref[n], live[n], settings.bins) for n in names], settings)
    assert sorted(f.name for f in found if f.drifted) == ["x3", "x4"] and {found[0].name, found[1].name} == {"x3", "x4"}
    few = drift.verdicts(["x4"], [drift.compare(ref["x4"], live["x4"].head(50), settings.bins)], settings)
    assert not few[0].drifted  # under monitoring.min_rows: no verdict from so few rows


def test_capture_samples_at_the_configured_percent_and_records_only_served_requests(tmp_path):
    import asyncio

    from mlgitops.serving.capture import CaptureMiddleware, Writer

    async def app(scope, receive, send):
        await receive()
        status = 200 if scope["path"] == "/invocations" and scope["method"] == "POST" else 400
        await send(
            {"type": "http.response.start", "status": status, "headers": [(b"content-type", b"application/json")]}
        )
        await send({"type": "http.response.body", "body": b'{"predictions": [1]}'})

    def call(mw, path="/invocations", method="POST"):
        async def receive():
            return {"type": "http.request", "body": b'{"inputs": [[1, 2, 3]]}', "more_body": False}

        async def send(message):
            pass

        asyncio.run(
            mw(
                {"type": "http", "path": path, "method": method, "headers": [(b"content-type", b"application/json")]},
                receive,
                send,
            )
        )

    writer = Writer(tmp_path, interval=3600)
    coins = iter([0.05, 0.25, 0.19, 0.5, 0.0])
    mw = CaptureMiddleware(app, writer, 20, coin=lambda: next(coins))
    for _ in range(4):
        call(mw)
    call(mw, method="GET")  # sampled, but refused: not served traffic
    writer.close()
    assert len(records(tmp_path)) == 2  # 0.05 and 0.19 are under 20%


@SERVED
def test_the_primary_metric_on_labelled_traffic_against_the_value_at_promotion(served, tmp_path):
    from mlgitops.monitoring import monitor as run_monitor

    reg, config, entry, server, folder = served
    frame = pd.read_csv(reg.root / "data" / "holdout.csv")
    since, before = now(), len(records(folder))
    sent = send(server.url, frame[FEATURES].astype("float64"), per_request=1, ids="live")
    wait_for(folder, before + sent)
    labels = pd.DataFrame({"inference_id": [f"live-{i + 1}" for i in range(len(frame))], "churned": frame["churned"]})
    labels.to_csv(tmp_path / "labels.csv", index=False)
    labelled = config.model_copy(
        update={"monitoring": config.monitoring.model_copy(update={"ground_truth": str(tmp_path / "labels.csv")})}
    )
    report = run_monitor(labelled, MODEL, since)
    m = report.metric
    assert (
        m is not None
        and m.metric == "roc_auc"
        and m.labelled == 300
        and m.promoted == entry.evidence.metrics["roc_auc"]
    )
    assert 0.5 < m.live <= 1.0 and m.drifted is (m.promoted - m.live > m.tolerance)
    flipped = labels.assign(churned=1 - labels["churned"])  # the world changed: what it predicts is now wrong
    flipped.to_csv(tmp_path / "labels.csv", index=False)
    worse = run_monitor(labelled, MODEL, since).metric
    assert worse.live < 0.5 and worse.drifted is True


def test_a_cloud_environment_is_read_where_its_endpoint_configuration_has_sagemaker_write(tmp_path):
    """The S3 prefix `monitor` reads for prod is the planned endpoint's capture destination, then SageMaker's
    <endpoint-name>/<variant-name>/ below it."""
    from infra_helpers import copy_example, release

    from mlgitops.config import load
    from mlgitops.monitoring import default_location
    from mlgitops.plan import plan_configs

    config = load(copy_example(tmp_path / "churn"), "prod")
    (plan,) = plan_configs([(config, release("prod"))])
    (endpoint_config,) = plan.by_type("aws:sagemaker/endpointConfiguration:EndpointConfiguration")
    (endpoint,) = plan.by_type("aws:sagemaker/endpoint:Endpoint")
    (variant,) = endpoint_config.inputs["productionVariants"]
    destination = endpoint_config.inputs["dataCaptureConfig"]["destinationS3Uri"]
    assert default_location(config, MODEL) == f"{destination}/{endpoint.inputs['name']}/{variant['variantName']}/"


def test_the_datasets_suite_checks_the_captured_inputs_on_the_columns_they_carry(tmp_path):
    from infra_helpers import copy_example

    from mlgitops.config import load
    from mlgitops.monitoring.reference import schema_check

    config = load(copy_example(tmp_path / "churn"), "local")
    live = pd.read_csv(config.root / "data" / "holdout.csv")[FEATURES].head(50)
    results = schema_check(config, MODEL, live)
    checked = {(r.expectation, r.column) for r in results}
    assert checked == {
        ("expect_column_values_to_be_between", "tenure_months"),
        ("expect_column_values_to_be_between", "monthly_charges"),
    }
    assert all(
        r.success for r in results
    )  # not the target's, not the table's (row count, column set), not an absent column's
    live.loc[:4, "tenure_months"] = 150
    (failed,) = [r for r in schema_check(config, MODEL, live) if not r.success]
    assert (failed.column, failed.severity, failed.unexpected_count) == ("tenure_months", "critical", 5)


def test_ground_truth_outside_the_project_is_refused_at_its_line(tmp_path):
    from infra_helpers import copy_example

    from mlgitops.config import load

    root = copy_example(tmp_path / "churn")
    text = (root / "mlgitops.yaml").read_text()
    (root / "mlgitops.yaml").write_text(text + "monitoring: {psi: 0.25, ground_truth: ../labels.csv}\n")
    line = len(text.splitlines()) + 1
    with pytest.raises(
        BadInput,
        match=rf"mlgitops.yaml:{line}:\d+: monitoring.ground_truth: '../labels.csv' resolves to .*, outside the project",
    ):
        load(root, "local")
    (root / "mlgitops.yaml").write_text(text + "monitoring: {psi: 0.25, ground_truth: s3://labels/churn/}\n")
    assert load(root, "prod").monitoring.psi == 0.25
