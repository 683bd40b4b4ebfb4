"""A starter GX 1.x suite from a data sample (GX 1.x dropped its profiler): meant for a human to edit."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from mlgitops.data.readers import read_frame
from mlgitops.data.report import StarterSuite

MAX_CATEGORIES = 20
MARGIN = 0.1
# Row bounds as fractions of the sample: a holdout or a validation split sharing the training suite has a tenth
# to a third of the training rows, so the floor is a tenth (not half), and a full refresh may grow it tenfold.
ROWS_FLOOR, ROWS_CEILING = 0.1, 10


def suite_from_frame(frame: Any, name: str) -> dict[str, Any]:
    """Columns, types, not-null where observed, numeric ranges +-10%, small categorical sets, row bounds (0.1x-10x)."""
    import pandas as pd

    exps: list[dict[str, Any]] = [
        {
            "type": "expect_table_columns_to_match_set",
            "kwargs": {"column_set": [str(c) for c in frame.columns]},
            "severity": "critical",
        },
        {
            "type": "expect_table_row_count_to_be_between",
            "kwargs": {
                "min_value": max(1, int(len(frame) * ROWS_FLOOR)),
                "max_value": int(len(frame) * ROWS_CEILING) + 1,
            },
            "severity": "warning",
        },
    ]
    for col in frame.columns:
        s = frame[col]
        c = str(col)
        if s.notna().all():
            exps.append(
                {"type": "expect_column_values_to_not_be_null", "kwargs": {"column": c}, "severity": "critical"}
            )
        if pd.api.types.is_bool_dtype(s):
            continue
        if pd.api.types.is_numeric_dtype(s):
            lo, hi = float(s.min()), float(s.max())
            pad = (hi - lo) * MARGIN or abs(hi) * MARGIN or 1.0
            integral = pd.api.types.is_integer_dtype(s)
            lo_v, hi_v = lo - pad, hi + pad
            if lo >= 0:
                lo_v = max(0.0, lo_v)
            kw = {
                "column": c,
                "min_value": int(lo_v) if integral else round(lo_v, 6),
                "max_value": int(hi_v + 0.999) if integral else round(hi_v, 6),
            }
            exps.append({"type": "expect_column_values_to_be_between", "kwargs": kw, "severity": "critical"})
            if integral and s.nunique() <= MAX_CATEGORIES and s.nunique() < len(s) / 2:
                exps.append(
                    {
                        "type": "expect_column_values_to_be_in_set",
                        "kwargs": {"column": c, "value_set": sorted(int(v) for v in s.dropna().unique())},
                        "severity": "warning",
                    }
                )
        elif s.nunique() <= MAX_CATEGORIES:
            exps.append(
                {
                    "type": "expect_column_values_to_be_in_set",
                    "kwargs": {"column": c, "value_set": sorted(str(v) for v in s.dropna().unique())},
                    "severity": "critical",
                }
            )
    for e in exps:
        e.setdefault("meta", {})
    return {
        "name": name,
        "meta": {"generated_by": "mlgitops data init-suite", "rows_sampled": int(len(frame))},
        "notes": "Starter suite: review ranges, sets and severities before relying on it.",
        "expectations": exps,
    }


def init_suite(path: str | Path, out: Path, fmt: str | None = None) -> StarterSuite:
    """Read PATH (csv/parquet, local or s3://), write the starter suite JSON to OUT atomically."""
    from mlgitops.errors import BadInput
    from mlgitops.evidence import atomic_write

    loc = str(path)
    fmt = fmt or Path(loc).suffix.lower().lstrip(".")
    if fmt not in ("csv", "parquet"):
        raise BadInput(f"{loc}: cannot infer format from the suffix; use a .csv or .parquet file")
    frame = read_frame(loc, fmt)
    suite = suite_from_frame(frame, Path(out).stem)
    atomic_write(Path(out), json.dumps(suite, indent=2) + "\n")
    return StarterSuite(Path(out), suite)
