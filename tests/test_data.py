"""The data gate on real GX 1.x runs: verdicts, failure families, severities, formats, S3, bad input."""

from __future__ import annotations

import hashlib
import json

import pandas as pd
import pytest
from typer.testing import CliRunner

from mlgitops.cli import app
from mlgitops.config import load
from mlgitops.errors import BadInput
from tests.data_helpers import make_project, suite

GOOD = pd.DataFrame(
    {
        "id": list(range(200)),
        "age": [20 + i % 50 for i in range(200)],
        "plan": ["a", "b", "c", "a"] * 50,
        "score": [i / 200 for i in range(200)],
    }
)

FAMILY = suite(
    ("expect_column_values_to_not_be_null", {"column": "plan"}, "critical"),
    ("expect_column_values_to_be_between", {"column": "age", "min_value": 18, "max_value": 80}, "critical"),
    ("expect_column_values_to_be_in_set", {"column": "plan", "value_set": ["a", "b", "c"]}, "critical"),
    ("expect_column_values_to_be_of_type", {"column": "age", "type_": "int64"}, "critical"),
    ("expect_column_values_to_be_unique", {"column": "id"}, "critical"),
    ("expect_table_row_count_to_be_between", {"min_value": 100, "max_value": 1000}, "critical"),
    ("expect_column_mean_to_be_between", {"column": "score", "min_value": 0.0, "max_value": 0.6}, "warning"),
)


def _broken(kind: str) -> pd.DataFrame:
    df = GOOD.copy()
    if kind == "nulls":
        df.loc[3, "plan"] = None
    elif kind == "ranges":
        df.loc[5, "age"] = 130
    elif kind == "sets":
        df.loc[7, "plan"] = "zzz"
    elif kind == "types":
        df["age"] = df["age"].astype(float)
    elif kind == "uniqueness":
        df.loc[9, "id"] = 0
    elif kind == "rows":
        df = df.head(50)
    elif kind == "warning":
        df["score"] = df["score"] + 0.5
    return df


FAMILIES = {
    "nulls": "expect_column_values_to_not_be_null",
    "ranges": "expect_column_values_to_be_between",
    "sets": "expect_column_values_to_be_in_set",
    "types": "expect_column_values_to_be_of_type",
    "uniqueness": "expect_column_values_to_be_unique",
    "rows": "expect_table_row_count_to_be_between",
}


@pytest.fixture(scope="module")
def family_run(tmp_path_factory):
    """One gate run over a good dataset, one broken per family, and one breaking only a warning."""
    root = tmp_path_factory.mktemp("fam") / "p"
    kinds = ["good", *FAMILIES, "warning"]
    fmts = {k: "parquet" if k in ("types", "good") else "csv" for k in kinds}
    make_project(
        root,
        {k: {"path": f"data/{k}.{fmts[k]}", "suite": "expectations/fam.json"} for k in kinds},
        {"fam.json": FAMILY},
    )
    for kind in kinds:
        path = root / "data" / f"{kind}.{fmts[kind]}"
        df = GOOD if kind == "good" else _broken(kind)
        df.to_parquet(path, index=False) if fmts[kind] == "parquet" else df.to_csv(path, index=False)
    config = load(root)
    from mlgitops.data import validate

    reports = {r.dataset: r for r in validate(config, kinds)}
    return config, reports


def test_good_dataset_passes_and_writes_evidence(family_run):
    config, reports = family_run
    rep = reports["good"]
    assert rep.success and rep.failures == [] and rep.rows == 200 and rep.engine == "pandas"
    doc = json.loads((config.root / ".mlgitops/evidence/local/data/good.json").read_text())
    assert doc["success"] is True and len(doc["results"]) == len(FAMILY["expectations"])
    assert doc["digest"] == hashlib.sha256((config.root / "data/good.parquet").read_bytes()).hexdigest()
    assert doc["columns"] == ["id", "age", "plan", "score"]


@pytest.mark.parametrize("kind", list(FAMILIES))
def test_each_family_fails_the_gate(family_run, kind):
    _, reports = family_run
    rep = reports[kind]
    assert not rep.success
    assert [f.expectation for f in rep.failures] == [FAMILIES[kind]]
    f = rep.failures[0]
    assert f.severity == "critical"
    if kind in ("nulls", "ranges", "sets", "uniqueness"):
        assert f.unexpected_count >= 1 and f.unexpected_percent > 0
    if kind == "ranges":
        assert f.partial_unexpected_list == [130] and f.column == "age"
    if kind == "sets":
        assert "zzz" in f.partial_unexpected_list
    if kind == "rows":
        assert f.observed_value == 50


