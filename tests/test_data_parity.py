"""Engine parity of the data gate: the same files and suites give the same verdict and the same failed
expectations on pandas and on Spark; an expectation GX cannot evaluate is exit 2 on both; Spark is quiet.

One Spark session serves the whole module (the gate's getOrCreate reuses it); the quiet check runs
`mlgitops data validate` in a child process, as CI does.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from mlgitops.cli import app
from mlgitops.config import load

pytestmark = [
    pytest.mark.skipif(shutil.which("java") is None, reason="java not on PATH (Spark needs a JVM)"),
    pytest.mark.slow,  # each module run starts a Spark session (a JVM gateway server): CI runs it, the quick loop does not
]
pytest.importorskip("pyspark")

# Each case: a good CSV (or a frame for Parquet), the suite, and a corruption that must fail the same
# expectations on both engines.
PENGUINS = """species,island,bill_length_mm,flipper_length_mm,sex,year
Adelie,Torgersen,39.1,181,male,2007
Adelie,Torgersen,NA,NA,NA,2007
Gentoo,Biscoe,46.1,211,female,2008
Chinstrap,Dream,46.5,192,female,2009
Gentoo,Biscoe,50.0,230,male,2009
"""
EMPTY = PENGUINS.replace("NA", "")
INTS = "id,visits,plan\n1,3,a\n2,,b\n3,7,a\n4,,c\n5,10,b\n"
DATES = "id,day,stamp\n1,2020-01-05,2020-01-05T10:00:00\n2,2020-03-31,2020-03-31T23:59:00\n3,,\n4,2020-12-01,2020-12-01T00:00:01\n"
CATEGORIES = "zip,plan,active\n01234,gold,true\n02134,silver,false\n01234,bronze,true\n,gold,false\n"


def _suite(*exps: tuple[str, dict]) -> dict:
    return {
        "name": "s",
        "meta": {},
        "expectations": [{"type": t, "kwargs": kw, "meta": {}, "severity": "critical"} for t, kw in exps],
    }


SUITES = {
    "ints": _suite(
        ("expect_column_values_to_not_be_null", {"column": "id"}),
        ("expect_column_values_to_be_between", {"column": "visits", "min_value": 0, "max_value": 20}),
        ("expect_column_values_to_be_in_set", {"column": "visits", "value_set": [3, 7, 10]}),
        ("expect_column_sum_to_be_between", {"column": "visits", "min_value": 1, "max_value": 40}),
        ("expect_column_values_to_be_in_set", {"column": "plan", "value_set": ["a", "b", "c"]}),
    ),
    "dates": _suite(
        ("expect_column_values_to_match_regex", {"column": "day", "regex": r"^\d{4}-\d{2}-\d{2}$"}),
        ("expect_column_value_lengths_to_equal", {"column": "stamp", "value": 19}),
        ("expect_column_values_to_not_be_null", {"column": "id"}),
    ),
    "categories": _suite(
        ("expect_column_values_to_be_in_set", {"column": "zip", "value_set": ["01234", "02134"]}),
        ("expect_column_values_to_be_in_set", {"column": "plan", "value_set": ["gold", "silver", "bronze"]}),
        ("expect_column_values_to_be_in_set", {"column": "active", "value_set": [True, False]}),
        ("expect_column_values_to_not_be_null", {"column": "plan"}),
    ),
    "parquet": _suite(
        ("expect_column_values_to_be_between", {"column": "score", "min_value": 0.0, "max_value": 1.0}),
        ("expect_column_values_to_be_in_set", {"column": "plan", "value_set": ["a", "b"]}),
        ("expect_column_mean_to_be_between", {"column": "n", "min_value": 1, "max_value": 5}),
        ("expect_column_values_to_not_be_null", {"column": "n"}),
    ),
}
# (case, file, suite, corrupt(text) -> text); the NA and empty cases use the suite init-suite writes.
CSV_CASES = {
    "na": (
        "penguins_na.csv",
        PENGUINS,
        "penguins.json",
        lambda t: t.replace("46.5", "146.5").replace("Dream", "Atlantis"),
    ),
    "empty": (
        "penguins_empty.csv",
        EMPTY,
        "penguins.json",
        lambda t: t.replace("46.5", "146.5").replace("Dream", "Atlantis"),
    ),
    "ints": ("ints.csv", INTS, "ints.json", lambda t: t.replace("2,,b", "2,99,b")),
    "dates": (
        "dates.csv",
        DATES,
        "dates.json",
        lambda t: t.replace("2020-03-31,", "2020-3-31,").replace("T00:00:01", " 00:00:01.5"),
    ),
    "categories": (
        "categories.csv",
        CATEGORIES,
        "categories.json",
        lambda t: t.replace("02134", "2134").replace("bronze", "tin"),
    ),
}
PARQUET = pd.DataFrame({"n": [1, 2, 3, 4], "score": [0.1, None, 0.9, 0.5], "plan": ["a", "b", None, "a"]})


@pytest.fixture(scope="module")
def parity(tmp_path_factory):
    """A project whose every case is declared twice (pandas, spark) in a good and a corrupted copy."""
    root = tmp_path_factory.mktemp("parity")
    (root / "data").mkdir()
    (root / "expectations").mkdir()
    datasets = {}
    for case, (fname, text, suite, corrupt) in CSV_CASES.items():
        for variant, body in (("good", text), ("bad", corrupt(text))):
            (root / "data" / f"{variant}_{fname}").write_text(body)
            for engine in ("pandas", "spark"):
                datasets[f"{case}-{variant}-{engine}"] = {
                    "path": f"data/{variant}_{fname}",
                    "suite": f"expectations/{suite}",
                    "engine": engine,
                }
    PARQUET.to_parquet(root / "data/good.parquet", index=False)
    PARQUET.assign(plan=["a", "b", None, "zz"], score=[0.1, None, 1.9, 0.5]).to_parquet(
        root / "data/bad.parquet", index=False
    )
    for variant in ("good", "bad"):
        for engine in ("pandas", "spark"):
            datasets[f"parquet-{variant}-{engine}"] = {
                "path": f"data/{variant}.parquet",
                "suite": "expectations/parquet.json",
                "engine": engine,
            }
    for name, doc in SUITES.items():
        (root / "expectations" / f"{name}.json").write_text(json.dumps(doc))
    (root / "mlgitops.yaml").write_text(
        yaml.safe_dump(
            {
                "project": "parity",
                "owner": "a@example.com",
                "datasets": datasets,
                # few shuffle partitions: a test-sized dataset; also shows the top-level spark: conf reaches the session
                "spark": {"conf": {"spark.sql.shuffle.partitions": 2}},
            },
            sort_keys=False,
        )
    )
    runner = CliRunner()
    made = runner.invoke(
        app,
        [
            "data",
            "init-suite",
            str(root / "data/good_penguins_na.csv"),
            "--out",
            str(root / "expectations/penguins.json"),
        ],
    )
    assert made.exit_code == 0, made.output
    from mlgitops.data import validate

    config = load(root)
    return root, {r.dataset: r for r in validate(config)}


def _failed(report) -> list[tuple[str, str | None]]:
    return [(r.expectation, r.column) for r in report.results if not r.success]


@pytest.mark.parametrize("case", [*CSV_CASES, "parquet"])
def test_good_data_passes_on_both_engines(parity, case):
    _, reports = parity
    pandas_, spark = reports[f"{case}-good-pandas"], reports[f"{case}-good-spark"]
    assert pandas_.success and spark.success, (_failed(pandas_), _failed(spark))
    assert [r.success for r in pandas_.results] == [r.success for r in spark.results]
    assert pandas_.rows == spark.rows and pandas_.digest == spark.digest


@pytest.mark.parametrize("case", [*CSV_CASES, "parquet"])
def test_corrupted_copy_fails_the_same_expectations_on_both_engines(parity, case):
    _, reports = parity
    pandas_, spark = reports[f"{case}-bad-pandas"], reports[f"{case}-bad-spark"]
    assert not pandas_.success and not spark.success
    assert _failed(pandas_) == _failed(spark) and _failed(pandas_)
    by_expectation = {(r.expectation, r.column): r.unexpected_count for r in pandas_.results if not r.success}
    assert by_expectation == {(r.expectation, r.column): r.unexpected_count for r in spark.results if not r.success}


def test_na_example_as_a_new_user_meets_it(parity):
    """A CSV whose missing values are `NA`, with the suite init-suite wrote from it: numeric columns stay numeric on Spark."""
    root, reports = parity
    suite = json.loads((root / "expectations/penguins.json").read_text())
    assert {"expect_column_values_to_be_between"} <= {e["type"] for e in suite["expectations"]}
    assert reports["na-good-spark"].success and reports["na-good-pandas"].success
    assert set(_failed(reports["na-bad-spark"])) == {
        ("expect_column_values_to_be_between", "bill_length_mm"),
        ("expect_column_values_to_be_in_set", "island"),
    }


def test_spark_session_takes_conf_from_the_config_and_serves_no_ui(parity):
    from pyspark.sql import SparkSession

    spark = SparkSession.getActiveSession()
    assert spark.conf.get("spark.sql.shuffle.partitions") == "2"
    assert spark.sparkContext.getConf().get("spark.ui.enabled") == "false"
    assert spark.sparkContext.getConf().get("spark.driver.host") == "127.0.0.1"


@pytest.mark.parametrize("engine", ["pandas", "spark"])
def test_expectation_gx_cannot_evaluate_is_exit_2_with_its_message(parity, engine):
    """A numeric range on a text column: GX raises; the gate names expectation, column and message, writes nothing."""
    root, _ = parity
    (root / "expectations/unfit.json").write_text(
        json.dumps(
            _suite(
                ("expect_column_values_to_not_be_null", {"column": "plan"}),
                ("expect_column_values_to_be_between", {"column": "plan", "min_value": 0, "max_value": 10}),
            )
        )
    )
    cfg = yaml.safe_load((root / "mlgitops.yaml").read_text())
    cfg["datasets"][f"unfit-{engine}"] = {
        "path": "data/good_categories.csv",
        "suite": "expectations/unfit.json",
        "engine": engine,
    }
    (root / "mlgitops.yaml").write_text(yaml.safe_dump(cfg, sort_keys=False))
    from mlgitops.data import validate
    from mlgitops.errors import BadInput

    before = sorted(root.glob(".mlgitops/evidence/*/data/unfit-*.json"))
    with pytest.raises(BadInput) as raised:
        validate(load(root), [f"unfit-{engine}"])
    assert raised.value.exit_code == 2  # the CLI's exit code for BadInput
    assert sorted(root.glob(".mlgitops/evidence/*/data/unfit-*.json")) == before == []
    msg = str(raised.value)
    assert "expect_column_values_to_be_between [plan]" in msg and "could not be evaluated" in msg
    assert "'gold'" in msg  # the value that is not a number
    line = next(ln for ln in msg.splitlines() if "[plan]" in ln)
    assert len(line.split(":", 1)[1].strip()) > 10  # GX's own exception message follows the name
    assert "unexpected None" not in msg  # never rendered as a failure with None counts


def test_spark_validate_prints_no_spark_log_lines(parity):
    """`data validate` and `--json` with engine: spark in a fresh process: stdout is the verdict, stderr is empty."""
    root, _ = parity
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1] / "src")}
    env.pop("SPARK_SUBMIT_OPTS", None)
    cmd = [
        sys.executable,
        "-m",
        "mlgitops",
        "--project",
        str(root),
        "data",
        "validate",
        "--dataset",
        "na-good-spark",
        "--json",
    ]
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=600)
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    assert json.loads(done.stdout)["success"] is True


def test_declared_schema_is_read_alike_by_both_engines(parity):
    """`datasets.<d>.schema` wins over inference on both engines: a zip code keeps its zero, a date is a date."""
    from pyspark.sql import SparkSession

    from mlgitops.data import columns
    from mlgitops.data import spark as engine
    from mlgitops.data.columns import null_tokens
    from mlgitops.data.readers import read_frame

    root, _ = parity
    (root / "data/typed.csv").write_text("zip,day,n\n01234,2020-01-05,1\n,2020-03-31,NA\n02134,,3\n")
    declared = {"zip": "string", "day": "date", "n": "integer"}
    frame, unparsed, rows = engine.read(
        SparkSession.getActiveSession(), str(root / "data/typed.csv"), "csv", null_tokens(None), declared, {}
    )
    assert unparsed == {} and rows == 3
    assert dict(frame.dtypes) == {"zip": "string", "day": "date", "n": "bigint"}
    got = [tuple(r) for r in frame.collect()]
    pdf = read_frame(root / "data/typed.csv", "csv", None, columns.string_columns(declared, {}))
    assert columns.pandas_apply(pdf, columns.resolve(declared, {}, columns.pandas_inferred(pdf))) == {}
    assert [z if isinstance(z, str) else None for z in pdf["zip"]] == [r[0] for r in got] == ["01234", None, "02134"]
    assert [d.date() if not pd.isna(d) else None for d in pdf["day"]] == [r[1] for r in got]
    assert [None if pd.isna(v) else int(v) for v in pdf["n"]] == [r[2] for r in got] == [1, None, 3]
