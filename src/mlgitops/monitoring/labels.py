"""Ground truth for live traffic (`monitoring.ground_truth`): a CSV, or an s3:// prefix of CSVs, with columns
`inference_id` and the model's target, joined to the captured rows by the inference id the requests carried."""

from __future__ import annotations

import io
from typing import TYPE_CHECKING, Any

from mlgitops.errors import BadInput

if TYPE_CHECKING:
    from mlgitops.config import Project

ID = "inference_id"


def load(config: Project, target: str) -> Any:
    """inference_id -> label, from every CSV at `monitoring.ground_truth`."""
    import pandas as pd

    from mlgitops.data.readers import read_bytes

    where = str(config.monitoring.ground_truth)
    if where.startswith("s3://") and where.endswith("/"):
        import boto3

        bucket, _, prefix = where[5:].partition("/")
        pages = boto3.client("s3").get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
        sources = [
            f"s3://{bucket}/{o['Key']}" for page in pages for o in page.get("Contents", []) if o["Key"].endswith(".csv")
        ]
    else:
        sources = [str(config.resolve(where))]
    frames = []
    for source in sources:
        frame = pd.read_csv(io.BytesIO(read_bytes(source)), dtype={ID: "str"})
        missing = [c for c in (ID, target) if c not in frame.columns]
        if missing:
            raise BadInput(
                f"{source}: ground truth needs columns {ID} and {target}; missing {', '.join(missing)} "
                f"(columns: {', '.join(map(str, frame.columns))})"
            )
        frames.append(frame[[ID, target]])
    if not frames:
        return pd.Series(dtype="object")
    labels = pd.concat(frames).drop_duplicates(ID, keep="last")
    return labels.set_index(ID)[target]


def score(metric: str, truth: Any, model: Any, features: Any, task: str) -> float | None:
    """The metric of `model` on labelled live rows, as evaluation names it; None for a metric not computed here."""
    import numpy as np
    from sklearn import metrics

    from mlgitops.evaluation.charts import predictions

    scored = predictions(model, features, task)
    pred, proba, y = scored["pred"], scored["proba"], np.asarray(truth)
    simple = {
        "accuracy_score": metrics.accuracy_score,
        "f1_score": metrics.f1_score,
        "precision_score": metrics.precision_score,
        "recall_score": metrics.recall_score,
        "r2_score": metrics.r2_score,
        "mean_absolute_error": metrics.mean_absolute_error,
    }
    if metric in simple:
        kwargs = (
            {"average": "weighted"}
            if metric in ("f1_score", "precision_score", "recall_score") and len(set(y)) > 2
            else {}
        )
        return float(simple[metric](y, pred, **kwargs))
    if metric == "root_mean_squared_error":
        return float(np.sqrt(metrics.mean_squared_error(y, pred)))
    if metric in ("roc_auc", "log_loss") and proba is not None and len(set(y)) > 1:
        if metric == "log_loss":
            return float(metrics.log_loss(y, proba, labels=getattr(model.get_raw_model(), "classes_", None)))
        return float(metrics.roc_auc_score(y, proba[:, 1] if proba.shape[1] == 2 else proba, multi_class="ovr"))
    return None