def test_warning_failure_is_reported_but_passes(family_run):
    _, reports = family_run
    rep = reports["warning"]
    assert rep.success and rep.failures == []
    assert [w.expectation for w in rep.warnings] == ["expect_column_mean_to_be_between"]
    assert rep.to_dict()["warnings"][0]["severity"] == "warning"


def test_example_project_cli_pass_and_fail(tmp_path):
    root = make_project(tmp_path / "p", {})
    runner = CliRunner()
    ok = runner.invoke(app, ["--project", str(root), "data", "validate", "--json"])
    assert ok.exit_code == 0, ok.output
    doc = json.loads(ok.stdout)
    assert doc["success"] and {d["dataset"] for d in doc["datasets"]} == {"train", "holdout"}
    csv = root / "data/holdout.csv"
    lines = csv.read_text().splitlines()
    lines[1] = "68,52.94,0,weekly,0"
    csv.write_text("\n".join(lines) + "\n")
    bad = runner.invoke(app, ["--project", str(root), "data", "validate", "--dataset", "holdout"])
    assert bad.exit_code == 1
    assert "FAIL holdout" in bad.stdout and "weekly" in bad.stdout


def test_mean_of_decimal_and_float_columns_as_gx_computes_it(tmp_path):
    """The gate's fix for GX's per-element Decimal scan changes no result: a Parquet decimal column (object
    dtype in pandas) still goes through GX's conversion, and float columns give GX's own mean."""
    import decimal

    import great_expectations.util as gx_util

    scan = gx_util.does_ndarray_contain_decimal_dtype
    root = make_project(
        tmp_path / "p",
        {"money": {"path": "data/money.parquet", "suite": "expectations/money.json"}},
        {
            "money.json": suite(
                (
                    "expect_column_mean_to_be_between",
                    {"column": "price", "min_value": 2.0, "max_value": 2.0},
                    "critical",
                ),
                (
                    "expect_column_mean_to_be_between",
                    {"column": "ratio", "min_value": 0.25, "max_value": 0.25},
                    "critical",
                ),
                ("expect_column_sum_to_be_between", {"column": "price", "min_value": 6, "max_value": 6}, "critical"),
            )
        },
    )
    pd.DataFrame(
        {
            "price": [decimal.Decimal("1.50"), decimal.Decimal("2.00"), decimal.Decimal("2.50")],
            "ratio": [0.0, 0.25, 0.5],
        }
    ).to_parquet(root / "data/money.parquet")
    from mlgitops.data import validate

    [rep] = validate(load(root), ["money"])
    assert rep.success, rep.failures
    observed = {(r.expectation.split("_")[2], r.column): r.observed_value for r in rep.results}
    assert observed == {("mean", "price"): 2.0, ("mean", "ratio"): 0.25, ("sum", "price"): 6.0}
    assert all(isinstance(v, float) for v in observed.values())  # GX converted the Decimals (JSON-safe evidence)
    assert gx_util.does_ndarray_contain_decimal_dtype is scan  # GX is as it was after the gate


def test_digest_changes_with_one_byte(tmp_path):
    from mlgitops.data.readers import digest

    root = make_project(tmp_path / "p", {})
    from mlgitops.data import validate

    first = validate(load(root), ["holdout"])[0].digest
    raw = bytearray((root / "data/holdout.csv").read_bytes())
    raw[-3] = ord("1") if raw[-3] != ord("1") else ord("0")
    (root / "data/holdout.csv").write_bytes(bytes(raw))
    second = validate(load(root), ["holdout"])[0].digest
    assert first != second and second == digest(bytes(raw))


def test_load_frame_reads_same_data(tmp_path):
    from mlgitops.data import load_frame

    root = make_project(tmp_path / "p", {})
    df = load_frame(load(root), "train")
    assert len(df) == 800 and "churned" in df.columns


# --- bad input: exit 2, not a verdict ---------------------------------------------------------------


