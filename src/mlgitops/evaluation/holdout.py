"""A model's configured metrics on its holdout with scikit-learn alone: fast feedback in a project's own tests.

The same names and the same averaging as `mlflow.models.evaluate` (see `mlgitops.config.metrics`), so a
threshold that passes here passes at `mlgitops evaluate`; the template's `tests/test_model.py` reads the
model, its task, its metrics and their thresholds from `mlgitops.yaml` through this function.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from mlgitops.config.metrics import average_used, default_primary

if TYPE_CHECKING:
    from mlgitops.config import Project


def _classification(name: str, y: Any, pred: Any, proba: Any, classes: list[Any], average: str) -> float:
    from sklearn import metrics as m

    binary = average == "binary"
    kw = {"average": average, **({"pos_label": classes[-1]} if binary else {})}
    simple: dict[str, Callable[[], float]] = {
        "accuracy_score": lambda: m.accuracy_score(y, pred),
        "precision_score": lambda: m.precision_score(y, pred, zero_division=0, **kw),
        "recall_score": lambda: m.recall_score(y, pred, zero_division=0, **kw),
        "f1_score": lambda: m.f1_score(y, pred, zero_division=0, **kw),
        "example_count": lambda: float(len(y)),
    }
    if name in simple:
        return float(simple[name]())
    if proba is None:
        raise ValueError(f"metric '{name}' needs predict_proba, which this estimator does not have")
    if name == "log_loss":
        return float(m.log_loss(y, proba, labels=classes))
    if name == "roc_auc":
        return float(
            m.roc_auc_score(y == classes[-1], proba[:, -1])
            if binary
            else m.roc_auc_score(y, proba, multi_class="ovr", average=average, labels=classes)
        )
    if name == "precision_recall_auc" and binary:
        precision, recall, _ = m.precision_recall_curve(y == classes[-1], proba[:, -1])
        return float(m.auc(recall, precision))
    raise ValueError(f"metric '{name}' is not computed here; see `mlgitops evaluate`")


def _regression(name: str, y: Any, pred: Any) -> float:
    from sklearn import metrics as m

    funcs: dict[str, Callable[[], float]] = {
        "root_mean_squared_error": lambda: m.root_mean_squared_error(y, pred),
        "mean_squared_error": lambda: m.mean_squared_error(y, pred),
        "mean_absolute_error": lambda: m.mean_absolute_error(y, pred),
        "r2_score": lambda: m.r2_score(y, pred),
        "max_error": lambda: m.max_error(y, pred),
        "mean_absolute_percentage_error": lambda: m.mean_absolute_percentage_error(y, pred),
        "example_count": lambda: float(len(y)),
    }
    if name not in funcs:
        raise ValueError(f"metric '{name}' is not computed here; see `mlgitops evaluate`")
    return float(funcs[name]())


def holdout_metrics(config: Project, model: str, estimator: Any) -> dict[str, float]:
    """The primary metric and every thresholded one of `model`, scored on its holdout (its dataset when it has none)."""
    import numpy as np

    from mlgitops.data import load_frame

    spec = config.models[model]
    frame = load_frame(config, spec.holdout or spec.dataset)
    features, y = frame.drop(columns=[spec.target]), frame[spec.target].to_numpy()
    pred = np.asarray(estimator.predict(features))
    classes = np.unique(y).tolist() if spec.task == "classification" else []
    primary = spec.metrics.primary or default_primary(spec.task, len(classes))
    names = list(dict.fromkeys([primary, *spec.metrics.thresholds]))
    if spec.task == "regression":
        return {n: _regression(n, y, pred) for n in names}
    average = average_used(spec.task, len(classes), spec.metrics.average.value) or "weighted"
    proba = estimator.predict_proba(features) if hasattr(estimator, "predict_proba") else None
    if (
        proba is not None and list(getattr(estimator, "classes_", classes)) != classes
    ):  # columns in the sorted label order
        order = [list(estimator.classes_).index(c) for c in classes]
        proba = proba[:, order]
    return {n: _classification(n, y, pred, proba, classes, average) for n in names}
