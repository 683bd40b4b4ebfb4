"""Where the Spark engine runs, from mlgitops.yaml (no JVM started here): the dataset's `spark:` over the
top-level `spark:`, and spark-submit's own settings win; the suite's implied column types."""

from __future__ import annotations

import json

import pytest
import yaml
from data_helpers import make_project

from mlgitops.config import load
from mlgitops.data import columns, spark
from mlgitops.errors import BadInput


def _project(tmp_path, top: dict | None, own: dict | None):
    root = make_project(
        tmp_path / "p",
        {
            "big": {
                "path": "data/holdout.csv",
                "suite": "expectations/churn.json",
                "engine": "spark",
                **({"spark": own} if own else {}),
            }
        },
    )
    cfg = yaml.safe_load((root / "mlgitops.yaml").read_text())
    if top:
        cfg["spark"] = top
    (root / "mlgitops.yaml").write_text(yaml.safe_dump(cfg, sort_keys=False))
    return load(root)


def test_dataset_spark_section_overrides_the_top_level_key_by_key(tmp_path):
    config = _project(
        tmp_path,
        {"master": "spark://top:7077", "conf": {"spark.executor.memory": "4g", "spark.sql.shuffle.partitions": 8}},
        {"conf": {"spark.executor.memory": "16g", "spark.dynamicAllocation.enabled": True}},
    )
    master, conf = spark.settings(config, config.datasets["big"])
    assert master == "spark://top:7077"
    assert conf == {
        "spark.executor.memory": "16g",
        "spark.sql.shuffle.partitions": "8",
        "spark.dynamicAllocation.enabled": "true",
    }
    own = _project(tmp_path / "b", None, {"master": "yarn"})
    assert spark.settings(own, own.datasets["big"]) == ("yarn", {})


def test_spark_submit_args_win_over_the_config(monkeypatch):
    monkeypatch.setenv(
        "PYSPARK_SUBMIT_ARGS",
        "--master spark://submit:7077 --conf spark.executor.memory=2g --conf=spark.a=b pyspark-shell",
    )
    assert spark._submit_args() == (True, {"spark.executor.memory", "spark.a"})
    monkeypatch.setenv("PYSPARK_SUBMIT_ARGS", "pyspark-shell")
    assert spark._submit_args() == (False, set())


def test_unknown_spark_key_is_a_config_error_with_a_suggestion(tmp_path):
    with pytest.raises(BadInput, match="did you mean 'master'"):
        _project(tmp_path, {"mastr": "local[2]"}, None)


def test_schema_and_na_values_are_read_from_the_config(tmp_path):
    root = make_project(
        tmp_path / "p",
        {
            "t": {
                "path": "data/holdout.csv",
                "suite": "expectations/churn.json",
                "schema": {"tenure": "float"},
                "na_values": ["-"],
            }
        },
    )
    ds = load(root).datasets["t"]
    assert ds.column_types == {"tenure": "float"} and ds.na_values == ["-"]
    with pytest.raises(BadInput, match="schema"):
        make_project(tmp_path / "q", {"t": {"path": "data/holdout.csv", "schema": {"tenure": "decimal"}}})
        load(tmp_path / "q")


def test_types_the_suite_implies():
    exps = [
        {"type": "expect_column_values_to_be_between", "kwargs": {"column": "age", "min_value": 0, "max_value": 120}},
        {"type": "expect_column_values_to_be_in_set", "kwargs": {"column": "zip", "value_set": ["01234"]}},
        {"type": "expect_column_values_to_be_in_set", "kwargs": {"column": "n", "value_set": [1, 2]}},
        {"type": "expect_column_values_to_be_of_type", "kwargs": {"column": "n", "type_": "int64"}},
        {"type": "expect_column_values_to_be_of_type", "kwargs": {"column": "d", "type_": "DateType"}},
        {"type": "expect_column_values_to_be_in_set", "kwargs": {"column": "mixed", "value_set": ["a"]}},
        {"type": "expect_column_mean_to_be_between", "kwargs": {"column": "mixed", "min_value": 1}},
        {"type": "expect_column_values_to_be_between", "kwargs": {"column": "day", "min_value": "2020-01-01"}},
    ]
    assert columns.implied_types(exps) == {"age": "float", "zip": "string", "n": "integer", "d": "date"}
    # a numeric hint keeps a column the data shows as integral an integer; the schema has the last word
    assert columns.resolve(
        {"zip": "integer"},
        {"age": columns.ColumnType.FLOAT},
        {"age": columns.ColumnType.INTEGER, "zip": columns.ColumnType.STRING},
    ) == {"age": "integer", "zip": "integer"}
    assert json.dumps(columns.null_tokens(None)).count("NA") >= 1 and columns.null_tokens([]) == []


def test_schema_naming_an_absent_column_is_bad_input(tmp_path):
    from mlgitops.data import validate

    root = make_project(
        tmp_path / "p",
        {"t": {"path": "data/holdout.csv", "suite": "expectations/churn.json", "schema": {"tenur": "integer"}}},
    )
    with pytest.raises(BadInput, match=r"datasets\.t\.schema names column\(s\) tenur"):
        validate(load(root), ["t"])
