"""One reading of a CSV for both engines: the same null tokens and the same column types.

pandas and Spark disagree by default (Spark reads `NA` as a string, so a numeric column with `NA`
becomes a string column and the suite's ranges cannot be evaluated). The gate decides each column's
type once, in this order, and both engines read the file with it:
1. `datasets.<d>.schema` in mlgitops.yaml (the user's word);
2. what the suite implies (a numeric range means a number, a set of strings means a string);
3. inference with pandas' rules (integer, else float, else boolean, else string; all-null is float).
A declared or implied type the data does not parse as (e.g. `abc` in a numeric column) is not forced:
the column keeps its inferred type and GX judges it, the same way on both engines.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from enum import StrEnum
from typing import Any

from mlgitops.config.schema import NULL_TOKENS

INTEGER_RE = r"^\s*[+-]?\d+\s*$"
BOOLEANS = ("true", "false")

# Expectations whose bounds name a number when they are numbers.
_NUMERIC_BOUNDED = frozenset(
    {
        "expect_column_values_to_be_between",
        "expect_column_mean_to_be_between",
        "expect_column_median_to_be_between",
        "expect_column_sum_to_be_between",
        "expect_column_min_to_be_between",
        "expect_column_max_to_be_between",
        "expect_column_stdev_to_be_between",
        "expect_column_quantile_values_to_be_between",
    }
)


class ColumnType(StrEnum):
    """The types a CSV column is read as, on either engine."""

    STRING = "string"
    INTEGER = "integer"
    FLOAT = "float"
    BOOLEAN = "boolean"
    DATE = "date"
    TIMESTAMP = "timestamp"


# GX's `type_` spellings (pandas dtypes, Spark type names) -> our type.
_TYPE_NAMES = {
    "int": ColumnType.INTEGER,
    "int8": ColumnType.INTEGER,
    "int16": ColumnType.INTEGER,
    "int32": ColumnType.INTEGER,
    "int64": ColumnType.INTEGER,
    "integer": ColumnType.INTEGER,
    "integertype": ColumnType.INTEGER,
    "longtype": ColumnType.INTEGER,
    "bigint": ColumnType.INTEGER,
    "long": ColumnType.INTEGER,
    "float": ColumnType.FLOAT,
    "float32": ColumnType.FLOAT,
    "float64": ColumnType.FLOAT,
    "double": ColumnType.FLOAT,
    "doubletype": ColumnType.FLOAT,
    "floattype": ColumnType.FLOAT,
    "bool": ColumnType.BOOLEAN,
    "boolean": ColumnType.BOOLEAN,
    "booleantype": ColumnType.BOOLEAN,
    "str": ColumnType.STRING,
    "string": ColumnType.STRING,
    "stringtype": ColumnType.STRING,
    "object": ColumnType.STRING,
    "date": ColumnType.DATE,
    "datetype": ColumnType.DATE,
    "datetime64": ColumnType.TIMESTAMP,
    "datetime64[ns]": ColumnType.TIMESTAMP,
    "timestamp": ColumnType.TIMESTAMP,
    "timestamptype": ColumnType.TIMESTAMP,
}


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _implied(exp: dict[str, Any]) -> ColumnType | None:
    kind, kw = exp["type"], exp["kwargs"]
    if kind == "expect_column_values_to_be_of_type":
        return _TYPE_NAMES.get(str(kw.get("type_", "")).lower())
    if kind == "expect_column_values_to_be_in_type_list":
        found = {_TYPE_NAMES.get(str(t).lower()) for t in kw.get("type_list") or []}
        return found.pop() if len(found) == 1 else None
    if kind in _NUMERIC_BOUNDED:
        bounds = [kw[k] for k in ("min_value", "max_value") if kw.get(k) is not None]
        return ColumnType.FLOAT if bounds and all(_is_number(b) for b in bounds) else None
    if kind in (
        "expect_column_values_to_be_in_set",
        "expect_column_distinct_values_to_be_in_set",
        "expect_column_distinct_values_to_contain_set",
        "expect_column_distinct_values_to_equal_set",
    ):
        values = list(kw.get("value_set") or [])
        if values and all(isinstance(v, bool) for v in values):
            return ColumnType.BOOLEAN
        if values and all(_is_number(v) for v in values):
            return ColumnType.FLOAT
        if values and all(isinstance(v, str) for v in values):
            return ColumnType.STRING
    if kind in (
        "expect_column_value_lengths_to_be_between",
        "expect_column_value_lengths_to_equal",
        "expect_column_values_to_match_regex",
        "expect_column_values_to_not_match_regex",
        "expect_column_values_to_match_strftime_format",
        "expect_column_values_to_be_dateutil_parseable",
    ):
        return ColumnType.STRING
    return None


def implied_types(expectations: Iterable[dict[str, Any]]) -> dict[str, ColumnType]:
    """Column -> the type the suite's expectations imply; a column with conflicting hints gets none.

    A numeric hint is FLOAT here; `resolve` keeps a column the data shows as integral an INTEGER."""
    out: dict[str, ColumnType] = {}
    conflicted: set[str] = set()
    for exp in expectations:
        col = exp["kwargs"].get("column")
        kind = _implied(exp) if isinstance(col, str) else None
        if kind is None:
            continue
        if out.get(col, kind) != kind and {out[col], kind} != {ColumnType.FLOAT, ColumnType.INTEGER}:
            conflicted.add(col)
        out[col] = ColumnType.INTEGER if ColumnType.INTEGER in (out.get(col), kind) else kind
    return {c: t for c, t in out.items() if c not in conflicted}


def resolve(
    declared: Mapping[str, str], implied: dict[str, ColumnType], inferred: dict[str, ColumnType]
) -> dict[str, ColumnType]:
    """The type each column is read as: declared (schema) over implied (suite) over inferred (data)."""
    out = dict(inferred)
    for col, kind in implied.items():
        if col in out:
            numeric = kind == ColumnType.FLOAT and out[col] == ColumnType.INTEGER
            out[col] = out[col] if numeric else kind
    for col, name in declared.items():
        if col in out:
            out[col] = ColumnType(name)
    return out


def null_tokens(na_values: list[str] | None) -> list[str]:
    return list(NULL_TOKENS if na_values is None else na_values)


# --- pandas -------------------------------------------------------------------------------------


def pandas_inferred(frame: Any) -> dict[str, ColumnType]:
    """What pandas' own CSV inference made of each column, in our types."""
    import pandas as pd

    out: dict[str, ColumnType] = {}
    for col in frame.columns:
        s = frame[col]
        if pd.api.types.is_bool_dtype(s) or (
            s.dtype == object and s.dropna().map(type).eq(bool).all() and s.notna().any()
        ):
            out[str(col)] = ColumnType.BOOLEAN
        elif pd.api.types.is_integer_dtype(s):
            out[str(col)] = ColumnType.INTEGER
        elif pd.api.types.is_float_dtype(s):
            out[str(col)] = ColumnType.FLOAT
        else:
            out[str(col)] = ColumnType.STRING
    return out


