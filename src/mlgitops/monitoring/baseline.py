"""SageMaker Model Monitor's baseline of a model: `statistics.json` and `constraints.json` of its training data's
feature columns, in the formats Model Monitor's data-quality job reads (the AWS docs' "Schema for Statistics" and
"Schema for Constraints"). mlgitops computes them at promotion, from the bytes the model was trained on, instead of
a SageMaker baselining job: no job to run, and the baseline is pinned by the same digest as the model.

Numbers follow Deequ, which Model Monitor runs: a population standard deviation, and a KLL sketch whose single
compactor holds the sorted values (all of them up to `SKETCH_K`, else `SKETCH_K` evenly spaced quantiles).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

    from mlgitops.config import Project
    from mlgitops.evidence import DeployEntry

FILES = ("statistics.json", "constraints.json")
VERSION = 0.0
BUCKETS = 10  # the KLL distribution's equal-width buckets, as Model Monitor's own baselines show them
SKETCH_K, SKETCH_C = 2048, 0.64  # Deequ's KLL defaults
DOMAIN_LIMIT = 100  # a string column with more distinct values than this gets no domain constraint (free text, ids)
MONITORING_CONFIG = {
    "evaluate_constraints": "Enabled",
    "emit_metrics": "Enabled",
    "datatype_check_threshold": 1.0,
    "domain_content_threshold": 1.0,
    "distribution_constraints": {
        "perform_comparison": "Enabled",
        "comparison_threshold": 0.1,
        "comparison_method": "Robust",
    },
}


def inferred_type(column: pd.Series) -> str:
    """Model Monitor's type of a column: Integral, Fractional or String (booleans and everything else are String)."""
    import pandas as pd

    if pd.api.types.is_bool_dtype(column):
        return "String"
    if pd.api.types.is_integer_dtype(column):
        return "Integral"
    if pd.api.types.is_float_dtype(column):
        return "Fractional"
    return "String"


def _common(column: pd.Series) -> dict[str, int]:
    present = int(column.notna().sum())
    return {"num_present": present, "num_missing": int(len(column) - present)}


def _kll(values: pd.Series) -> dict[str, Any]:
    import numpy as np

    data = np.sort(values.to_numpy(dtype=float))
    if len(data) == 0:
        return {"buckets": [], "sketch": {"parameters": {"c": SKETCH_C, "k": SKETCH_K}, "data": [[]]}}
    low, high = float(data[0]), float(data[-1])
    edges = np.linspace(low, high, BUCKETS + 1) if high > low else np.array([low, high])
    counts, _ = np.histogram(data, bins=edges)
    kept = data if len(data) <= SKETCH_K else np.quantile(data, np.linspace(0, 1, SKETCH_K))
    return {
        "buckets": [
            {"lower_bound": float(a), "upper_bound": float(b), "count": float(c)}
            for a, b, c in zip(edges[:-1], edges[1:], counts, strict=True)
        ],
        "sketch": {"parameters": {"c": SKETCH_C, "k": SKETCH_K}, "data": [[float(v) for v in kept]]},
    }


def _feature_statistics(name: str, column: pd.Series) -> dict[str, Any]:
    kind = inferred_type(column)
    if kind == "String":
        text = column.dropna().astype(str)
        counts = text.value_counts()
        return {
            "name": name,
            "inferred_type": kind,
            "string_statistics": {
                "common": _common(column),
                "distinct_count": float(len(counts)),
                "distribution": {
                    "categorical": {"buckets": [{"value": str(v), "count": int(c)} for v, c in counts.items()]}
                },
            },
        }
    values = column.dropna().astype(float)
    empty = values.empty
    return {
        "name": name,
        "inferred_type": kind,
        "numerical_statistics": {
            "common": _common(column),
            "mean": 0.0 if empty else float(values.mean()),
            "sum": float(values.sum()),
            "std_dev": 0.0 if empty else float(values.std(ddof=0)),
            "min": 0.0 if empty else float(values.min()),
            "max": 0.0 if empty else float(values.max()),
            "distribution": {"kll": _kll(values)},
        },
    }


def statistics(features: pd.DataFrame) -> dict[str, Any]:
    """`statistics.json` of the feature columns (the target already dropped)."""
    return {
        "version": VERSION,
        "dataset": {"item_count": len(features)},
        "features": [_feature_statistics(str(c), features[c]) for c in features.columns],
    }


def constraints(features: pd.DataFrame) -> dict[str, Any]:
    """`constraints.json`: each feature's type and completeness as seen in training, numbers that never went negative
    stay so, a string column's values (when few) are its domain."""
    out = []
    for name in features.columns:
        column = features[name]
        kind = inferred_type(column)
        feature: dict[str, Any] = {
            "name": str(name),
            "inferred_type": kind,
            "completeness": float(column.notna().mean()) if len(column) else 1.0,
        }
        if kind == "String":
            values = sorted(column.dropna().astype(str).unique())
            if len(values) <= DOMAIN_LIMIT:
                feature["string_constraints"] = {"domains": values}
        else:
            feature["num_constraints"] = {"is_non_negative": bool((column.dropna() >= 0).all())}
        out.append(feature)
    return {"version": VERSION, "features": out, "monitoring_config": MONITORING_CONFIG}


def compute(config: Project, model: str, entry: DeployEntry) -> dict[str, dict[str, Any]]:
    """Both files for the model `entry` promotes, from the training data its deploy entry pins (BadInput when that data
    is unknown or changed: a baseline of other data would flag the wrong drift)."""
    from mlgitops.monitoring.reference import training_data

    frame, _ = training_data(config, model, entry)
    features = frame.drop(columns=[config.models[model].target], errors="ignore")
    return {"statistics.json": statistics(features), "constraints.json": constraints(features)}