@pytest.fixture(scope="module")
def bad_project(tmp_path_factory):
    root = tmp_path_factory.mktemp("bad") / "p"
    datasets = {
        "missing": {"path": "data/nope.csv", "suite": "expectations/churn.json"},
        "garbled": {"path": "data/garbled.parquet", "suite": "expectations/churn.json"},
        "empty": {"path": "data/empty.csv", "suite": "expectations/churn.json"},
        "headeronly": {"path": "data/header.csv", "suite": "expectations/churn.json"},
        "nocol": {"path": "data/nocol.csv", "suite": "expectations/churn.json"},
        "old": {"path": "data/train.csv", "suite": "expectations/old.json"},
        "unknown": {"path": "data/train.csv", "suite": "expectations/unknown.json"},
    }
    old = {
        "expectation_suite_name": "x",
        "expectations": [{"expectation_type": "expect_column_to_exist", "kwargs": {"column": "a"}}],
    }
    unknown = suite(("expect_column_to_be_delightful", {"column": "churned"}, "critical"))
    make_project(root, datasets, {"old.json": old, "unknown.json": unknown})
    (root / "data/garbled.parquet").write_bytes(b"not a parquet file at all")
    (root / "data/empty.csv").write_text("")
    (root / "data/header.csv").write_text("tenure_months,monthly_charges,support_tickets,contract,churned\n")
    pd.read_csv(root / "data/train.csv").drop(columns=["contract"]).to_csv(root / "data/nocol.csv", index=False)
    return root


@pytest.mark.parametrize(
    "dataset,needle",
    [
        ("missing", "nope.csv: data file not found"),
        ("garbled", "cannot read as parquet"),
        ("empty", "dataset is empty"),
        ("headeronly", "dataset is empty"),
        ("nocol", "column(s) contract named by suite"),
        ("old", "GX 0.x suite format"),
        ("unknown", "unknown expectation type 'expect_column_to_be_delightful'"),
    ],
)
def test_bad_input_is_badinput(bad_project, dataset, needle):
    from mlgitops.data import validate

    with pytest.raises(BadInput) as exc:
        validate(load(bad_project), [dataset])
    assert needle in str(exc.value)
    assert not (bad_project / f".mlgitops/evidence/local/data/{dataset}.json").exists()


def test_bad_input_exit_code_2(bad_project):
    import subprocess
    import sys

    proc = subprocess.run(
        [sys.executable, "-m", "mlgitops", "--project", str(bad_project), "data", "validate", "--dataset", "nocol"],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr and "contract" in proc.stderr


# --- S3 through moto ----------------------------------------------------------------------------------


def test_s3_dataset_and_missing_object(tmp_path, monkeypatch):
    moto = pytest.importorskip("moto")
    import boto3

    for k, v in {"AWS_ACCESS_KEY_ID": "x", "AWS_SECRET_ACCESS_KEY": "x", "AWS_DEFAULT_REGION": "eu-west-1"}.items():
        monkeypatch.setenv(k, v)
    root = make_project(
        tmp_path / "p",
        {
            "s3train": {"path": "s3://churn-data/train.csv", "suite": "expectations/churn.json"},
            "s3gone": {"path": "s3://churn-data/gone.csv", "suite": "expectations/churn.json"},
        },
    )
    with moto.mock_aws():
        s3 = boto3.client("s3", region_name="eu-west-1")
        s3.create_bucket(Bucket="churn-data", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
        body = (root / "data/train.csv").read_bytes()
        s3.put_object(Bucket="churn-data", Key="train.csv", Body=body)
        from mlgitops.data import validate

        rep = validate(load(root), ["s3train"])[0]
        assert rep.success and rep.rows == 800 and rep.digest == hashlib.sha256(body).hexdigest()
        with pytest.raises(BadInput, match="s3://churn-data/gone.csv: cannot read S3 object"):
            validate(load(root), ["s3gone"])


# --- suite loading ------------------------------------------------------------------------------------


def test_suite_severity_field_meta_fallback_and_invalid(tmp_path):
    from mlgitops.data.suites import load_suite

    doc = suite(
        ("expect_column_to_exist", {"column": "a"}, "warning"), ("expect_column_to_exist", {"column": "b"}, "critical")
    )
    del doc["expectations"][1]["severity"]
    doc["expectations"][1]["meta"] = {"severity": "info"}
    (tmp_path / "s.json").write_text(json.dumps(doc))
    spec = load_suite(tmp_path / "s.json")
    assert [e["severity"] for e in spec.expectations] == ["warning", "info"]
    assert spec.columns() == {"a", "b"}
    doc["expectations"][0]["severity"] = "fatal"
    (tmp_path / "s.json").write_text(json.dumps(doc))
    with pytest.raises(BadInput, match=r"s.json: expectations\[0\].*severity 'fatal'"):
        load_suite(tmp_path / "s.json")
    (tmp_path / "s.json").write_text('{"name": "x",\n "expectations": [,]}')
    with pytest.raises(BadInput, match=r"s.json:2:\d+: invalid JSON"):
        load_suite(tmp_path / "s.json")