def pandas_apply(frame: Any, types: dict[str, ColumnType]) -> dict[str, str]:
    """Convert columns whose resolved type differs from what pandas read; returns {column: unparsed sample}
    for each one the data does not parse as (left as read)."""
    import pandas as pd

    unparsed: dict[str, str] = {}
    read = pandas_inferred(frame)
    for col, kind in types.items():
        s = frame[col]
        if read.get(col) == kind or (kind == ColumnType.FLOAT and read.get(col) == ColumnType.INTEGER):
            continue
        present = s.notna()
        if kind in (ColumnType.INTEGER, ColumnType.FLOAT):
            conv = pd.to_numeric(s, errors="coerce")
            bad = present & conv.isna()
            if kind == ColumnType.INTEGER:
                bad |= present & conv.notna() & (conv % 1 != 0)
            if not bad.any():
                frame[col] = (
                    conv.astype("int64")
                    if kind == ColumnType.INTEGER and not conv.isna().any()
                    else conv.astype("float64")
                )
                continue
        elif kind in (ColumnType.DATE, ColumnType.TIMESTAMP):
            conv = pd.to_datetime(s, errors="coerce", format="ISO8601")
            bad = present & conv.isna()
            if not bad.any():
                frame[col] = conv.dt.normalize() if kind == ColumnType.DATE else conv
                continue
        elif kind == ColumnType.BOOLEAN:
            low = s.astype("string").str.strip().str.lower()
            bad = present & ~low.isin(BOOLEANS)
            if not bad.any():
                frame[col] = low.map({"true": True, "false": False}).astype(object).where(present, None)
                continue
        else:  # STRING: read as text up front (see `string_columns`), nothing to convert here
            continue
        unparsed[col] = str(s[bad].iloc[0])
    return unparsed


def string_columns(declared: Mapping[str, str], implied: dict[str, ColumnType]) -> list[str]:
    """Columns pandas must read as text from the start (a leading zero or `1.0` survives only then)."""
    cols = {c for c, t in implied.items() if t == ColumnType.STRING}
    cols |= {c for c, t in declared.items() if t == ColumnType.STRING}
    cols -= {c for c, t in declared.items() if t != ColumnType.STRING}
    return sorted(cols)


# --- Spark --------------------------------------------------------------------------------------

_SPARK_TYPES = {
    ColumnType.INTEGER: "bigint",
    ColumnType.FLOAT: "double",
    ColumnType.BOOLEAN: "boolean",
    ColumnType.DATE: "date",
    ColumnType.TIMESTAMP: "timestamp",
    ColumnType.STRING: "string",
}


def _q(col: str) -> str:
    return "`" + col.replace("`", "``") + "`"


def spark_nulls(frame: Any, tokens: list[str]) -> Any:
    """Every null token becomes null (Spark itself knows only one `nullValue`)."""
    from pyspark.sql import functions as F

    if not tokens:
        return frame
    return frame.select(
        *[F.when(F.col(_q(c)).isin(tokens), F.lit(None)).otherwise(F.col(_q(c))).alias(c) for c in frame.columns]
    )


def _parses(col: str, kind: ColumnType) -> Any:
    """A Spark column that is true where a non-null string parses as `kind` (false elsewhere)."""
    from pyspark.sql import functions as F

    c = F.col(_q(col))
    if kind == ColumnType.INTEGER:
        return c.rlike(INTEGER_RE)
    if kind == ColumnType.BOOLEAN:
        return F.lower(F.trim(c)).isin(*BOOLEANS)
    return F.expr(f"try_cast({_q(col)} as {_SPARK_TYPES[kind]})").isNotNull()


def spark_types(
    frame: Any, declared: Mapping[str, str], implied: dict[str, ColumnType]
) -> tuple[Any, dict[str, str], int]:
    """The all-string frame cast to the resolved types (one pass to infer and check them, which also counts
    the rows); returns (frame, {column: unparsed sample} for declared/implied types the data does not
    parse as, rows)."""
    from pyspark.sql import functions as F

    cols = list(frame.columns)
    checks = (ColumnType.INTEGER, ColumnType.FLOAT, ColumnType.BOOLEAN)
    aggs = [F.count(F.lit(1)).alias("rows"), *[F.count(F.col(_q(c))).alias(f"{i}:n") for i, c in enumerate(cols)]]
    for i, c in enumerate(cols):
        aggs += [F.count(F.when(_parses(c, k), 1)).alias(f"{i}:{k}") for k in checks]
        wanted = declared.get(c) or implied.get(c)
        if wanted in (ColumnType.DATE, ColumnType.TIMESTAMP):
            aggs.append(F.count(F.when(_parses(c, ColumnType(wanted)), 1)).alias(f"{i}:{wanted}"))
    row = frame.agg(*aggs).first().asDict()
    inferred: dict[str, ColumnType] = {}
    for i, c in enumerate(cols):
        n = row[f"{i}:n"]
        inferred[c] = next(
            (k for k in (ColumnType.INTEGER, ColumnType.FLOAT, ColumnType.BOOLEAN) if n and row[f"{i}:{k}"] == n),
            ColumnType.FLOAT if n == 0 else ColumnType.STRING,
        )
    types = resolve(declared, implied, inferred)
    unparsed: dict[str, str] = {}
    for i, c in enumerate(cols):
        kind = types[c]
        if kind != inferred[c] and kind != ColumnType.STRING:
            if row.get(f"{i}:{kind}") != row[f"{i}:n"]:
                sample = frame.where(F.col(_q(c)).isNotNull() & ~_parses(c, kind)).select(_q(c)).first()
                unparsed[c] = str(sample[0]) if sample else ""
                types[c] = inferred[c]
    out = []
    for c in cols:
        kind = types[c]
        if kind == ColumnType.STRING:
            out.append(F.col(_q(c)))
        elif kind == ColumnType.BOOLEAN:
            out.append(F.lower(F.trim(F.col(_q(c)))).cast("boolean").alias(c))
        else:
            out.append(F.expr(f"try_cast({_q(c)} as {_SPARK_TYPES[kind]})").alias(c))
    return frame.select(*out), unparsed, int(row["rows"])
